// The relay between browsers and Janus: one record per call session (its room and the two parties), one per
// WebSocket connection (its subscriptions). Browsers only ever see this protocol; Janus handle ids, room
// secrets and pins stay here. Every action a party takes is first reported through `onEvent`, which may refuse
// it (the app writes its audit event there, fail-closed).
import { randomBytes, randomInt } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { createSessionSpoolDir } from '../recording/spool-dirs.js';
import type { WebSocket } from 'ws';
import { JanusRequestError, VIDEOROOM_ERROR, type GatewayLogger, type JanusGateway, type Publisher, type Subscriber } from './janus-gateway.js';
import {
  CLOSE_CODES,
  otherParty,
  parseClientMessage,
  PARTIES,
  PUBLISHER_PC,
  SIGNALING_ERRORS,
  SIGNALING_LIMITS,
  type ClientMessage,
  type IceServer,
  type Party,
  type PeerState,
  type ServerMessage,
  type SignalingErrorCode,
  type BrowserJoinStage,
  type CallMode,
  type CallModeReason,
  type QualitySummary,
} from './protocol.js';
import { TokenBucket } from './token-bucket.js';
import { MAX_SEGMENT, parseStreamFileName, streamBaseName } from '../recording/recording-layout.js';
import type { CallMetrics } from '../services/ops-metrics.js';

/** Who is behind a socket, as the app's authenticate() established it. */
export interface SignalingIdentity {
  /** the call session (one Janus room) */
  sessionId: string;
  party: Party;
  /** for the audit trail, e.g. { kind: 'teller', username } or { kind: 'invitation', invitationId } */
  actor: Record<string, string>;
  /** the browser sign-in session behind the socket (its id hash, base64): when it ends, the socket closes */
  signIn?: string;
}

/**
 * What happened, for the app to persist and audit. Actions a party asks for ('join', 'reconnect', 'publish',
 * 'chat', 'media-state', 'screen-share-start', 'screen-share-stop', 'leave') are refused when the promise rejects.
 * Facts ('media-up', 'disconnect', 'timeout') cannot be refused; a rejection is only logged.
 */
export type SignalingEventType =
  | 'join'
  | 'reconnect'
  | 'publish'
  | 'media-up'
  | 'chat'
  | 'media-state'
  | 'screen-share-start'
  | 'screen-share-stop'
  | 'leave'
  | 'disconnect'
  | 'timeout'
  | 'call-mode';

export interface SignalingEvent {
  sessionId: string;
  /** system: the appliance's own decision (a call-mode step) */
  party: Party | 'system';
  actor: Record<string, string>;
  type: SignalingEventType;
  data: Record<string, unknown>;
  at: Date;
}

export interface ChatEntry {
  seq: number;
  from: Party;
  text: string;
  at: string;
}

export interface StoredChat {
  messages: ChatEntry[];
  /** the highest number given so far (also of messages that could not be read back) */
  lastSeq: number;
}

/** messages kept per session for parties that (re)join; older ones are still in the session's record */
const MAX_CHAT_HISTORY = 500;

export interface SignalingHubOptions {
  gateway: JanusGateway;
  /** folder Janus records this session's .mjr files into; created before the room (see createSessionSpoolDir) */
  recordingDir(sessionId: string): string;
  /** session folders shared with Janus and the worker through the spool's group (KYC_DIR_GROUP_ACCESS) */
  recordingGroupAccess?: boolean;
  onEvent?(event: SignalingEvent): Promise<void>;
  /**
   * The session's chat so far, from where `onEvent` stored it: read once per session by this process (a session
   * that outlived an appliance restart keeps its messages and numbering), then kept here and sent to every party
   * that joins or rejoins.
   */
  chatHistory?(sessionId: string): Promise<StoredChat>;
  /**
   * Nobody is left in the session (both parties sent `leave`, or their sockets stayed away past the reconnect grace):
   * the app ends it (and requests its seal). Until the app calls `endSession`, a party may still come back.
   */
  onAbandoned?(sessionId: string): Promise<void>;
  /** handed to browsers in `joined` (TURN for customers behind NAT); default none */
  iceServers?: IceServer[];
  /** how long a party whose socket dropped stays `reconnecting` before it counts as left; default 60 s */
  reconnectGraceMs?: number;
  /** frames per connection: `burst` at once, refilled at `ratePerSec`; default 50 and 20 */
  rateLimit?: { burst: number; ratePerSec: number };
  /** WebSocket ping interval; a socket that misses one pong is closed. Default 10 s. */
  heartbeatMs?: number;
  /**
   * Open sockets allowed at once: per party of a session (a new one beyond it retires the oldest, so tabs and
   * reconnects never pile up), and per client address (beyond it a new socket is refused; default 256, since a
   * branch's tellers may share one address behind its proxy).
   */
  connectionLimits?: { perParty: number; perAddress: number };
  log?: GatewayLogger;
  /** join funnel, join time and slowlink counts for the operators' metrics */
  metrics?: CallMetrics;
  /** per-call quality: samples for the auditor's chart and the inputs of the degrade decision */
  quality?: CallQualityObserver;
}

/** What the hub reports of each call's quality (see services/call-quality.ts). */
export interface CallQualityObserver {
  browser(sessionId: string, party: Party, summary: Omit<QualitySummary, 'stages' | 'candidate'>): void;
  slowlink(sessionId: string, party: Party, info: { uplink: boolean; lost: number }): void;
  /** whether Janus receives the party's media */
  media(sessionId: string, party: Party, flowing: boolean): void;
  ended(sessionId: string): void;
}

