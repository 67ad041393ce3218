// One party's side of a 1:1 call: camera and microphone published to the appliance's media server, the other
// party's media received, chat, and recovery (ICE restart when the network hiccups, re-join when the socket
// drops or the media server restarts). Plain TypeScript with no framework, so pages of any kind can use it.
import {
  PUBLISHER_PC,
  type Candidate,
  type CallMode,
  type CallModeReason,
  type CaptureRequestMessage,
  type IceServer,
  type KycUpdateKind,
  type JanusState,
  type Party,
  type PeerState,
  type QualitySummary,
  type ServerMessage,
} from '../../../../appliance/src/media/protocol.js';
import { Emitter } from './emitter.js';
import { CallError, SignalingSocket } from './signaling-socket.js';

export { CallError } from './signaling-socket.js';

export type CallState =
  /** before start() */
  | 'idle'
  /** opening the socket and joining */
  | 'connecting'
  /** in the session; our media is being set up */
  | 'joined'
  /** our media reaches the appliance */
  | 'live'
  /** the socket dropped; rejoining (the other party sees "reconnecting") */
  | 'reconnecting'
  /** the media server is down; chat still works, media resumes when it is back */
  | 'media-lost'
  /** hung up, left, or refused: final */
  | 'ended';

export interface ChatMessage {
  seq: number;
  from: Party;
  text: string;
  /** ISO time the appliance relayed it */
  at: string;
  mine: boolean;
}

export interface MediaState {
  audio: boolean;
  video: boolean;
  screen: boolean;
}

export type CallEvents = {
  state: CallState;
  /** our own camera/microphone (for the self view) */
  'local-stream': MediaStream;
  /** the other party's media; null when it went away */
  'remote-stream': MediaStream | null;
  peer: { party: Party; state: PeerState };
  'peer-media': { party: Party } & MediaState;
  chat: ChatMessage;
  janus: JanusState;
  /** ICE state of our sending or receiving peer connection (e.g. to show "poor connection") */
  connection: { pc: 'publisher' | 'subscriber'; state: RTCIceConnectionState };
  /** what the client does to bring media back without leaving the call */
  recovery: { pc: 'publisher' | 'subscriber'; action: 'ice-restart' | 'new-connection' };
  /** video stopped being sent (or resumed): by request, for lack of a camera, or because the uplink is lossy */
  fallback: { audioOnly: boolean; reason: 'requested' | 'no-camera' | 'slow-network' };
  /** the appliance stepped the call between video, audio only and chat (degrade, don't drop) */
  'call-mode': { mode: CallMode; reason: CallModeReason };
  /** (teller) a party's network quality, from its browser's latest summary */
  'link-quality': { party: Party; lossPct: number | null; rttMs: number | null; bitrateKbps: number | null };
  error: CallError;
  ended: { reason: string };
  /** the appliance asks this (customer's) browser for stills from its own camera */
  'capture-request': CaptureRequestMessage;
  /** the case's KYC evidence changed; read it again */
  'kyc-update': { what: KycUpdateKind };
};

export interface CallStats {
  inboundVideo: { framesDecoded: number; framesPerSecond: number; frameWidth: number; frameHeight: number; bytesReceived: number } | null;
  inboundAudio: { packetsReceived: number; bytesReceived: number } | null;
  outboundVideo: { framesEncoded: number; bytesSent: number } | null;
  outboundAudio: { packetsSent: number; bytesSent: number } | null;
  publisherIce: RTCIceConnectionState | null;
  subscriberIce: RTCIceConnectionState | null;
}

export interface CallClientOptions {
  /** the appliance's signaling URL, e.g. wss://kyc.branch.local/api/signaling (credentials as the appliance expects) */
  url: string;
  /** what to ask getUserMedia for; default audio + 640x480 video at 20 fps */
  constraints?: MediaStreamConstraints;
  /** an already opened stream (e.g. from the device check) instead of calling getUserMedia */
  localStream?: MediaStream;
  reconnectDelaysMs?: number[];
  /** how long ICE may stay "disconnected" before an ICE restart; default 2 s */
  iceGraceMs?: number;
  /** how long an ICE restart may take before another attempt (the third starts the connection over); default 3 s */
  iceRestartTimeoutMs?: number;
  /** uplink loss reports within 10 s that switch to audio only; default 3, 0 = never */
  audioOnlyAfterSlowlinks?: number;
  /** socket heartbeat; default 4 s */
  heartbeatMs?: number;
  /** how often a getStats summary goes to the appliance (operators' metrics); default 5 s, 0 = never */
  qualityReportMs?: number;
}

interface PcRef {
  id: string;
  pc: RTCPeerConnection;
  /** remote description set: remote candidates can be added */
  remoteSet: boolean;
  /** our offer/answer went out: local candidates can follow it */
  described: boolean;
  localQueue: (Candidate | null)[];
  iceTimer: ReturnType<typeof setTimeout> | null;
  restarting: boolean;
  /** ICE restarts since the connection was last up */
  restarts: number;
  watchdog: ReturnType<typeof setTimeout> | null;
}

