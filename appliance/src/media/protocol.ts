// The signaling protocol between a browser and the appliance (see PROTOCOL.md), typed once and shared: the
// appliance's relay and the web call client both import this file. Pure TypeScript without imports, so
// that it bundles into the browser as it is.

export const SIGNALING_PATH = '/api/signaling';
export const SIGNALING_SUBPROTOCOL = 'kyc-signaling.v1';

export const SIGNALING_LIMITS = {
  /** a larger text frame is refused with TOO_LARGE */
  maxMessageBytes: 64 * 1024,
  maxSdpChars: 48 * 1024,
  maxCandidateChars: 1024,
  maxChatChars: 2000,
  /** audio and video m-lines in one description */
  maxMediaSections: 4,
  /** joins of one party to one session (the first and every reconnection); further ones are refused with LIMIT */
  maxJoinsPerParty: 50,
} as const;

export type Party = 'teller' | 'customer';
export const PARTIES: readonly Party[] = ['teller', 'customer'];
export const otherParty = (p: Party): Party => (p === 'teller' ? 'customer' : 'teller');

/** What one party learns about the other. `absent`: never joined yet. */
export type PeerState = 'absent' | 'joined' | 'reconnecting' | 'media-up' | 'left';
export type JanusState = 'up' | 'down';

export interface SessionDescription {
  type: 'offer' | 'answer';
  sdp: string;
}

export interface Candidate {
  candidate: string;
  sdpMid: string | null;
  sdpMLineIndex: number | null;
}

/** `'publisher'` or a subscription id given by the appliance in `remote-offer`. */
export type PeerConnectionRef = string;
export const PUBLISHER_PC = 'publisher';

export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

// ---- browser → appliance -------------------------------------------------------------------------------
// `rid` (optional, 0..2^31-1) is echoed by the reply or error that answers the message.

export type ClientMessage =
  | { type: 'join'; rid?: number }
  | { type: 'publish'; rid?: number; jsep: SessionDescription & { type: 'offer' }; audio: boolean; video: boolean }
  | { type: 'subscribe'; rid?: number }
  | { type: 'answer'; rid?: number; subscription: string; jsep: SessionDescription & { type: 'answer' } }
  | { type: 'trickle'; rid?: number; pc: PeerConnectionRef; candidate: Candidate | null }
  | { type: 'restart-ice'; rid?: number; pc: PeerConnectionRef; jsep?: SessionDescription & { type: 'offer' } }
  | { type: 'chat'; rid?: number; text: string }
  | { type: 'media-state'; rid?: number; audio: boolean; video: boolean; screen: boolean }
  | { type: 'leave'; rid?: number }
  | { type: 'ping'; rid?: number }
  | ({ type: 'quality'; rid?: number } & QualitySummary);

/** Join stages only the browser sees; it reports each once per socket (ok or failed). */
export const BROWSER_JOIN_STAGES = ['page_loaded', 'media_allowed', 'ice_connected', 'media_flowing'] as const;
export type BrowserJoinStage = (typeof BROWSER_JOIN_STAGES)[number];
export const CANDIDATE_TYPES = ['host', 'srflx', 'prflx', 'relay'] as const;

/**
 * A browser's getStats summary, sent every few seconds while in a call (`quality`): what it receives (loss, jitter,
 * bitrate, the remote video's size and frame rate), its round-trip time and its selected candidate type, and the
 * join stages reached or failed since the last one. Every field optional; numbers bounded.
 */
export interface QualitySummary {
  stages?: Partial<Record<BrowserJoinStage, boolean>>;
  rttMs?: number;
  jitterMs?: number;
  lossRatio?: number;
  bitrateBps?: number;
  width?: number;
  height?: number;
  fps?: number;
  candidate?: (typeof CANDIDATE_TYPES)[number];
  /** the browser's bandwidth estimate for what it sends (availableOutgoingBitrate of its publisher), kbit/s */
  availableKbps?: number;
  /** freezes of the video it receives since its last summary (the growth of inbound-rtp freezeCount) */
  freezes?: number;
}