export const DEFAULT_CONNECTION_LIMITS = { perParty: 4, perAddress: 256 } as const;

interface Room {
  id: number;
  secret: string;
  pin: string;
  recDir: string;
}

interface PartySlot {
  party: Party;
  state: PeerState;
  conn: Connection | null;
  actor: Record<string, string>;
  joins: number;
  /** publish count: every (re)publish starts a new recording segment */
  segment: number;
  publisher: Publisher | null;
  publisherUp: boolean;
  media: { audio: boolean; video: boolean; screen: boolean };
  graceTimer: NodeJS.Timeout | null;
  /** when the current socket joined, until its first media up (the join time metric) */
  joinedAt: number | null;
}

interface CallSession {
  id: string;
  room: Room;
  roomReady: boolean;
  roomPending: Promise<void> | null;
  parties: Record<Party, PartySlot>;
  chatSeq: number;
  /** the chat so far (bounded), loaded once from `chatHistory` */
  chat: ChatEntry[];
  chatLoaded: Promise<boolean> | null;
  ended: boolean;
  /** what the call carries now (degrade, don't drop); every party that joins is told */
  mode: CallMode;
  modeReason: CallModeReason;
}

interface Subscription {
  subscriber: Subscriber;
  /** whose publisher it receives */
  source: Publisher;
}

interface Connection {
  id: number;
  ws: WebSocket;
  identity: SignalingIdentity;
  /** the client's address (for the per-address limit), when known */
  address: string | null;
  session: CallSession | null;
  /** replaced by a newer socket of the same party, or left: its close changes nothing */
  retired: boolean;
  closed: boolean;
  bucket: TokenBucket;
  queue: Promise<void>;
  subscriptions: Map<string, Subscription>;
  subscribing: Set<Publisher>;
  subSeq: number;
  /** browser join stages this socket already reported (each counts once) */
  stages: Set<string>;
}

