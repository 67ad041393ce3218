// The call client's events as reactive state for the call view. One instance per joined session; dispose()
// when the view goes away (leaves nothing running: no socket, no camera).
import { CallClient, CallError, type CallClientOptions, type CallEvents, type CallState, type ChatMessage, type JanusState, type MediaState, type PeerState } from '$lib/call/index.js';
import type { CallMode, CallModeReason, Party } from '$lib/call/index.js';
import type { MediaMode } from '$lib/api.js';

/** a party's network as the teller sees it: good, fair (loss 2–10 % or RTT 300–800 ms) or poor */
export type LinkLevel = 'good' | 'fair' | 'poor';
export interface LinkQuality {
  level: LinkLevel;
  lossPct: number | null;
  rttMs: number | null;
  bitrateKbps: number | null;
}

export function linkLevel(q: { lossPct: number | null; rttMs: number | null }): LinkLevel {
  const loss = q.lossPct ?? 0;
  const rtt = q.rttMs ?? 0;
  if (loss > 10 || rtt > 800) return 'poor';
  if (loss > 2 || rtt > 300) return 'fair';
  return 'good';
}

export type FallbackReason = 'requested' | 'no-camera' | 'slow-network';

export class LiveCall {
  state = $state<CallState>('idle');
  peer = $state<PeerState>('absent');
  peerMedia = $state<MediaState | null>(null);
  janus = $state<JanusState>('up');
  local = $state.raw<MediaStream | null>(null);
  remote = $state.raw<MediaStream | null>(null);
  media = $state<MediaState>({ audio: false, video: false, screen: false });
  /** why video is not being sent, when it is not */
  audioOnly = $state<FallbackReason | null>(null);
  /** what the appliance says the call carries now (degrade, don't drop), and why it last stepped */
  callMode = $state<{ mode: CallMode; reason: CallModeReason | null }>({ mode: 'video', reason: null });
  /** (teller) both parties' network quality, live */
  links = $state<Partial<Record<Party, LinkQuality>>>({});
  /** no camera or microphone could be opened: the call goes on with chat */
  noMedia = $state(false);
  /** more than one camera: offer to switch (front/back on phones) */
  canSwitchCamera = $state(false);
  chat = $state<ChatMessage[]>([]);
  /** the last error the appliance or the browser reported (a KYC_ERR_* code or a local one) */
  lastError = $state<string | null>(null);
  endedReason = $state<string | null>(null);

  /** how this party takes part (fixed for the call) */
  readonly mediaMode: MediaMode;
  readonly #client: CallClient;
  readonly #offs: (() => void)[] = [];
  #disposed = false;

  constructor(options: CallClientOptions) {
    this.#client = new CallClient(options);
    this.mediaMode = this.#client.mediaMode;
    const c = this.#client;
    this.#offs.push(
      c.on('state', (s) => {
        this.state = s;
        this.media = c.media;
        // Joining tells the media server's state without a 'janus' event of its own.
        if (s === 'media-lost') this.janus = 'down';
        else if (s === 'joined' || s === 'live') this.janus = 'up';
      }),
      c.on('local-stream', (stream) => {
        // After a camera switch the same stream comes again with its new track; the self view follows by itself.
        this.local = stream;
        this.media = c.media;
        // Device labels and the full list are known once a camera is open.
        void this.#countCameras();
      }),
      c.on('remote-stream', (stream) => {
        this.remote = stream;
      }),
      c.on('peer', ({ state }) => {
        this.peer = state;
        if (state === 'left' || state === 'absent') this.peerMedia = null;
      }),
      c.on('peer-media', ({ audio, video, screen }) => {
        this.peerMedia = { audio, video, screen };
      }),
      c.on('janus', (s) => {
        this.janus = s;
      }),
      c.on('fallback', ({ audioOnly, reason }) => {
        this.audioOnly = audioOnly ? reason : null;
        this.media = c.media;
      }),
      c.on('call-mode', ({ mode, reason }) => {
        this.callMode = { mode, reason };
        this.media = c.media;
      }),
      c.on('link-quality', ({ party, ...q }) => {
        this.links = { ...this.links, [party]: { ...q, level: linkLevel(q) } };
      }),
      c.on('chat', (message) => {
        if (!this.chat.some((m) => m.seq === message.seq)) this.chat = [...this.chat, message].sort((a, b) => a.seq - b.seq);
      }),
      c.on('error', (err) => {
        if (err.code === 'no-media') this.noMedia = true;
        this.lastError = err.code;
      }),
      c.on('ended', ({ reason }) => {
        this.endedReason = reason;
      }),
    );
  }

  /** Opens camera and microphone and joins; resolves when joined, and keeps trying while the network is away. */
  async start(): Promise<void> {
    try {
      await this.#client.start();
    } catch (err) {
      this.lastError = err instanceof CallError ? err.code : 'client';
    }
    if (!this.#disposed) this.media = this.#client.media;
  }

  async #countCameras(): Promise<void> {
    try {
      const devices = await navigator.mediaDevices.enumerateDevices();
      this.canSwitchCamera = devices.filter((d) => d.kind === 'videoinput').length > 1;
    } catch {
      this.canSwitchCamera = false;
    }
  }

  toggleMic(): void {
    this.#client.setMicEnabled(!this.media.audio);
    this.media = this.#client.media;
  }

  toggleCamera(): void {
    this.#client.setCameraEnabled(!this.media.video);
    this.media = this.#client.media;
  }

  async switchCamera(): Promise<void> {
    try {
      await this.#client.switchCamera();
    } catch (err) {
      this.lastError = err instanceof CallError ? err.code : 'camera-switch';
    }
    this.media = this.#client.media;
  }

  async toggleScreenShare(): Promise<void> {
    try {
      if (this.media.screen) await this.#client.stopScreenShare();
      else await this.#client.startScreenShare();
    } catch (err) {
      // The user closing the browser's picker is a choice, not an error.
      if (!(err instanceof DOMException && err.name === 'NotAllowedError')) this.lastError = 'screen-share';
    }
    this.media = this.#client.media;
  }

  /** What the appliance asks or tells beyond the call itself (identity captures, KYC updates); returns the unsubscribe. */
  onAppliance<K extends 'capture-request' | 'kyc-update'>(event: K, fn: (payload: CallEvents[K]) => void): () => void {
    const off = this.#client.on(event, fn);
    this.#offs.push(off);
    return off;
  }

  /** Rejects when the message could not be relayed (e.g. while reconnecting). */
  async sendChat(text: string): Promise<void> {
    const sent = await this.#client.sendChat(text);
    if (!this.chat.some((m) => m.seq === sent.seq)) this.chat = [...this.chat, sent].sort((a, b) => a.seq - b.seq);
  }

  async leave(): Promise<void> {
    await this.#client.leave();
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const off of this.#offs) off();
    void this.#client.leave().catch(() => undefined);
  }
}