/**
 * What the call carries now (degrade, don't drop): `video`; `audio` only (the link cannot sustain video: both
 * browsers stop sending video until the appliance steps back up); `chat` (a party's media stopped: both go on in
 * the chat while it reconnects).
 */
export const CALL_MODES = ['video', 'audio', 'chat'] as const;
export type CallMode = (typeof CALL_MODES)[number];
/** why the call stepped: loss, bandwidth, slowlink (down to audio), recovered (up to video), media-lost, media-back */
export type CallModeReason = 'loss' | 'bandwidth' | 'slowlink' | 'recovered' | 'media-lost' | 'media-back';

export type ClientMessageType = ClientMessage['type'];

// ---- appliance → browser -------------------------------------------------------------------------------

export type ServerMessage =
  | { type: 'joined'; rid?: number; party: Party; peer: { party: Party; state: PeerState }; janus: JanusState; iceServers: IceServer[]; reconnected: boolean }
  | { type: 'published'; rid?: number; jsep: SessionDescription & { type: 'answer' } }
  | { type: 'remote-offer'; rid?: number; subscription: string; party: Party; jsep: SessionDescription & { type: 'offer' }; restart: boolean }
  | { type: 'remote-ended'; subscription: string }
  | { type: 'trickle'; pc: PeerConnectionRef; candidate: Candidate | null }
  | { type: 'peer-state'; party: Party; state: PeerState }
  | { type: 'media-state'; party: Party; audio: boolean; video: boolean; screen: boolean }
  | { type: 'chat'; rid?: number; seq: number; from: Party; text: string; at: string }
  | { type: 'janus-state'; state: JanusState }
  | { type: 'network'; pc: PeerConnectionRef; uplink: boolean; lost: number }
  | { type: 'call-mode'; mode: CallMode; reason: CallModeReason }
  /** to the teller: a party's latest getStats summary (both parties' network quality, live) */
  | { type: 'link-quality'; party: Party; lossPct: number | null; rttMs: number | null; bitrateKbps: number | null }
  | { type: 'pong'; rid?: number }
  | { type: 'ended'; reason: string }
  | { type: 'error'; rid?: number; code: SignalingErrorCode; message: string }
  | CaptureRequestMessage
  | { type: 'kyc-update'; what: KycUpdateKind };

/** What the appliance asks the customer's browser to take from its own camera track (identity checks). */
export type CapturePurpose = 'id-front' | 'id-back' | 'face' | 'liveness';
import type { ChallengeKind as LivenessChallengeKind } from '../domain/vocabulary.js';
export { CHALLENGE_KINDS as LIVENESS_CHALLENGE_KINDS } from '../domain/vocabulary.js';
export type { LivenessChallengeKind };

/**
 * To the customer: take `frames` full-resolution stills (for liveness: key frames while following the challenge) and
 * send them to `POST /api/sessions/:id/identity/captures/:requestId`.
 */
export interface CaptureRequestMessage {
  type: 'capture-request';
  requestId: string;
  purpose: CapturePurpose;
  frames: number;
  challenge?: { kind: LivenessChallengeKind; position: number; of: number; digits?: string };
}

/** To the teller: identity evidence changed (a still arrived, a comparison or a challenge finished); read it again. */
export type KycUpdateKind = 'capture' | 'face' | 'liveness' | 'script';

export type ServerMessageType = ServerMessage['type'];