class Refused extends Error {
  constructor(
    readonly code: SignalingErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const WS_OPEN = 1;
/** A socket that cannot keep up with this much queued output is dropped. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

export class SignalingHub {
  readonly #opts: SignalingHubOptions;
  readonly #sessions = new Map<string, CallSession>();
  readonly #connections = new Set<Connection>();
  /** recently ended sessions: a stale credential must not open a fresh room for them */
  readonly #ended = new Set<string>();
  #connSeq = 0;
  #closed = false;

  constructor(opts: SignalingHubOptions) {
    this.#opts = opts;
    opts.gateway.on('down', () => this.#janusDown());
    opts.gateway.on('up', () => void this.#janusUp());
  }

  // ---- the app's side ------------------------------------------------------------------------------------

  /**
   * Creates the session's room now (e.g. when the teller admits) rather than at the first join. `roomId` lets
   * the app choose the Janus room id it stored; otherwise a random one is used. Rejects when Janus is down.
   */
  async ensureRoom(sessionId: string, opts: { roomId?: number } = {}): Promise<void> {
    const session = this.#session(sessionId, opts.roomId);
    await this.#ensureRoom(session);
  }

  /** The session is over (hang-up): both parties get `ended`, sockets close (4002), the room is destroyed. */
  async endSession(sessionId: string, reason: string): Promise<void> {
    const session = this.#sessions.get(sessionId);
    this.#markEnded(sessionId);
    if (!session || session.ended) return;
    session.ended = true;
    this.#sessions.delete(sessionId);
    this.#opts.quality?.ended(sessionId);
    for (const slot of Object.values(session.parties)) {
      if (slot.graceTimer) clearTimeout(slot.graceTimer);
      slot.graceTimer = null;
      const conn = slot.conn;
      slot.conn = null;
      if (conn) {
        this.#send(conn, { type: 'ended', reason });
        this.#retire(conn, CLOSE_CODES.ENDED, 'session ended');
      }
      this.#dropPublisher(session, slot);
      slot.state = 'left';
    }
    await this.#destroyRoom(session);
  }

  /**
   * Sign-ins that ended (sign-out, back-channel logout, an admin): their sockets get an error and close as
   * unauthenticated (4401, final); the party may come back within the grace period after signing in again.
   */
  closeSignIns(signIns: ReadonlySet<string>, reason: string): number {
    let closed = 0;
    for (const conn of [...this.#connections]) {
      if (conn.closed || conn.identity.signIn === undefined || !signIns.has(conn.identity.signIn)) continue;
      this.#send(conn, { type: 'error', code: SIGNALING_ERRORS.UNAUTHENTICATED, message: reason });
      this.#close(conn, CLOSE_CODES.UNAUTHENTICATED, 'signed out');
      closed++;
    }
    return closed;
  }

  /** How long a party whose socket dropped may take to come back. */
  get reconnectGraceMs(): number {
    return this.#opts.reconnectGraceMs ?? 60_000;
  }

  /**
   * Sends an appliance-initiated message (e.g. a capture request) to one party of a session; false when that party
   * has no open socket here (it asks for what is pending when it joins again).
   */
  notify(sessionId: string, party: Party, message: ServerMessage): boolean {
    const conn = this.#sessions.get(sessionId)?.parties[party].conn;
    if (!conn) return false;
    this.#send(conn, message);
    return true;
  }

  /** Whose media a Janus handle carries: a publisher is its party's uplink, a subscriber its viewer's downlink. */
  handleRole(handleId: number): { party: Party; direction: 'up' | 'down'; sessionId: string } | null {
    for (const s of this.#sessions.values()) {
      for (const p of Object.values(s.parties)) if (p.publisher?.id === handleId) return { party: p.party, direction: 'up', sessionId: s.id };
    }
    for (const conn of this.#connections) {
      for (const sub of conn.subscriptions.values()) if (sub.subscriber.id === handleId) return { party: conn.identity.party, direction: 'down', sessionId: conn.identity.sessionId };
    }
    return null;
  }

  /**
   * The call steps between video, audio only and chat (the degrade decision): both parties are told (their browsers
   * stop or resume sending video) and the step is recorded as a session event (audited, a marker of the recording).
   */
  setCallMode(sessionId: string, mode: CallMode, reason: CallModeReason, data: Record<string, unknown> = {}): boolean {
    const session = this.#sessions.get(sessionId);
    if (!session || session.ended || session.mode === mode) return false;
    const from = session.mode;
    session.mode = mode;
    session.modeReason = reason;
    for (const p of PARTIES) {
      const c = session.parties[p].conn;
      if (c) this.#send(c, { type: 'call-mode', mode, reason });
    }
    this.#systemFact(session, 'call-mode', { from, to: mode, reason, ...data });
    return true;
  }

  /** Publishers up now in this process: each one is being recorded by Janus. */
  publishersUp(): number {
    let n = 0;
    for (const s of this.#sessions.values()) for (const p of Object.values(s.parties)) if (p.publisher && p.publisherUp) n++;
    return n;
  }

  /** A snapshot for operators and tests: who is where, without secrets. */
  describe(sessionId: string): { roomId: number; roomReady: boolean; parties: Record<Party, { state: PeerState; connected: boolean; publishing: boolean; segment: number }> } | null {
    const s = this.#sessions.get(sessionId);
    if (!s) return null;
    const part = (p: PartySlot) => ({ state: p.state, connected: p.conn !== null, publishing: p.publisherUp, segment: p.segment });
    return { roomId: s.room.id, roomReady: s.roomReady, parties: { teller: part(s.parties.teller), customer: part(s.parties.customer) } };
  }

  /** Appliance shutdown: sockets close with 1001 (browsers reconnect to the next instance), rooms are destroyed. */
  async shutdown(): Promise<void> {
    this.#closed = true;
    for (const conn of [...this.#connections]) this.#retire(conn, CLOSE_CODES.GOING_AWAY, 'server shutting down');
    await Promise.all(
      [...this.#sessions.values()].map(async (s) => {
        for (const slot of Object.values(s.parties)) this.#dropPublisher(s, slot);
        await this.#destroyRoom(s);
      }),
    );
    this.#sessions.clear();
  }

  // ---- sockets ---------------------------------------------------------------------------------------------

  /** Takes over an authenticated WebSocket. Listeners are attached synchronously, so no frame is lost. */
  attach(ws: WebSocket, identity: SignalingIdentity, address: string | null = null): void {
    const rate = this.#opts.rateLimit ?? { burst: 50, ratePerSec: 20 };
    const limits = this.#opts.connectionLimits ?? DEFAULT_CONNECTION_LIMITS;
    const open = [...this.#connections].filter((c) => !c.closed && !c.retired);
    if (address !== null && open.filter((c) => c.address === address).length >= limits.perAddress) {
      ws.send(JSON.stringify({ type: 'error', code: SIGNALING_ERRORS.LIMIT, message: 'too many call connections from this address; try again shortly' }));
      ws.close(CLOSE_CODES.TRY_AGAIN_LATER, 'too many connections');
      return;
    }
    // the same party's older sockets beyond the limit (stale tabs, half-dead reconnects) make way, oldest first
    const same = open.filter((c) => c.identity.sessionId === identity.sessionId && c.identity.party === identity.party);
    for (const old of same.slice(0, Math.max(0, same.length - limits.perParty + 1))) {
      this.#retire(old, CLOSE_CODES.REPLACED, 'replaced by a newer connection');
    }
    const conn: Connection = {
      id: ++this.#connSeq,
      ws,
      identity,
      address,
      session: null,
      retired: false,
      closed: false,
      bucket: new TokenBucket(rate.burst, rate.ratePerSec),
      queue: Promise.resolve(),
      subscriptions: new Map(),
      subscribing: new Set(),
      subSeq: 0,
      stages: new Set(),
    };
    this.#connections.add(conn);
    let alive = true;
    const heartbeat = setInterval(() => {
      if (!alive) {
        ws.terminate();
        return;
      }
      alive = false;
      ws.ping();
    }, this.#opts.heartbeatMs ?? 10_000);
    ws.on('pong', () => {
      alive = true;
    });
    ws.on('message', (data, isBinary) => {
      alive = true;
      this.#receive(conn, data as Buffer | ArrayBuffer | Buffer[], isBinary);
    });
    ws.on('error', (err) => this.#opts.log?.warn({ conn: conn.id, err: err.message }, 'signaling socket error'));
    ws.once('close', () => {
      clearInterval(heartbeat);
      this.#onClose(conn);
    });
    if (this.#closed) this.#retire(conn, CLOSE_CODES.GOING_AWAY, 'server shutting down');
  }

  #receive(conn: Connection, data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    if (conn.closed || conn.retired) return;
    if (!conn.bucket.take()) {
      this.#error(conn, SIGNALING_ERRORS.RATE_LIMITED, 'too many messages');
      // Not retired: the party may reconnect (a flooding bug in one tab should not end the call).
      this.#close(conn, CLOSE_CODES.POLICY, 'rate limit');
      return;
    }
    if (isBinary) {
      this.#error(conn, SIGNALING_ERRORS.MALFORMED, 'binary frames are not part of the protocol');
      return;
    }
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    const parsed = parseClientMessage(buf.byteLength > 1024 * 1024 ? '' : buf.toString('utf8'), buf.byteLength);
    if (!parsed.ok) {
      this.#error(conn, parsed.code, parsed.message, parsed.rid);
      return;
    }
    const msg = parsed.message;
    // One message at a time per socket: publish must be answered before its trickles are relayed.
    conn.queue = conn.queue.then(async () => {
      if (conn.closed || conn.retired) return;
      try {
        await this.#handle(conn, msg);
      } catch (err) {
        const rid = 'rid' in msg ? msg.rid : undefined;
        if (err instanceof Refused) this.#error(conn, err.code, err.message, rid);
        else if (err instanceof JanusRequestError) {
          this.#opts.log?.warn({ conn: conn.id, type: msg.type, err: err.message }, 'janus refused a request');
          this.#error(conn, this.#opts.gateway.isUp() ? SIGNALING_ERRORS.MEDIA_FAILED : SIGNALING_ERRORS.MEDIA_UNAVAILABLE, this.#opts.gateway.isUp() ? `the media server refused the ${msg.type}` : 'the media server is unavailable', rid);
        } else {
          this.#opts.log?.error({ conn: conn.id, type: msg.type, err }, 'signaling handler failed');
          this.#error(conn, SIGNALING_ERRORS.INTERNAL, 'internal error', rid);
        }
      }
    });
  }

  async #handle(conn: Connection, msg: ClientMessage): Promise<void> {
    if (msg.type === 'ping') {
      this.#send(conn, { type: 'pong', ...rid(msg) });
      return;
    }
    if (msg.type === 'join') {
      try {
        await this.#join(conn, msg.rid);
      } catch (err) {
        this.#opts.metrics?.joinStage('socket_connected', false);
        throw err;
      }
      return;
    }
    const session = conn.session;
    if (!session) throw new Refused(SIGNALING_ERRORS.WRONG_STATE, 'join first');
    const slot = session.parties[conn.identity.party];
    switch (msg.type) {
      case 'publish':
        await this.#publish(conn, session, slot, msg);
        return;
      case 'subscribe': {
        const source = session.parties[otherParty(slot.party)];
        if (!source.publisher || !source.publisherUp) throw new Refused(SIGNALING_ERRORS.WRONG_STATE, 'the other party is not sending media');
        for (const [id, sub] of conn.subscriptions) {
          if (sub.source === source.publisher) this.#endSubscription(conn, id);
        }
        await this.#offerFeed(session, conn, source, msg.rid);
        return;
      }
      case 'answer': {
        const sub = conn.subscriptions.get(msg.subscription);
        if (!sub) throw new Refused(SIGNALING_ERRORS.UNKNOWN_HANDLE, 'no such subscription');
        await sub.subscriber.start(msg.jsep);
        return;
      }
      case 'trickle': {
        const handle = msg.pc === PUBLISHER_PC ? slot.publisher : conn.subscriptions.get(msg.pc)?.subscriber;
        if (!handle || (msg.pc === PUBLISHER_PC && slot.conn !== conn)) throw new Refused(SIGNALING_ERRORS.UNKNOWN_HANDLE, `no peer connection "${msg.pc}"`);
        await handle.trickle(msg.candidate);
        return;
      }
      case 'restart-ice': {
        if (msg.pc === PUBLISHER_PC) {
          if (!slot.publisher || !msg.jsep) throw new Refused(SIGNALING_ERRORS.UNKNOWN_HANDLE, 'nothing published');
          const answer = await slot.publisher.renegotiate(msg.jsep);
          this.#send(conn, { type: 'published', ...rid(msg), jsep: { type: 'answer', sdp: answer.sdp } });
          return;
        }
        const sub = conn.subscriptions.get(msg.pc);
        if (!sub) throw new Refused(SIGNALING_ERRORS.UNKNOWN_HANDLE, 'no such subscription');
        const offer = await sub.subscriber.restartIce();
        this.#send(conn, { type: 'remote-offer', ...rid(msg), subscription: msg.pc, party: otherParty(slot.party), jsep: { type: 'offer', sdp: offer.sdp }, restart: true });
        return;
      }
      case 'chat': {
        // Numbers go on from the stored conversation; without it (not readable now) the chat is refused rather than
        // numbered again from 1, which the browsers would drop as duplicates.
        if (!(await this.#loadChat(session))) throw new Refused(SIGNALING_ERRORS.REFUSED, 'the conversation so far could not be read; try again');
        // Taken before the await so that both parties' messages get distinct numbers; a refused one leaves a gap.
        const seq = ++session.chatSeq;
        await this.#action(conn, 'chat', { seq, text: msg.text });
        const at = new Date().toISOString();
        const entry = { seq, from: slot.party, text: msg.text, at };
        // in number order (the two parties' messages may be recorded in either order)
        let i = session.chat.length;
        while (i > 0 && session.chat[i - 1]!.seq > seq) i -= 1;
        session.chat.splice(i, 0, entry);
        if (session.chat.length > MAX_CHAT_HISTORY) session.chat.splice(0, session.chat.length - MAX_CHAT_HISTORY);
        for (const p of PARTIES) {
          const c = session.parties[p].conn;
          if (c) this.#send(c, { type: 'chat', ...(c === conn ? rid(msg) : {}), seq, from: slot.party, text: msg.text, at });
        }
        return;
      }
      case 'media-state': {
        const before = slot.media;
        const type = msg.screen && !before.screen ? 'screen-share-start' : !msg.screen && before.screen ? 'screen-share-stop' : 'media-state';
        const media = { audio: msg.audio, video: msg.video, screen: msg.screen };
        await this.#action(conn, type, media);
        slot.media = media;
        const other = session.parties[otherParty(slot.party)].conn;
        if (other) this.#send(other, { type: 'media-state', party: slot.party, ...media });
        return;
      }
      case 'leave': {
        try {
          await this.#action(conn, 'leave', { reason: 'left' });
        } catch (err) {
          // Leaving cannot be refused: the person is gone either way.
          this.#opts.log?.error({ session: session.id, party: slot.party, err }, 'leave event not recorded');
        }
        this.#partyLeft(session, slot);
        this.#retire(conn, CLOSE_CODES.NORMAL, 'left');
        return;
      }
      case 'quality': {
        // the browser's getStats summary: operators' metrics only, nothing recorded or relayed
        const { type: _t, rid: _r, stages, ...summary } = msg;
        for (const [stage, ok] of Object.entries(stages ?? {}) as [BrowserJoinStage, boolean][]) {
          if (conn.stages.has(stage)) continue;
          conn.stages.add(stage);
          this.#opts.metrics?.joinStage(stage, ok);
        }
        // the selected candidate type counts once per socket, like the stages
        if (summary.candidate && conn.stages.has('candidate')) delete summary.candidate;
        else if (summary.candidate) conn.stages.add('candidate');
        this.#opts.metrics?.browserQuality(slot.party, summary);
        const { candidate: _c, ...figures } = summary;
        this.#opts.quality?.browser(session.id, slot.party, figures);
        // the teller sees both parties' network quality live
        const teller = session.parties.teller.conn;
        if (teller) {
          const r = (x: number | undefined, k = 1) => (x === undefined ? null : Math.round(x * k * 10) / 10);
          this.#send(teller, { type: 'link-quality', party: slot.party, lossPct: r(summary.lossRatio, 100), rttMs: r(summary.rttMs), bitrateKbps: r(summary.bitrateBps, 1 / 1000) });
        }
        return;
      }
    }
  }

  async #join(conn: Connection, requestId: number | undefined): Promise<void> {
    if (conn.session) throw new Refused(SIGNALING_ERRORS.WRONG_STATE, 'already joined');
    const { sessionId, party } = conn.identity;
    if (this.#ended.has(sessionId)) {
      this.#send(conn, { type: 'ended', reason: 'the session has ended' });
      this.#retire(conn, CLOSE_CODES.ENDED, 'session ended');
      return;
    }
    const session = this.#session(sessionId);
    const slot = session.parties[party];
    if (slot.joins >= SIGNALING_LIMITS.maxJoinsPerParty) {
      throw new Refused(SIGNALING_ERRORS.LIMIT, `This call has been rejoined ${slot.joins} times, the most one session allows; the teller must end it and start a new session.`);
    }
    const reconnect = slot.joins > 0;
    await this.#action(conn, reconnect ? 'reconnect' : 'join', { previous: slot.state });
    if (conn.closed || session.ended) return;
    const previous = slot.conn;
    if (previous && previous !== conn) {
      // The same party on a new socket (a reconnect, or a second tab): the newer one wins.
      slot.conn = null;
      this.#retire(previous, CLOSE_CODES.REPLACED, 'replaced by a newer connection');
    }
    this.#dropPublisher(session, slot);
    if (slot.graceTimer) clearTimeout(slot.graceTimer);
    slot.graceTimer = null;
    slot.conn = conn;
    slot.actor = conn.identity.actor;
    slot.joins += 1;
    conn.session = session;
    const other = session.parties[otherParty(party)];
    this.#setState(session, slot, 'joined');
    slot.joinedAt = Date.now();
    this.#opts.metrics?.joinStage('socket_connected', true);
    if (this.#opts.gateway.isUp()) {
      await this.#ensureRoom(session).catch((err) => this.#opts.log?.warn({ session: session.id, err: (err as Error).message }, 'room not ready at join'));
    }
    await this.#loadChat(session);
    this.#send(conn, {
      type: 'joined',
      ...(requestId !== undefined ? { rid: requestId } : {}),
      party,
      peer: { party: other.party, state: other.state },
      janus: this.#opts.gateway.isUp() ? 'up' : 'down',
      iceServers: this.#opts.iceServers ?? [],
      reconnected: reconnect,
    });
    // the conversation so far (a party that reloads or reconnects sees it again; clients keep one copy per number)
    for (const c of session.chat) this.#send(conn, { type: 'chat', ...c });
    if (session.mode !== 'video') this.#send(conn, { type: 'call-mode', mode: session.mode, reason: session.modeReason });
    if (other.publisher && other.publisherUp) void this.#offerFeed(session, conn, other);
  }

  /**
   * Reads the session's stored chat once (true when it is known). A failure is logged and tried again at the next
   * join or message; meanwhile the call goes on and the joining party simply gets no history.
   */
  #loadChat(session: CallSession): Promise<boolean> {
    const source = this.#opts.chatHistory;
    if (!source) return Promise.resolve(true);
    session.chatLoaded ??= source(session.id).then(
      (stored) => {
        const seen = new Set(session.chat.map((c) => c.seq));
        session.chat = [...stored.messages.filter((c) => !seen.has(c.seq)), ...session.chat].sort((a, b) => a.seq - b.seq).slice(-MAX_CHAT_HISTORY);
        session.chatSeq = Math.max(session.chatSeq, stored.lastSeq);
        return true;
      },
      (err: unknown) => {
        this.#opts.log?.warn({ session: session.id, err: (err as Error).message }, 'chat history not loaded');
        session.chatLoaded = null;
        return false;
      },
    );
    return session.chatLoaded;
  }

  async #publish(conn: Connection, session: CallSession, slot: PartySlot, msg: Extract<ClientMessage, { type: 'publish' }>): Promise<void> {
    if (slot.conn !== conn) throw new Refused(SIGNALING_ERRORS.WRONG_STATE, 'not the party\'s current connection');
    if (!this.#opts.gateway.isUp()) throw new Refused(SIGNALING_ERRORS.MEDIA_UNAVAILABLE, 'the media server is unavailable');
    await this.#ensureRoom(session);
    // Every publish is a new, numbered segment; numbers already on disk (from before an appliance restart) are
    // skipped so that Janus never overwrites a recording.
    const segment = Math.max(slot.segment, await highestSegment(session.room.recDir, slot.party)) + 1;
    if (segment > MAX_SEGMENT) {
      throw new Refused(SIGNALING_ERRORS.LIMIT, `This call already has ${MAX_SEGMENT} recordings of the ${slot.party}, the most one session allows; the teller must end it and start a new session.`);
    }
    const recording = recordingBaseName(slot.party, segment);
    await this.#action(conn, 'publish', { segment, recording, recordingDir: session.room.recDir, audio: msg.audio, video: msg.video });
    if (conn.closed || slot.conn !== conn) return;
    this.#dropPublisher(session, slot);
    slot.segment = segment;
    const { publisher, answer } = await this.#opts.gateway.publish({
      room: session.room.id,
      pin: session.room.pin,
      display: slot.party,
      offer: msg.jsep,
      audio: msg.audio,
      video: msg.video,
      filename: recording,
      onHandle: (p) => this.#wirePublisher(session, slot, conn, p),
    });
    if (conn.closed || slot.conn !== conn || session.ended) {
      await publisher.detach();
      return;
    }
    slot.publisher = publisher;
    slot.publisherUp = false;
    this.#send(conn, { type: 'published', ...rid(msg), jsep: { type: 'answer', sdp: answer.sdp } });
  }

  #wirePublisher(session: CallSession, slot: PartySlot, conn: Connection, publisher: Publisher): void {
    publisher.on('trickle', (candidate) => this.#send(conn, { type: 'trickle', pc: PUBLISHER_PC, candidate }));
    publisher.on('slowlink', (info) => {
      this.#opts.metrics?.slowlink(slot.party);
      this.#opts.quality?.slowlink(session.id, slot.party, info);
      this.#send(conn, { type: 'network', pc: PUBLISHER_PC, uplink: info.uplink, lost: info.lost });
    });
    publisher.on('webrtcup', () => {
      if (slot.publisher !== publisher) return;
      slot.publisherUp = true;
      // Janus records a publisher from its first packet: media up at Janus is the recording started
      this.#opts.metrics?.joinStage('recording_started', true);
      if (slot.joinedAt !== null) {
        this.#opts.metrics?.joinCompleted((Date.now() - slot.joinedAt) / 1000);
        slot.joinedAt = null;
      }
      this.#setState(session, slot, 'media-up');
      this.#fact(session, slot, 'media-up', { segment: slot.segment });
      this.#opts.quality?.media(session.id, slot.party, true);
      const viewer = session.parties[otherParty(slot.party)].conn;
      if (viewer) void this.#offerFeed(session, viewer, slot);
    });
    // Janus stops receiving audio when the browser's network drops: the other side sees "reconnecting".
    publisher.on('media', ({ type, receiving }) => {
      if (slot.publisher !== publisher || type !== 'audio') return;
      this.#opts.quality?.media(session.id, slot.party, receiving);
      if (!receiving && slot.state === 'media-up') this.#setState(session, slot, 'reconnecting');
      else if (receiving && slot.state === 'reconnecting' && slot.conn === conn) this.#setState(session, slot, 'media-up');
    });
    const gone = () => {
      if (slot.publisher !== publisher) return;
      this.#opts.quality?.media(session.id, slot.party, false);
      this.#dropPublisher(session, slot);
      if (slot.conn === conn && slot.state === 'media-up') this.#setState(session, slot, 'joined');
    };
    publisher.on('hangup', gone);
    publisher.on('detached', gone);
  }

  /** Subscribes `conn` to `source`'s publisher and sends the offer. */
  async #offerFeed(session: CallSession, conn: Connection, source: PartySlot, requestId?: number): Promise<void> {
    const publisher = source.publisher;
    if (!publisher || conn.closed || conn.retired || !this.#opts.gateway.isUp()) return;
    if (conn.subscribing.has(publisher) || [...conn.subscriptions.values()].some((s) => s.source === publisher)) return;
    conn.subscribing.add(publisher);
    const id = `s${++conn.subSeq}`;
    try {
      const { subscriber, offer } = await this.#opts.gateway.subscribe({
        room: session.room.id,
        pin: session.room.pin,
        feed: publisher.feed,
        privateId: publisher.privateId,
        onHandle: (sub) => {
          sub.on('trickle', (candidate) => this.#send(conn, { type: 'trickle', pc: id, candidate }));
          sub.on('detached', () => {
            if (conn.subscriptions.get(id)?.subscriber === sub) this.#endSubscription(conn, id);
          });
        },
      });
      if (conn.closed || conn.retired || source.publisher !== publisher) {
        await subscriber.detach();
        return;
      }
      conn.subscriptions.set(id, { subscriber, source: publisher });
      this.#send(conn, { type: 'remote-offer', ...(requestId !== undefined ? { rid: requestId } : {}), subscription: id, party: source.party, jsep: { type: 'offer', sdp: offer.sdp }, restart: false });
    } catch (err) {
      const e = err as JanusRequestError;
      // The feed vanished meanwhile (the other party reconnects): its next webrtcup offers it again.
      if (e.code !== VIDEOROOM_ERROR.NO_SUCH_FEED) this.#opts.log?.warn({ session: session.id, err: e.message }, 'subscription failed');
      if (requestId !== undefined) throw err;
    } finally {
      conn.subscribing.delete(publisher);
    }
  }

  #endSubscription(conn: Connection, id: string): void {
    const sub = conn.subscriptions.get(id);
    if (!sub) return;
    conn.subscriptions.delete(id);
    void sub.subscriber.detach();
    this.#send(conn, { type: 'remote-ended', subscription: id });
  }

  /** Releases a party's publisher and every subscription to it. */
  #dropPublisher(session: CallSession, slot: PartySlot): void {
    const publisher = slot.publisher;
    if (!publisher) return;
    slot.publisher = null;
    slot.publisherUp = false;
    const viewer = session.parties[otherParty(slot.party)].conn;
    if (viewer) {
      for (const [id, sub] of viewer.subscriptions) if (sub.source === publisher) this.#endSubscription(viewer, id);
    }
    void publisher.detach();
  }

  /** Idempotent: runs when we close a socket and again when its close event arrives. */
  #onClose(conn: Connection): void {
    if (conn.closed) return;
    conn.closed = true;
    this.#connections.delete(conn);
    for (const id of [...conn.subscriptions.keys()]) {
      const sub = conn.subscriptions.get(id);
      conn.subscriptions.delete(id);
      void sub?.subscriber.detach();
    }
    const session = conn.session;
    if (!session || conn.retired) return;
    const slot = session.parties[conn.identity.party];
    if (slot.conn !== conn) return;
    // The socket dropped without a leave: the party may come back with the same credentials.
    slot.conn = null;
    this.#dropPublisher(session, slot);
    this.#setState(session, slot, 'reconnecting');
    this.#fact(session, slot, 'disconnect', {});
    slot.graceTimer = setTimeout(() => {
      slot.graceTimer = null;
      if (slot.conn || session.ended || slot.state !== 'reconnecting') return;
      this.#fact(session, slot, 'timeout', {});
      this.#partyLeft(session, slot);
    }, this.reconnectGraceMs);
    slot.graceTimer.unref();
  }

