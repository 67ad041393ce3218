// One party's side of a 1:1 call: camera and microphone published to the appliance's media server, the other
// party's media received, chat, and recovery (ICE restart when the network hiccups, re-join when the socket
// drops or the media server restarts). Plain TypeScript with no framework, so pages of any kind can use it.
// Its parts: the public shapes (call-types.ts), one peer connection's bookkeeping (peer-connection.ts) and the
// getStats readings (call-stats.ts).
import {
  PUBLISHER_PC,
  type Candidate,
  type CallMode,
  type CallModeReason,
  type IceServer,
  type Party,
  type PeerState,
  type QualitySummary,
  type ServerMessage,
} from '../../../../appliance/src/media/protocol.js';
import { collectCallStats, QualitySampler } from './call-stats.js';
import type { MediaMode } from '../../../../appliance/src/domain/vocabulary.js';
import type { CallClientOptions, CallEvents, CallState, CallStats, ChatMessage, MediaState } from './call-types.js';
import { Emitter } from './emitter.js';
import { addRemoteCandidate, closePcRef, markDescribed, newPcRef, newPeerConnection, type PcRef, type PublisherRef, type SubscriberRef } from './peer-connection.js';
import { DEFAULT_CONSTRAINTS, openLocalMedia } from './local-media.js';
import { CallError, SignalingSocket } from './signaling-socket.js';

export { CallError } from './signaling-socket.js';
export type { CallClientOptions, CallEvents, CallState, CallStats, ChatMessage, MediaState } from './call-types.js';

export class CallClient extends Emitter<CallEvents> {
  readonly #opts: CallClientOptions;
  readonly #socket: SignalingSocket;
  #state: CallState = 'idle';
  #party: Party | null = null;
  #peerState: PeerState = 'absent';
  #iceServers: IceServer[] = [];
  #joined = false;
  #local: MediaStream | null = null;
  #camera: MediaStreamTrack | null = null;
  #screen: MediaStreamTrack | null = null;
  #micOn = true;
  #cameraOn = true;
  #audioOnly = false;
  #audioOnlyReason: 'requested' | 'no-camera' | 'slow-network' | null = null;
  /** what the appliance says the call carries: no video is sent unless it is `video` */
  #callMode: CallMode = 'video';
  #pub: PublisherRef | null = null;
  #sub: SubscriberRef | null = null;
  #publishing: Promise<void> | null = null;
  /** candidates that arrived before their peer connection could take them */
  #remoteQueue = new Map<string, (Candidate | null)[]>();
  #slowlinks: number[] = [];
  /** join stages reached (true) or failed (false), not yet reported */
  #stages: QualitySummary['stages'] = { page_loaded: true };
  #qualityTimer: ReturnType<typeof setInterval> | null = null;
  readonly #quality = new QualitySampler();