export const SIGNALING_ERRORS = {
  /** frame larger than SIGNALING_LIMITS.maxMessageBytes */
  TOO_LARGE: 'KYC_ERR_SIGNAL_TOO_LARGE',
  /** not a JSON object in a text frame */
  MALFORMED: 'KYC_ERR_SIGNAL_MALFORMED',
  UNKNOWN_TYPE: 'KYC_ERR_SIGNAL_UNKNOWN_TYPE',
  /** a field is missing, has the wrong type, or is not expected */
  INVALID: 'KYC_ERR_SIGNAL_INVALID',
  BAD_SDP: 'KYC_ERR_SIGNAL_BAD_SDP',
  BAD_CANDIDATE: 'KYC_ERR_SIGNAL_BAD_CANDIDATE',
  /** the message does not fit the connection's state (e.g. publish before join) */
  WRONG_STATE: 'KYC_ERR_SIGNAL_WRONG_STATE',
  /** the peer connection or subscription named does not exist */
  UNKNOWN_HANDLE: 'KYC_ERR_SIGNAL_UNKNOWN_HANDLE',
  /** too many frames; the socket is closed (1008) */
  RATE_LIMITED: 'KYC_ERR_SIGNAL_RATE_LIMITED',
  /** the appliance refused the action (it could not be recorded in the audit log) */
  REFUSED: 'KYC_ERR_SIGNAL_REFUSED',
  UNAUTHENTICATED: 'KYC_ERR_UNAUTHENTICATED',
  FORBIDDEN_ORIGIN: 'KYC_ERR_FORBIDDEN_ORIGIN',
  /** the media server is down; chat still works */
  MEDIA_UNAVAILABLE: 'KYC_ERR_MEDIA_UNAVAILABLE',
  /** the media server rejected the request */
  MEDIA_FAILED: 'KYC_ERR_MEDIA_FAILED',
  /** the session has had as many reconnections or recordings as it may have: end it and start a new one */
  LIMIT: 'KYC_ERR_SIGNAL_LIMIT',
  INTERNAL: 'KYC_ERR_INTERNAL',
} as const;
export type SignalingErrorCode = (typeof SIGNALING_ERRORS)[keyof typeof SIGNALING_ERRORS];

export const CLOSE_CODES = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  /** flooding or another protocol abuse */
  POLICY: 1008,
  /** frame above the WebSocket server's maxPayload */
  TOO_BIG: 1009,
  INTERNAL: 1011,
  /** too many connections for now; reconnect later */
  TRY_AGAIN_LATER: 1013,
  /** the same party connected again elsewhere; this socket is obsolete */
  REPLACED: 4001,
  /** the session is over (hang-up); do not reconnect */
  ENDED: 4002,
  UNAUTHENTICATED: 4401,
  FORBIDDEN: 4403,
} as const;

/** Close codes after which the client must not reconnect. */
export const FINAL_CLOSE_CODES: readonly number[] = [CLOSE_CODES.NORMAL, CLOSE_CODES.REPLACED, CLOSE_CODES.ENDED, CLOSE_CODES.UNAUTHENTICATED, CLOSE_CODES.FORBIDDEN];

export type ParseResult<T> = { ok: true; message: T } | { ok: false; code: SignalingErrorCode; message: string; rid?: number };

type Obj = Record<string, unknown>;

class Invalid extends Error {
  constructor(
    readonly code: SignalingErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function only(o: Obj, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new Invalid(SIGNALING_ERRORS.INVALID, `unexpected field "${k}"`);
  }
}

function bool(o: Obj, k: string): boolean {
  const v = o[k];
  if (typeof v !== 'boolean') throw new Invalid(SIGNALING_ERRORS.INVALID, `"${k}" must be true or false`);
  return v;
}

function ridOf(o: Obj): { rid?: number } {
  const v = o.rid;
  if (v === undefined) return {};
  if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 0x7fffffff) throw new Invalid(SIGNALING_ERRORS.INVALID, '"rid" must be an integer 0..2^31-1');
  return { rid: v as number };
}

const SUBSCRIPTION_ID = /^s[0-9]{1,9}$/;

function pcRef(o: Obj, k: string): PeerConnectionRef {
  const v = o[k];
  if (typeof v !== 'string' || !(v === PUBLISHER_PC || SUBSCRIPTION_ID.test(v))) throw new Invalid(SIGNALING_ERRORS.INVALID, `"${k}" must be "publisher" or a subscription id`);
  return v;
}

function subscriptionId(o: Obj, k: string): string {
  const v = o[k];
  if (typeof v !== 'string' || !SUBSCRIPTION_ID.test(v)) throw new Invalid(SIGNALING_ERRORS.INVALID, `"${k}" must be a subscription id`);
  return v;
}