  #partyLeft(session: CallSession, slot: PartySlot): void {
    if (slot.graceTimer) clearTimeout(slot.graceTimer);
    slot.graceTimer = null;
    const conn = slot.conn;
    slot.conn = null;
    if (conn) {
      conn.retired = true;
      this.#onClose(conn);
    }
    this.#dropPublisher(session, slot);
    this.#setState(session, slot, 'left');
    const anyoneLeft = PARTIES.some((p) => ['joined', 'reconnecting', 'media-up'].includes(session.parties[p].state));
    if (!anyoneLeft) {
      this.#sessions.delete(session.id);
      void this.#destroyRoom(session);
      if (!session.ended && this.#opts.onAbandoned) {
        this.#opts.onAbandoned(session.id).catch((err: unknown) => this.#opts.log?.error({ session: session.id, err }, 'abandoned session not ended'));
      }
    }
  }

  /** Closes a socket whose party is accounted for elsewhere (replaced, left, ended): nothing else changes. */
  #retire(conn: Connection, code: number, reason: string): void {
    conn.retired = true;
    this.#close(conn, code, reason);
  }

  /** Closes a socket now; unless retired, its party becomes `reconnecting` as if the network had dropped. */
  #close(conn: Connection, code: number, reason: string): void {
    this.#onClose(conn);
    try {
      conn.ws.close(code, reason);
    } catch {
      conn.ws.terminate();
    }
  }

  // ---- Janus going away and coming back ----------------------------------------------------------------

  #janusDown(): void {
    for (const session of this.#sessions.values()) {
      session.roomReady = false;
      session.roomPending = null;
      for (const slot of Object.values(session.parties)) {
        // The handles died with the connection; only our records remain to be cleared.
        const conn = slot.conn;
        slot.publisher = null;
        slot.publisherUp = false;
        if (conn) {
          conn.subscriptions.clear();
          if (slot.state === 'media-up') slot.state = 'joined';
        }
      }
    }
    for (const conn of this.#connections) this.#send(conn, { type: 'janus-state', state: 'down' });
  }

  async #janusUp(): Promise<void> {
    await Promise.all(
      [...this.#sessions.values()].map(async (session) => {
        if (PARTIES.some((p) => session.parties[p].conn)) {
          await this.#ensureRoom(session).catch((err) => this.#opts.log?.error({ session: session.id, err: (err as Error).message }, 'room not recreated'));
        }
      }),
    );
    for (const conn of this.#connections) this.#send(conn, { type: 'janus-state', state: 'up' });
  }

  #markEnded(sessionId: string): void {
    this.#ended.add(sessionId);
    // Bounded: the app's authenticate() is the real gate; this only catches a race with the hang-up.
    if (this.#ended.size > 10_000) this.#ended.delete(this.#ended.values().next().value as string);
  }

  // ---- rooms ---------------------------------------------------------------------------------------------

  #session(sessionId: string, roomId?: number): CallSession {
    let s = this.#sessions.get(sessionId);
    if (s) return s;
    const slot = (party: Party): PartySlot => ({
      party,
      state: 'absent',
      conn: null,
      actor: {},
      joins: 0,
      segment: 0,
      publisher: null,
      publisherUp: false,
      media: { audio: true, video: true, screen: false },
      graceTimer: null,
      joinedAt: null,
    });
    s = {
      id: sessionId,
      room: {
        // Room ids are numbers in Janus; random so that one cannot be guessed from another.
        id: roomId ?? randomInt(1, 2 ** 47),
        secret: randomBytes(24).toString('base64url'),
        pin: randomBytes(24).toString('base64url'),
        recDir: this.#opts.recordingDir(sessionId),
      },
      roomReady: false,
      roomPending: null,
      parties: { teller: slot('teller'), customer: slot('customer') },
      chatSeq: 0,
      chat: [],
      chatLoaded: null,
      ended: false,
      mode: 'video',
      modeReason: 'recovered',
    };
    this.#sessions.set(sessionId, s);
    return s;
  }

  #ensureRoom(session: CallSession): Promise<void> {
    if (session.roomReady) return Promise.resolve();
    session.roomPending ??= (async () => {
      try {
        await createSessionSpoolDir(session.room.recDir, this.#opts.recordingGroupAccess ?? false);
        await this.#opts.gateway.createRoom({ room: session.room.id, secret: session.room.secret, pin: session.room.pin, recDir: session.room.recDir, record: true });
        session.roomReady = true;
      } finally {
        session.roomPending = null;
      }
    })();
    return session.roomPending;
  }

  async #destroyRoom(session: CallSession): Promise<void> {
    const wasReady = session.roomReady;
    session.roomReady = false;
    if (!wasReady || !this.#opts.gateway.isUp()) return;
    try {
      await this.#opts.gateway.destroyRoom(session.room.id, session.room.secret);
    } catch (err) {
      this.#opts.log?.warn({ session: session.id, err: (err as Error).message }, 'room not destroyed');
    }
  }

  // ---- output ----------------------------------------------------------------------------------------------

  #setState(session: CallSession, slot: PartySlot, state: PeerState): void {
    slot.state = state;
    const other = session.parties[otherParty(slot.party)].conn;
    if (other) this.#send(other, { type: 'peer-state', party: slot.party, state });
  }

  async #action(conn: Connection, type: SignalingEventType, data: Record<string, unknown>): Promise<void> {
    if (!this.#opts.onEvent) return;
    const { sessionId, party, actor } = conn.identity;
    try {
      await this.#opts.onEvent({ sessionId, party, actor, type, data, at: new Date() });
    } catch (err) {
      this.#opts.log?.warn({ session: sessionId, party, type, err: (err as Error).message }, 'signaling action refused');
      throw new Refused(SIGNALING_ERRORS.REFUSED, `the ${type} could not be recorded`);
    }
  }

  #systemFact(session: CallSession, type: SignalingEventType, data: Record<string, unknown>): void {
    if (!this.#opts.onEvent) return;
    this.#opts
      .onEvent({ sessionId: session.id, party: 'system', actor: { kind: 'system' }, type, data, at: new Date() })
      .catch((err) => this.#opts.log?.error({ session: session.id, type, err }, 'signaling event not recorded'));
  }

  #fact(session: CallSession, slot: PartySlot, type: SignalingEventType, data: Record<string, unknown>): void {
    if (!this.#opts.onEvent) return;
    this.#opts
      .onEvent({ sessionId: session.id, party: slot.party, actor: slot.actor, type, data, at: new Date() })
      .catch((err) => this.#opts.log?.error({ session: session.id, party: slot.party, type, err }, 'signaling event not recorded'));
  }

  #send(conn: Connection, msg: ServerMessage): void {
    const ws = conn.ws;
    if (ws.readyState !== WS_OPEN) return;
    if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      ws.terminate();
      return;
    }
    ws.send(JSON.stringify(msg));
  }

  #error(conn: Connection, code: SignalingErrorCode, message: string, requestId?: number): void {
    this.#send(conn, { type: 'error', ...(requestId !== undefined ? { rid: requestId } : {}), code, message });
  }
}

/** One naming rule for the hub (which names what Janus writes) and the sealer (which reads it). */
export const recordingBaseName = streamBaseName;

async function highestSegment(dir: string, party: Party): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  // the sealer's naming rule, so that what the hub counts is what the sealer will find
  return names.reduce((max, name) => {
    const f = parseStreamFileName(name);
    return f && f.party === party ? Math.max(max, f.segment) : max;
  }, 0);
}

function rid(msg: { rid?: number }): { rid?: number } {
  return msg.rid !== undefined ? { rid: msg.rid } : {};
}
