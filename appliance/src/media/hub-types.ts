// The signaling hub's vocabulary: what the app hands it and hears from it, and the records it keeps per call session
// (its room and the two parties) and per WebSocket connection (its subscriptions). Shared by the hub's modules.
import type { WebSocket } from 'ws';
import type { GatewayLogger, MediaRooms, RoomPublisher, RoomSubscriber } from './media-rooms.js';
import type { CallMode, CallModeReason, IceServer, Party, PeerState, QualitySummary, SignalingErrorCode } from './protocol.js';
import type { TokenBucket } from './token-bucket.js';
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
  'join' | 'reconnect' | 'publish' | 'media-up' | 'chat' | 'media-state' | 'screen-share-start' | 'screen-share-stop' | 'leave' | 'disconnect' | 'timeout' | 'call-mode';

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

export interface SignalingHubOptions {
  /** the media server (JanusGateway in the appliance) */
  gateway: MediaRooms;
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

export interface Room {
  id: number;
  secret: string;
  pin: string;
  recDir: string;
}

export interface PartySlot {
  party: Party;
  state: PeerState;
  conn: Connection | null;
  actor: Record<string, string>;
  joins: number;
  /** publish count: every (re)publish starts a new recording segment */
  segment: number;
  publisher: RoomPublisher | null;
  publisherUp: boolean;
  media: { audio: boolean; video: boolean; screen: boolean };
  graceTimer: NodeJS.Timeout | null;
  /** when the current socket joined, until its first media up (the join time metric) */
  joinedAt: number | null;
}

export interface CallSession {
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

export interface Subscription {
  subscriber: RoomSubscriber;
  /** whose publisher it receives */
  source: RoomPublisher;
}

export interface Connection {
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
  subscribing: Set<RoomPublisher>;
  subSeq: number;
  /** browser join stages this socket already reported (each counts once) */
  stages: Set<string>;
}

/** A party's request the hub turns down: the browser gets an `error` with this code, the socket stays. */
export class Refused extends Error {
  constructor(
    readonly code: SignalingErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The `rid` of a request, to echo in its answer. */
export function rid(msg: { rid?: number }): { rid?: number } {
  return msg.rid !== undefined ? { rid: msg.rid } : {};
}