const SDP_LINE = /^[a-z]=[\x20-\x7e]*$/;
const M_LINE = /^m=(\S+) (\d{1,5})(?:\/\d+)? (\S+)((?: \S+)*)$/;

/**
 * Checks an SDP from a browser before it goes anywhere near Janus: size, plain ASCII lines of the form
 * `x=...`, starts with `v=0`, has ICE credentials and a DTLS fingerprint, and only audio/video m-lines.
 * Returns null when it is acceptable, else the reason.
 */
export function checkSdp(sdp: unknown): string | null {
  if (typeof sdp !== 'string') return 'sdp must be a string';
  if (sdp.length > SIGNALING_LIMITS.maxSdpChars) return `sdp longer than ${SIGNALING_LIMITS.maxSdpChars} characters`;
  if (!/^v=0\r?\n/.test(sdp)) return 'sdp must start with v=0';
  const lines = sdp.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  let media = 0;
  let ufrag = false;
  let fingerprint = false;
  for (const line of lines) {
    if (!SDP_LINE.test(line)) return 'sdp has a line that is not "x=<printable text>"';
    if (line.startsWith('m=')) {
      const m = M_LINE.exec(line);
      if (!m) return 'sdp has a malformed m-line';
      if (m[1] !== 'audio' && m[1] !== 'video') return `sdp has an unexpected m-line "${m[1]}"`;
      media += 1;
    } else if (line.startsWith('a=ice-ufrag:')) ufrag = true;
    else if (line.startsWith('a=fingerprint:')) fingerprint = true;
  }
  if (media === 0) return 'sdp has no audio or video';
  if (media > SIGNALING_LIMITS.maxMediaSections) return `sdp has more than ${SIGNALING_LIMITS.maxMediaSections} media sections`;
  if (!ufrag) return 'sdp has no ICE credentials';
  if (!fingerprint) return 'sdp has no DTLS fingerprint';
  return null;
}

function jsep<T extends 'offer' | 'answer'>(o: Obj, type: T): SessionDescription & { type: T } {
  const v = o.jsep;
  if (!isObj(v)) throw new Invalid(SIGNALING_ERRORS.INVALID, '"jsep" must be an object');
  only(v, ['type', 'sdp']);
  if (v.type !== type) throw new Invalid(SIGNALING_ERRORS.BAD_SDP, `"jsep.type" must be "${type}"`);
  const problem = checkSdp(v.sdp);
  if (problem) throw new Invalid(SIGNALING_ERRORS.BAD_SDP, problem);
  return { type, sdp: v.sdp as string };
}

const CANDIDATE_LINE = /^candidate:[A-Za-z0-9+/=-]{1,64} \d{1,5} (?:udp|tcp|UDP|TCP) \d{1,10} [A-Za-z0-9.:-]{1,255} \d{1,5} typ (?:host|srflx|prflx|relay)(?: [\x21-\x7e]+)*$/;

/** Checks a browser ICE candidate; null when acceptable, else the reason. */
export function checkCandidate(c: unknown): string | null {
  if (!isObj(c)) return 'candidate must be an object or null';
  for (const k of Object.keys(c)) {
    if (!['candidate', 'sdpMid', 'sdpMLineIndex', 'usernameFragment'].includes(k)) return `unexpected field "${k}" in candidate`;
  }
  if (typeof c.candidate !== 'string' || c.candidate.length > SIGNALING_LIMITS.maxCandidateChars) return 'candidate.candidate must be a string';
  if (!CANDIDATE_LINE.test(c.candidate)) return 'candidate.candidate is not an ICE candidate line';
  const mid = c.sdpMid;
  const index = c.sdpMLineIndex;
  if (mid !== undefined && mid !== null && !(typeof mid === 'string' && /^[A-Za-z0-9_-]{1,32}$/.test(mid))) return 'candidate.sdpMid is not valid';
  if (index !== undefined && index !== null && !(Number.isInteger(index) && (index as number) >= 0 && (index as number) < 32)) return 'candidate.sdpMLineIndex is not valid';
  if ((mid === undefined || mid === null) && (index === undefined || index === null)) return 'candidate needs sdpMid or sdpMLineIndex';
  if (c.usernameFragment !== undefined && c.usernameFragment !== null && !(typeof c.usernameFragment === 'string' && /^[\x21-\x7e]{1,256}$/.test(c.usernameFragment))) {
    return 'candidate.usernameFragment is not valid';
  }
  return null;
}