interface PublisherRef extends PcRef {
  audioSender: RTCRtpSender;
  videoSender: RTCRtpSender;
}

interface SubscriberRef extends PcRef {
  stream: MediaStream;
}

const DEFAULT_CONSTRAINTS: MediaStreamConstraints = {
  audio: true,
  video: { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 20 } },
};

function toCandidate(c: RTCIceCandidate | null): Candidate | null {
  if (!c || !c.candidate) return null;
  return { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex };
}

export class CallClient extends Emitter<CallEvents> {
  readonly #opts: CallClientOptions;
  readonly #socket: SignalingSocket;
  #state: CallState = 'idle';
  #party: Party | null = null;
  #peerState: PeerState = 'absent';
  #iceServers: IceServer[] = [];
  #joined = false;
  #janus: JanusState = 'up';
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
  #lastInbound: { bytes: number; lost: number; received: number; freezes: number; at: number } | null = null;

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
    const stats: CallStats = {
      inboundVideo: null,
      inboundAudio: null,
      outboundVideo: null,
      outboundAudio: null,
      publisherIce: this.#pub?.pc.iceConnectionState ?? null,
      subscriberIce: this.#sub?.pc.iceConnectionState ?? null,
    };
    const collect = async (pc: RTCPeerConnection | undefined) => {
      if (!pc) return;
      (await pc.getStats()).forEach((r: Record<string, unknown>) => {
        const n = (k: string) => Number(r[k] ?? 0);
        if (r.type === 'inbound-rtp' && r.kind === 'video') {
          stats.inboundVideo = { framesDecoded: n('framesDecoded'), framesPerSecond: n('framesPerSecond'), frameWidth: n('frameWidth'), frameHeight: n('frameHeight'), bytesReceived: n('bytesReceived') };
        } else if (r.type === 'inbound-rtp' && r.kind === 'audio') {
          stats.inboundAudio = { packetsReceived: n('packetsReceived'), bytesReceived: n('bytesReceived') };
        } else if (r.type === 'outbound-rtp' && r.kind === 'video') {
          stats.outboundVideo = { framesEncoded: n('framesEncoded'), bytesSent: n('bytesSent') };
        } else if (r.type === 'outbound-rtp' && r.kind === 'audio') {
          stats.outboundAudio = { packetsSent: n('packetsSent'), bytesSent: n('bytesSent') };
        }
      });
    };
    await collect(this.#sub?.pc);
    await collect(this.#pub?.pc);
    return stats;
  }

  // ---- joining and publishing ------------------------------------------------------------------------

  async #acquireMedia(): Promise<void> {
    if (this.#opts.localStream) {
      this.#local = this.#opts.localStream;
    } else {
      const constraints = this.#opts.constraints ?? DEFAULT_CONSTRAINTS;
      try {
        this.#local = await navigator.mediaDevices.getUserMedia(constraints);
      } catch (err) {
        if (!constraints.video) throw err;
        // No camera (or it is refused): an audio-only call is better than none.
        try {
          this.#local = await navigator.mediaDevices.getUserMedia({ audio: constraints.audio ?? true });
        } catch {
          // Nothing at all: the call continues with chat and the other party's media.
          this.#local = new MediaStream();
          this.emit('error', new CallError('no-media', 'no camera or microphone could be opened'));
        }
      }
    }
    this.#stage('media_allowed', this.#local.getTracks().length > 0);
    this.#camera = this.#local.getVideoTracks()[0] ?? null;
    if (!this.#camera) {
      this.#audioOnly = true;
      this.emit('fallback', { audioOnly: true, reason: 'no-camera' });
    }
    this.emit('local-stream', this.#local);
  }

  async #join(): Promise<void> {
    try {
      const joined = await this.#socket.request({ type: 'join' }, ['joined']);
      this.#party = joined.party;
      this.#iceServers = joined.iceServers;
      this.#janus = joined.janus;
      this.#joined = true;
      this.#startQualityReports();
      this.#peerState = joined.peer.state;
      this.emit('peer', joined.peer);
      this.#setState(joined.janus === 'up' ? 'joined' : 'media-lost');
      this.#sendMediaState();
      if (joined.janus === 'up') await this.#publish();
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
    const pc = new RTCPeerConnection({ iceServers: this.#iceServers as RTCIceServer[], bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
    const streams = [this.#local];
    const audio = pc.addTransceiver(this.#local.getAudioTracks()[0] ?? 'audio', { direction: 'sendonly', streams });
    // Always a video section, so that a camera or screen can be added later by replaceTrack alone.
    const video = pc.addTransceiver(this.#outgoingVideo() ?? 'video', { direction: 'sendonly', streams });
    const pub: PublisherRef = { ...this.#newRef(PUBLISHER_PC, pc), audioSender: audio.sender, videoSender: video.sender };
    this.#pub = pub;
    this.#watch(pub);
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    const reply = await this.#socket.request({ type: 'publish', jsep: { type: 'offer', sdp: offer.sdp ?? '' }, audio: true, video: true }, ['published']);
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
    const pc = new RTCPeerConnection({ iceServers: this.#iceServers as RTCIceServer[], bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
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
    const ref: PcRef = { id, pc, remoteSet: false, described: false, localQueue: [], iceTimer: null, restarting: false, restarts: 0, watchdog: null };
    pc.onicecandidate = (e) => {
      const c = toCandidate(e.candidate);
      if (ref.described) this.#socket.send({ type: 'trickle', pc: id, candidate: c });
      else ref.localQueue.push(c);
    };
    return ref;
  }

  /** Our description reached the appliance: the candidates held back can follow. */
  #described(ref: PcRef): void {
    ref.described = true;
    for (const c of ref.localQueue.splice(0)) this.#socket.send({ type: 'trickle', pc: ref.id, candidate: c });
  }

  #remoteSet(ref: PcRef): void {
    ref.remoteSet = true;
    for (const c of this.#remoteQueue.get(ref.id) ?? []) void this.#addRemoteCandidate(ref, c);
    this.#remoteQueue.delete(ref.id);
  }

  async #addRemoteCandidate(ref: PcRef, c: Candidate | null): Promise<void> {
    if (!c) return;
    try {
      await ref.pc.addIceCandidate(c);
    } catch {
      // A candidate for a closed or restarted connection: nothing to do.
    }
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
        if (ref && ref.remoteSet) void this.#addRemoteCandidate(ref, m.candidate);
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
        this.#janus = m.state;
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
    const q: QualitySummary = {};
    const now = performance.now();
    let bytes = 0;
    let lost = 0;
    let received = 0;
    let jitter: number | undefined;
    const pairs = new Map<string, Record<string, unknown>>();
    const candidates = new Map<string, Record<string, unknown>>();
    let selected: Record<string, unknown> | undefined;
    let frames = 0;
    let freezes = 0;
    for (const pc of [this.#sub?.pc, this.#pub?.pc]) {
      if (!pc) continue;
      (await pc.getStats()).forEach((r: Record<string, unknown>) => {
        const n = (k: string) => (typeof r[k] === 'number' ? (r[k] as number) : 0);
        if (r.type === 'inbound-rtp') {
          bytes += n('bytesReceived');
          lost += Math.max(0, n('packetsLost'));
          received += n('packetsReceived');
          if (r.kind === 'video') {
            frames += n('framesDecoded');
            freezes += n('freezeCount');
            if (n('frameHeight') > 0) q.height = Math.min(8192, n('frameHeight'));
            if (n('frameWidth') > 0) q.width = Math.min(8192, n('frameWidth'));
            if (n('framesPerSecond') > 0) q.fps = Math.min(240, n('framesPerSecond'));
          }
          if (typeof r.jitter === 'number') jitter = Math.max(jitter ?? 0, r.jitter * 1000);
        } else if (r.type === 'outbound-rtp') {
          frames += n('framesEncoded');
        } else if (r.type === 'candidate-pair') {
          pairs.set(String(r.id), r);
          if (r.nominated && r.state === 'succeeded' && pc === this.#pub?.pc) selected = r;
        } else if (r.type === 'local-candidate') {
          candidates.set(String(r.id), r);
        }
      });
    }
    if (selected) {
      if (typeof selected.currentRoundTripTime === 'number') q.rttMs = Math.min(60_000, selected.currentRoundTripTime * 1000);
      // the sender's bandwidth estimate: meaningful only while it sends video (audio alone does not probe)
      if (typeof selected.availableOutgoingBitrate === 'number' && this.#callMode === 'video') q.availableKbps = Math.min(1e7, selected.availableOutgoingBitrate / 1000);
      const type = candidates.get(String(selected.localCandidateId))?.candidateType;
      if (type === 'host' || type === 'srflx' || type === 'prflx' || type === 'relay') q.candidate = type;
    }
    if (jitter !== undefined) q.jitterMs = Math.min(60_000, jitter);
    const prev = this.#lastInbound;
    if (prev && bytes >= prev.bytes && now > prev.at) q.bitrateBps = Math.min(1e9, ((bytes - prev.bytes) * 8 * 1000) / (now - prev.at));
    if (prev && lost >= prev.lost && received >= prev.received && lost - prev.lost + received - prev.received > 0) {
      q.lossRatio = (lost - prev.lost) / (lost - prev.lost + received - prev.received);
    }
    if (prev && freezes > prev.freezes) q.freezes = Math.min(1000, freezes - prev.freezes);
    this.#lastInbound = { bytes, lost, received, freezes, at: now };
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
    if (pub.iceTimer) clearTimeout(pub.iceTimer);
    if (pub.watchdog) clearTimeout(pub.watchdog);
    pub.pc.close();
    this.#remoteQueue.delete(PUBLISHER_PC);
  }

  #closeSubscriber(): void {
    const sub = this.#sub;
    this.#sub = null;
    if (!sub) return;
    if (sub.iceTimer) clearTimeout(sub.iceTimer);
    if (sub.watchdog) clearTimeout(sub.watchdog);
    sub.pc.close();
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