  constructor(opts: CallClientOptions) {
    super();
    this.#opts = opts;
    this.#socket = new SignalingSocket(opts.url, {
      ...(opts.reconnectDelaysMs ? { reconnectDelaysMs: opts.reconnectDelaysMs } : {}),
      ...(opts.heartbeatMs ? { heartbeatMs: opts.heartbeatMs } : {}),
    });
    this.#socket.on('open', () => void this.#join());
    this.#socket.on('message', (m) => this.#onMessage(m));
    this.#socket.on('down', ({ final, reason }) => this.#onDown(final, reason));
  }

  get state(): CallState {
    return this.#state;
  }
  /** which side we are, once joined */
  get party(): Party | null {
    return this.#party;
  }
  get peerState(): PeerState {
    return this.#peerState;
  }
  get localStream(): MediaStream | null {
    return this.#local;
  }
  get remoteStream(): MediaStream | null {
    return this.#sub?.stream ?? null;
  }
  get media(): MediaState {
    return { audio: this.#micOn && this.#hasAudio(), video: this.#cameraOn && !this.#audioOnly && this.#callMode === 'video' && this.#camera !== null, screen: this.#screen !== null };
  }
  /** how this party takes part (the option; video by default) */
  get mediaMode(): MediaMode {
    return this.#opts.mediaMode ?? 'video';
  }
  get audioOnly(): boolean {
    return this.#audioOnly;
  }

  /** Opens camera/microphone (unless given), connects and joins; resolves once joined. */
  async start(): Promise<void> {
    if (this.#state !== 'idle') throw new CallError('wrong-state', 'the call was already started');
    this.#setState('connecting');
    await this.#acquireMedia();
    const joined = new Promise<void>((resolve, reject) => {
      const offState = this.on('state', (s) => {
        if (s === 'joined' || s === 'live' || s === 'media-lost') done(null);
        else if (s === 'ended') done(new CallError('ended', 'the call could not be joined'));
      });
      const offError = this.on('error', (e) => {
        if (e.code === 'KYC_ERR_SIGNAL_REFUSED' || e.code === 'KYC_ERR_SIGNAL_LIMIT') done(e);
      });
      const done = (err: CallError | null) => {
        offState();
        offError();
        if (err) reject(err);
        else resolve();
      };
    });
    this.#socket.connect();
    await joined;
  }

  /** Leaves the call for good. */
  async leave(): Promise<void> {
    if (this.#state === 'ended') return;
    try {
      await this.#socket.request({ type: 'leave' }, [], 2000);
    } catch {
      // The appliance closes the socket after a leave; no reply is expected.
    }
    this.#socket.close(1000, 'left');
    this.#end('left');
  }

  /** Resolves once the appliance relayed the message (to both parties). */
  async sendChat(text: string): Promise<ChatMessage> {
    const reply = await this.#socket.request({ type: 'chat', text }, ['chat']);
    return { seq: reply.seq, from: reply.from, text: reply.text, at: reply.at, mine: true };
  }

  setMicEnabled(on: boolean): void {
    this.#micOn = on;
    for (const t of this.#local?.getAudioTracks() ?? []) t.enabled = on;
    this.#sendMediaState();
  }

  setCameraEnabled(on: boolean): void {
    this.#cameraOn = on;
    if (this.#camera) this.#camera.enabled = on;
    this.#sendMediaState();
  }

  /** Switches to another camera (the next one when no id is given). */
  async switchCamera(deviceId?: string): Promise<void> {
    const cams = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'videoinput');
    const current = this.#camera?.getSettings().deviceId;
    const target = deviceId ?? cams[(cams.findIndex((c) => c.deviceId === current) + 1) % Math.max(cams.length, 1)]?.deviceId;
    if (!target || target === current) return;
    const base = this.#opts.constraints?.video ?? DEFAULT_CONSTRAINTS.video;
    const video: MediaTrackConstraints = { ...(typeof base === 'object' ? base : {}), deviceId: { exact: target } };
    const track = (await navigator.mediaDevices.getUserMedia({ video })).getVideoTracks()[0];
    if (!track) return;
    track.enabled = this.#cameraOn;
    const old = this.#camera;
    this.#camera = track;
    if (this.#local) {
      if (old) this.#local.removeTrack(old);
      this.#local.addTrack(track);
    }
    await this.#pub?.videoSender.replaceTrack(this.#outgoingVideo());
    old?.stop();
    if (this.#local) this.emit('local-stream', this.#local);
    this.#sendMediaState();
  }

  /** Sends the screen instead of the camera until stopScreenShare() (or the browser's own "stop sharing"). */
  async startScreenShare(): Promise<void> {
    if (this.#screen) return;
    const track = (await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false })).getVideoTracks()[0];
    if (!track) return;
    track.addEventListener('ended', () => void this.stopScreenShare());
    this.#screen = track;
    await this.#pub?.videoSender.replaceTrack(track);
    this.#sendMediaState();
  }

  async stopScreenShare(): Promise<void> {
    const track = this.#screen;
    if (!track) return;
    this.#screen = null;
    track.stop();
    await this.#pub?.videoSender.replaceTrack(this.#outgoingVideo());
    this.#sendMediaState();
  }

  /** Stops (or resumes) sending video; audio and chat continue. */
  setAudioOnly(on: boolean): void {
    this.#setAudioOnly(on, 'requested');
  }

  async getStats(): Promise<CallStats> {
    return collectCallStats(this.#pcs());
  }

  #pcs(): { pub: RTCPeerConnection | undefined; sub: RTCPeerConnection | undefined } {
    return { pub: this.#pub?.pc, sub: this.#sub?.pc };
  }

  // ---- joining and publishing ------------------------------------------------------------------------

  async #acquireMedia(): Promise<void> {
    const mode = this.mediaMode;
    if (this.#opts.localStream) this.#local = this.#opts.localStream;
    else {
      const opened = await openLocalMedia(mode, this.#opts.constraints);
      this.#local = opened.stream;
      if (opened.nothing) this.emit('error', new CallError('no-media', 'no camera or microphone could be opened'));
    }
    if (mode === 'chat') {
      this.#camera = null;
      this.emit('local-stream', this.#local);
      return;
    }
    this.#stage('media_allowed', this.#local.getTracks().length > 0);
    this.#camera = mode === 'video' ? (this.#local.getVideoTracks()[0] ?? null) : null;
    if (!this.#camera) {
      this.#audioOnly = true;
      // voice only was chosen: nothing fell back
      if (mode === 'video') this.emit('fallback', { audioOnly: true, reason: 'no-camera' });
      else this.#audioOnlyReason = 'requested';
    }
    this.emit('local-stream', this.#local);
  }

  async #join(): Promise<void> {
    try {
      const joined = await this.#socket.request({ type: 'join' }, ['joined']);
      this.#party = joined.party;
      this.#iceServers = joined.iceServers;
      this.#joined = true;
      this.#startQualityReports();
      this.#peerState = joined.peer.state;
      this.emit('peer', joined.peer);
      this.#setState(joined.janus === 'up' ? 'joined' : 'media-lost');
      this.#sendMediaState();
      // text only publishes nothing: joined is as live as this party gets
      if (this.mediaMode === 'chat') this.#setState('live');
      else if (joined.janus === 'up') await this.#publish();
    } catch (err) {
      this.#report(err);
    }
  }

  #publish(): Promise<void> {
    this.#publishing ??= this.#doPublish()
      .catch((err) => this.#report(err))
      .finally(() => {
        this.#publishing = null;
      });
    return this.#publishing;
  }

  async #doPublish(): Promise<void> {
    this.#closePublisher();
    if (!this.#local || (!this.#hasAudio() && !this.#camera && !this.#screen)) return;
    const pc = newPeerConnection(this.#iceServers);
    const streams = [this.#local];
    const audio = pc.addTransceiver(this.#local.getAudioTracks()[0] ?? 'audio', { direction: 'sendonly', streams });
    // Always a video section, so that a camera or screen can be added later by replaceTrack alone.
    const video = pc.addTransceiver(this.#outgoingVideo() ?? 'video', { direction: 'sendonly', streams });
    const pub: PublisherRef = { ...this.#newRef(PUBLISHER_PC, pc), audioSender: audio.sender, videoSender: video.sender };
    this.#pub = pub;
    this.#watch(pub);
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    const reply = await this.#socket.request({ type: 'publish', jsep: { type: 'offer', sdp: offer.sdp ?? '' }, audio: true, video: this.mediaMode === 'video' }, ['published']);
    this.#described(pub);
    if (this.#pub !== pub) return;
    await pc.setRemoteDescription(reply.jsep);
    this.#remoteSet(pub);
  }

  async #onRemoteOffer(m: Extract<ServerMessage, { type: 'remote-offer' }>): Promise<void> {
    const existing = this.#sub;
    if (m.restart && existing && existing.id === m.subscription) {
      await existing.pc.setRemoteDescription(m.jsep);
      const answer = await existing.pc.createAnswer();
      await existing.pc.setLocalDescription(answer);
      this.#socket.send({ type: 'answer', subscription: existing.id, jsep: { type: 'answer', sdp: answer.sdp ?? '' } });
      return;
    }
    this.#closeSubscriber();
    const pc = newPeerConnection(this.#iceServers);
    const sub: SubscriberRef = { ...this.#newRef(m.subscription, pc), stream: new MediaStream() };
    this.#sub = sub;
    pc.ontrack = (e) => {
      if (this.#sub !== sub) return;
      sub.stream.addTrack(e.track);
      this.emit('remote-stream', sub.stream);
    };
    this.#watch(sub);
    await pc.setRemoteDescription(m.jsep);
    this.#remoteSet(sub);
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    if (this.#sub !== sub) return;
    this.#socket.send({ type: 'answer', subscription: sub.id, jsep: { type: 'answer', sdp: answer.sdp ?? '' } });
    this.#described(sub);
  }

  #newRef(id: string, pc: RTCPeerConnection): PcRef {
    return newPcRef(id, pc, (candidate) => this.#trickle(id, candidate));
  }

  #trickle(pc: string, candidate: Candidate | null): void {
    this.#socket.send({ type: 'trickle', pc, candidate });
  }

  /** Our description reached the appliance: the candidates held back can follow. */
  #described(ref: PcRef): void {
    markDescribed(ref, (candidate) => this.#trickle(ref.id, candidate));
  }

  #remoteSet(ref: PcRef): void {
    ref.remoteSet = true;
    for (const c of this.#remoteQueue.get(ref.id) ?? []) void addRemoteCandidate(ref, c);
    this.#remoteQueue.delete(ref.id);
  }

  // ---- keeping media alive ---------------------------------------------------------------------------

  #watch(ref: PcRef): void {
    const pc = ref.pc;
    pc.oniceconnectionstatechange = () => {
      const s = pc.iceConnectionState;
      if (ref === this.#pub || ref === this.#sub) this.emit('connection', { pc: ref === this.#pub ? 'publisher' : 'subscriber', state: s });
      if (s === 'connected' || s === 'completed') {
        if (ref.iceTimer) clearTimeout(ref.iceTimer);
        if (ref.watchdog) clearTimeout(ref.watchdog);
        ref.iceTimer = ref.watchdog = null;
        ref.restarting = false;
        ref.restarts = 0;
        if (ref === this.#pub && this.#joined && this.#state !== 'ended') this.#setState('live');
      } else if (s === 'disconnected') {
        ref.iceTimer ??= setTimeout(() => {
          ref.iceTimer = null;
          if (pc.iceConnectionState === 'disconnected' || pc.iceConnectionState === 'failed') void this.#restartIce(ref);
        }, this.#opts.iceGraceMs ?? 2000);
      } else if (s === 'failed') {
        void this.#restartIce(ref);
      }
    };
  }

  async #restartIce(ref: PcRef): Promise<void> {
    if (ref.restarting || !this.#socket.connected || this.#state === 'ended') return;
    if (ref.restarts >= 2) {
      this.#startOver(ref);
      return;
    }
    ref.restarting = true;
    ref.restarts += 1;
    this.emit('recovery', { pc: ref === this.#pub ? 'publisher' : 'subscriber', action: 'ice-restart' });
    try {
      if (ref === this.#pub) {
        const offer = await ref.pc.createOffer({ iceRestart: true });
        await ref.pc.setLocalDescription(offer);
        const reply = await this.#socket.request({ type: 'restart-ice', pc: PUBLISHER_PC, jsep: { type: 'offer', sdp: offer.sdp ?? '' } }, ['published']);
        if (this.#pub === ref) await ref.pc.setRemoteDescription(reply.jsep);
      } else if (ref === this.#sub) {
        // The appliance answers with a remote-offer (restart), handled like any other.
        await this.#socket.request({ type: 'restart-ice', pc: ref.id }, ['remote-offer']);
      }
    } catch {
      ref.restarting = false;
      this.#startOver(ref);
      return;
    }
    // ICE gets a few seconds on the new credentials; if it is still not up, try again.
    ref.watchdog = setTimeout(() => {
      ref.watchdog = null;
      ref.restarting = false;
      const s = ref.pc.iceConnectionState;
      if (s !== 'connected' && s !== 'completed') void this.#restartIce(ref);
    }, this.#opts.iceRestartTimeoutMs ?? 3000);
  }

  /** A fresh peer connection instead of the one ICE restarts could not revive. */
  #startOver(ref: PcRef): void {
    if (ref !== this.#pub && ref !== this.#sub) return;
    this.emit('recovery', { pc: ref === this.#pub ? 'publisher' : 'subscriber', action: 'new-connection' });
    if (ref === this.#pub) void this.#publish();
    else this.#socket.send({ type: 'subscribe' });
  }

  #onSlowlink(): void {
    const limit = this.#opts.audioOnlyAfterSlowlinks ?? 3;
    if (limit === 0 || this.#audioOnly || this.#screen) return;
    const now = Date.now();
    this.#slowlinks = [...this.#slowlinks.filter((t) => now - t < 10_000), now];
    if (this.#slowlinks.length >= limit) this.#setAudioOnly(true, 'slow-network');
  }

  #setAudioOnly(on: boolean, reason: 'requested' | 'no-camera' | 'slow-network'): void {
    if (this.#audioOnly === on) return;
    this.#audioOnly = on;
    this.#audioOnlyReason = on ? reason : null;
    this.#slowlinks = [];
    void this.#pub?.videoSender.replaceTrack(this.#outgoingVideo()).catch(() => {});
    this.emit('fallback', { audioOnly: on, reason });
    this.#sendMediaState();
  }

  #outgoingVideo(): MediaStreamTrack | null {
    if (this.#callMode !== 'video') return null;
    return this.#screen ?? (this.#audioOnly ? null : this.#camera);
  }

  /** The appliance's degrade decision: stop or resume sending video (no renegotiation: the track is replaced). */
  #onCallMode(mode: CallMode, reason: CallModeReason): void {
    if (this.#callMode === mode) return;
    this.#callMode = mode;
    // the appliance steps back up for the whole call: this browser's own slow-network fallback ends with it
    if (mode === 'video' && this.#audioOnly && this.#audioOnlyReason === 'slow-network') {
      this.#audioOnly = false;
      this.#audioOnlyReason = null;
      this.emit('fallback', { audioOnly: false, reason: 'slow-network' });
    }
    void this.#pub?.videoSender.replaceTrack(this.#outgoingVideo()).catch(() => {});
    this.emit('call-mode', { mode, reason });
    this.#sendMediaState();
  }

  /** What the appliance says the call carries now. */
  get callMode(): CallMode {
    return this.#callMode;
  }

  #hasAudio(): boolean {
    return (this.#local?.getAudioTracks().length ?? 0) > 0;
  }

  // ---- messages from the appliance ---------------------------------------------------------------------

  #onMessage(m: ServerMessage): void {
    switch (m.type) {
      case 'trickle': {
        const ref = m.pc === PUBLISHER_PC ? this.#pub : this.#sub?.id === m.pc ? this.#sub : null;
        if (ref && ref.remoteSet) void addRemoteCandidate(ref, m.candidate);
        else {
          const q = this.#remoteQueue.get(m.pc) ?? [];
          if (q.length < 64) q.push(m.candidate);
          this.#remoteQueue.set(m.pc, q);
        }
        return;
      }
      case 'remote-offer':
        void this.#onRemoteOffer(m).catch((err) => this.#report(err));
        return;
      case 'remote-ended':
        if (this.#sub?.id === m.subscription) {
          this.#closeSubscriber();
          this.emit('remote-stream', null);
        }
        this.#remoteQueue.delete(m.subscription);
        return;
      case 'peer-state':
        this.#peerState = m.state;
        this.emit('peer', { party: m.party, state: m.state });
        return;
      case 'media-state':
        this.emit('peer-media', { party: m.party, audio: m.audio, video: m.video, screen: m.screen });
        return;
      case 'chat':
        this.emit('chat', { seq: m.seq, from: m.from, text: m.text, at: m.at, mine: m.from === this.#party });
        return;
      case 'janus-state':
        this.emit('janus', m.state);
        if (m.state === 'down') {
          this.#closePublisher();
          if (this.#sub) this.emit('remote-stream', null);
          this.#closeSubscriber();
          if (this.#joined) this.#setState('media-lost');
        } else if (this.#joined) {
          void this.#publish();
        }
        return;
      case 'network':
        if (m.pc === PUBLISHER_PC && m.uplink) this.#onSlowlink();
        return;
      case 'call-mode':
        this.#onCallMode(m.mode, m.reason);
        return;
      case 'link-quality':
        this.emit('link-quality', { party: m.party, lossPct: m.lossPct, rttMs: m.rttMs, bitrateKbps: m.bitrateKbps });
        return;
      case 'ended':
        this.#end(m.reason);
        this.#socket.close(4002, 'ended');
        return;
      case 'error':
        if (m.rid === undefined) this.emit('error', new CallError(m.code, m.message));
        return;
      case 'capture-request':
        this.emit('capture-request', m);
        return;
      case 'kyc-update':
        this.emit('kyc-update', { what: m.what });
        return;
      default:
        return;
    }
  }

  #onDown(final: boolean, reason: string): void {
    this.#joined = false;
    // The appliance releases our media handles with the socket; new ones come with the next join.
    this.#closePublisher();
    if (this.#sub) this.emit('remote-stream', null);
    this.#closeSubscriber();
    if (final) this.#end(reason);
    else if (this.#state !== 'ended') this.#setState('reconnecting');
  }

  #end(reason: string): void {
    if (this.#state === 'ended') return;
    this.#joined = false;
    if (this.#qualityTimer) clearInterval(this.#qualityTimer);
    this.#qualityTimer = null;
    this.#closePublisher();
    this.#closeSubscriber();
    for (const t of this.#local?.getTracks() ?? []) t.stop();
    this.#screen?.stop();
    this.#setState('ended');
    this.emit('ended', { reason });
  }

  // ---- quality reports (getStats summaries for the operators' metrics) ------------------------------------

  #startQualityReports(): void {
    const every = this.#opts.qualityReportMs ?? 5000;
    if (every <= 0 || this.#qualityTimer) return;
    this.#qualityTimer = setInterval(() => void this.#reportQuality().catch(() => undefined), every);
  }

  async #reportQuality(): Promise<void> {
    const { summary: q, frames } = await this.#quality.sample(this.#pcs(), this.#callMode);
    const ice = this.#pub?.pc.iceConnectionState;
    if (ice === 'connected' || ice === 'completed') this.#stage('ice_connected', true);
    else if (ice === 'failed') this.#stage('ice_connected', false);
    if (frames > 0) this.#stage('media_flowing', true);
    const stages = this.#stages;
    if (stages && Object.keys(stages).length > 0) q.stages = stages;
    if (this.#socket.send({ type: 'quality', ...q })) this.#stages = {};
  }

  /** A join stage reached or failed, reported with the next summary (each once per connection). */
  #stage(stage: keyof NonNullable<QualitySummary['stages']>, ok: boolean): void {
    this.#stages = { ...this.#stages, [stage]: ok };
  }

  #closePublisher(): void {
    const pub = this.#pub;
    this.#pub = null;
    if (!pub) return;
    closePcRef(pub);
    this.#remoteQueue.delete(PUBLISHER_PC);
  }

  #closeSubscriber(): void {
    const sub = this.#sub;
    this.#sub = null;
    if (sub) closePcRef(sub);
  }

  #sendMediaState(): void {
    if (this.#joined) this.#socket.send({ type: 'media-state', ...this.media });
  }

  #setState(s: CallState): void {
    if (this.#state === s || this.#state === 'ended') return;
    this.#state = s;
    this.emit('state', s);
  }

  #report(err: unknown): void {
    const e = err instanceof CallError ? err : new CallError('client', err instanceof Error ? err.message : String(err));
    // A lost socket already shows as "reconnecting"; it is not an error of its own.
    if (e.code !== 'disconnected') this.emit('error', e);
  }
}