function candidate(o: Obj): Candidate | null {
  if (!('candidate' in o)) throw new Invalid(SIGNALING_ERRORS.INVALID, '"candidate" is required (null when gathering is complete)');
  const c = o.candidate;
  if (c === null) return null;
  const problem = checkCandidate(c);
  if (problem) throw new Invalid(SIGNALING_ERRORS.BAD_CANDIDATE, problem);
  const v = c as Obj;
  return { candidate: v.candidate as string, sdpMid: (v.sdpMid as string | null | undefined) ?? null, sdpMLineIndex: (v.sdpMLineIndex as number | null | undefined) ?? null };
}

function chatText(o: Obj): string {
  const v = o.text;
  if (typeof v !== 'string') throw new Invalid(SIGNALING_ERRORS.INVALID, '"text" must be a string');
  const text = v.trim();
  if (text.length === 0 || text.length > SIGNALING_LIMITS.maxChatChars) throw new Invalid(SIGNALING_ERRORS.INVALID, `"text" must have 1–${SIGNALING_LIMITS.maxChatChars} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000b-\u001f\u007f\u2028\u2029\u202a-\u202e\u2066-\u2069]/.test(text)) throw new Invalid(SIGNALING_ERRORS.INVALID, '"text" has control characters');
  return text;
}

const QUALITY_BOUNDS: Record<Exclude<keyof QualitySummary, 'stages' | 'candidate'>, [number, number]> = {
  rttMs: [0, 60_000],
  jitterMs: [0, 60_000],
  lossRatio: [0, 1],
  bitrateBps: [0, 1e9],
  width: [0, 8192],
  height: [0, 8192],
  fps: [0, 240],
  availableKbps: [0, 1e7],
  freezes: [0, 1000],
};

function quality(o: Obj): QualitySummary {
  only(o, ['type', 'rid', 'stages', 'candidate', ...Object.keys(QUALITY_BOUNDS)]);
  const q: QualitySummary = {};
  for (const [k, [min, max]] of Object.entries(QUALITY_BOUNDS) as [keyof typeof QUALITY_BOUNDS, [number, number]][]) {
    const v = o[k];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw new Invalid(SIGNALING_ERRORS.INVALID, `"${k}" must be a number ${min}–${max}`);
    q[k] = v;
  }
  if (o.candidate !== undefined) {
    if (!(CANDIDATE_TYPES as readonly unknown[]).includes(o.candidate)) throw new Invalid(SIGNALING_ERRORS.INVALID, `"candidate" must be one of ${CANDIDATE_TYPES.join(', ')}`);
    q.candidate = o.candidate as QualitySummary['candidate'];
  }
  if (o.stages !== undefined) {
    if (!isObj(o.stages)) throw new Invalid(SIGNALING_ERRORS.INVALID, '"stages" must be an object');
    only(o.stages, BROWSER_JOIN_STAGES);
    const stages: Partial<Record<BrowserJoinStage, boolean>> = {};
    for (const st of BROWSER_JOIN_STAGES) if (o.stages[st] !== undefined) stages[st] = bool(o.stages, st);
    q.stages = stages;
  }
  return q;
}

const PARSERS: { [K in ClientMessageType]: (o: Obj) => Extract<ClientMessage, { type: K }> } = {
  join: (o) => (only(o, ['type', 'rid']), { type: 'join', ...ridOf(o) }),
  publish: (o) => (only(o, ['type', 'rid', 'jsep', 'audio', 'video']), { type: 'publish', ...ridOf(o), jsep: jsep(o, 'offer'), audio: bool(o, 'audio'), video: bool(o, 'video') }),
  subscribe: (o) => (only(o, ['type', 'rid']), { type: 'subscribe', ...ridOf(o) }),
  answer: (o) => (only(o, ['type', 'rid', 'subscription', 'jsep']), { type: 'answer', ...ridOf(o), subscription: subscriptionId(o, 'subscription'), jsep: jsep(o, 'answer') }),
  trickle: (o) => (only(o, ['type', 'rid', 'pc', 'candidate']), { type: 'trickle', ...ridOf(o), pc: pcRef(o, 'pc'), candidate: candidate(o) }),
  'restart-ice': (o) => {
    only(o, ['type', 'rid', 'pc', 'jsep']);
    const pc = pcRef(o, 'pc');
    if (pc === PUBLISHER_PC) return { type: 'restart-ice', ...ridOf(o), pc, jsep: jsep(o, 'offer') };
    if (o.jsep !== undefined) throw new Invalid(SIGNALING_ERRORS.INVALID, 'a subscription restart carries no jsep (the appliance sends the offer)');
    return { type: 'restart-ice', ...ridOf(o), pc };
  },
  chat: (o) => (only(o, ['type', 'rid', 'text']), { type: 'chat', ...ridOf(o), text: chatText(o) }),
  'media-state': (o) => (
    only(o, ['type', 'rid', 'audio', 'video', 'screen']),
    { type: 'media-state', ...ridOf(o), audio: bool(o, 'audio'), video: bool(o, 'video'), screen: bool(o, 'screen') }
  ),
  leave: (o) => (only(o, ['type', 'rid']), { type: 'leave', ...ridOf(o) }),
  ping: (o) => (only(o, ['type', 'rid']), { type: 'ping', ...ridOf(o) }),
  quality: (o) => ({ type: 'quality', ...ridOf(o), ...quality(o) }),
};

export const CLIENT_MESSAGE_TYPES = Object.keys(PARSERS) as ClientMessageType[];

/** UTF-8 length without TextEncoder allocations for the common ASCII case. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/**
 * Validates one text frame from a browser. `byteLength` is the frame's size as received (pass it when
 * known, else it is computed).
 */
export function parseClientMessage(raw: string, byteLength: number = utf8Length(raw)): ParseResult<ClientMessage> {
  if (byteLength > SIGNALING_LIMITS.maxMessageBytes) {
    return { ok: false, code: SIGNALING_ERRORS.TOO_LARGE, message: `messages are limited to ${SIGNALING_LIMITS.maxMessageBytes} bytes` };
  }
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { ok: false, code: SIGNALING_ERRORS.MALFORMED, message: 'not JSON' };
  }
  if (!isObj(value)) return { ok: false, code: SIGNALING_ERRORS.MALFORMED, message: 'a message is a JSON object' };
  const rid = Number.isInteger(value.rid) && (value.rid as number) >= 0 && (value.rid as number) <= 0x7fffffff ? { rid: value.rid as number } : {};
  const type = value.type;
  if (typeof type !== 'string' || !Object.prototype.hasOwnProperty.call(PARSERS, type)) {
    return { ok: false, code: SIGNALING_ERRORS.UNKNOWN_TYPE, message: `unknown message type`, ...rid };
  }
  try {
    return { ok: true, message: PARSERS[type as ClientMessageType](value) };
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, code: err.code, message: err.message, ...rid };
    throw err;
  }
}

const SERVER_TYPES: readonly ServerMessageType[] = [
  'joined',
  'published',
  'remote-offer',
  'remote-ended',
  'trickle',
  'peer-state',
  'media-state',
  'chat',
  'janus-state',
  'network',
  'pong',
  'ended',
  'error',
  'capture-request',
  'kyc-update',
  'call-mode',
  'link-quality',
];

/** For the browser: a frame from the appliance, or null when it is not one (the appliance is trusted). */
export function parseServerMessage(raw: string): ServerMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  if (!isObj(value) || typeof value.type !== 'string' || !SERVER_TYPES.includes(value.type as ServerMessageType)) return null;
  return value as ServerMessage;
}
