// The hub's sockets: admission (per-party and per-address limits), heartbeat, the per-socket rate limit, parsing,
// one message at a time per socket, mapping a failed message to an `error` frame, and closing. What a message means
// and what a party's lost socket means for the call are the hub's (the `handle` and `dropped` callbacks).
import type { WebSocket } from 'ws';
import { DEFAULT_CONNECTION_LIMITS, Refused, type Connection, type SignalingHubOptions, type SignalingIdentity } from './hub-types.js';
import { JanusRequestError } from './media-rooms.js';
import { CLOSE_CODES, parseClientMessage, SIGNALING_ERRORS, type ClientMessage, type ServerMessage, type SignalingErrorCode } from './protocol.js';
import { TokenBucket } from './token-bucket.js';

const WS_OPEN = 1;
/** A socket that cannot keep up with this much queued output is dropped. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

export function send(conn: Connection, msg: ServerMessage): void {
  const ws = conn.ws;
  if (ws.readyState !== WS_OPEN) return;
  if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
    ws.terminate();
    return;
  }
  ws.send(JSON.stringify(msg));
}

export function sendError(conn: Connection, code: SignalingErrorCode, message: string, requestId?: number): void {
  send(conn, { type: 'error', ...(requestId !== undefined ? { rid: requestId } : {}), code, message });
}

export interface ConnectionHandlers {
  /** one parsed message of a socket; a rejection becomes the socket's `error` frame */
  handle(conn: Connection, msg: ClientMessage): Promise<void>;
  /** a socket that was not retired has closed: its party's socket dropped */
  dropped(conn: Connection): void;
}

type ConnectionOptions = Pick<SignalingHubOptions, 'gateway' | 'rateLimit' | 'heartbeatMs' | 'connectionLimits' | 'log'>;

export class HubConnections {
  readonly #opts: ConnectionOptions;
  readonly #handlers: ConnectionHandlers;
  readonly #open = new Set<Connection>();
  #seq = 0;
  #closed = false;

  constructor(opts: ConnectionOptions, handlers: ConnectionHandlers) {
    this.#opts = opts;
    this.#handlers = handlers;
  }

  /** The sockets open now. */
  all(): Connection[] {
    return [...this.#open];
  }

  /** Takes over an authenticated WebSocket. Listeners are attached synchronously, so no frame is lost. */
  attach(ws: WebSocket, identity: SignalingIdentity, address: string | null): void {
    const rate = this.#opts.rateLimit ?? { burst: 50, ratePerSec: 20 };
    const limits = this.#opts.connectionLimits ?? DEFAULT_CONNECTION_LIMITS;
    const open = [...this.#open].filter((c) => !c.closed && !c.retired);
    if (address !== null && open.filter((c) => c.address === address).length >= limits.perAddress) {
      ws.send(JSON.stringify({ type: 'error', code: SIGNALING_ERRORS.LIMIT, message: 'too many call connections from this address; try again shortly' }));
      ws.close(CLOSE_CODES.TRY_AGAIN_LATER, 'too many connections');
      return;
    }
    // the same party's older sockets beyond the limit (stale tabs, half-dead reconnects) make way, oldest first
    const same = open.filter((c) => c.identity.sessionId === identity.sessionId && c.identity.party === identity.party);
    for (const old of same.slice(0, Math.max(0, same.length - limits.perParty + 1))) {
      this.retire(old, CLOSE_CODES.REPLACED, 'replaced by a newer connection');
    }
    const conn: Connection = {
      id: ++this.#seq,
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
    this.#open.add(conn);
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
      this.onClose(conn);
    });
    if (this.#closed) this.retire(conn, CLOSE_CODES.GOING_AWAY, 'server shutting down');
  }

  /** Appliance shutdown: every socket closes with 1001, and a socket attached from now on too. */
  shutdown(): void {
    this.#closed = true;
    for (const conn of [...this.#open]) this.retire(conn, CLOSE_CODES.GOING_AWAY, 'server shutting down');
  }

  #receive(conn: Connection, data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    if (conn.closed || conn.retired) return;
    if (!conn.bucket.take()) {
      sendError(conn, SIGNALING_ERRORS.RATE_LIMITED, 'too many messages');
      // Not retired: the party may reconnect (a flooding bug in one tab should not end the call).
      this.close(conn, CLOSE_CODES.POLICY, 'rate limit');
      return;
    }
    if (isBinary) {
      sendError(conn, SIGNALING_ERRORS.MALFORMED, 'binary frames are not part of the protocol');
      return;
    }
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    const parsed = parseClientMessage(buf.byteLength > 1024 * 1024 ? '' : buf.toString('utf8'), buf.byteLength);
    if (!parsed.ok) {
      sendError(conn, parsed.code, parsed.message, parsed.rid);
      return;
    }
    const msg = parsed.message;
    // One message at a time per socket: publish must be answered before its trickles are relayed.
    conn.queue = conn.queue.then(async () => {
      if (conn.closed || conn.retired) return;
      try {
        await this.#handlers.handle(conn, msg);
      } catch (err) {
        this.#failed(conn, msg, err);
      }
    });
  }

  #failed(conn: Connection, msg: ClientMessage, err: unknown): void {
    const rid = 'rid' in msg ? msg.rid : undefined;
    if (err instanceof Refused) sendError(conn, err.code, err.message, rid);
    else if (err instanceof JanusRequestError) {
      this.#opts.log?.warn({ conn: conn.id, type: msg.type, err: err.message }, 'janus refused a request');
      const up = this.#opts.gateway.isUp();
      sendError(conn, up ? SIGNALING_ERRORS.MEDIA_FAILED : SIGNALING_ERRORS.MEDIA_UNAVAILABLE, up ? `the media server refused the ${msg.type}` : 'the media server is unavailable', rid);
    } else {
      this.#opts.log?.error({ conn: conn.id, type: msg.type, err }, 'signaling handler failed');
      sendError(conn, SIGNALING_ERRORS.INTERNAL, 'internal error', rid);
    }
  }

  /** Idempotent: runs when we close a socket and again when its close event arrives. */
  onClose(conn: Connection): void {
    if (conn.closed) return;
    conn.closed = true;
    this.#open.delete(conn);
    for (const id of [...conn.subscriptions.keys()]) {
      const sub = conn.subscriptions.get(id);
      conn.subscriptions.delete(id);
      void sub?.subscriber.detach();
    }
    if (conn.session && !conn.retired) this.#handlers.dropped(conn);
  }

  /** Closes a socket whose party is accounted for elsewhere (replaced, left, ended): nothing else changes. */
  retire(conn: Connection, code: number, reason: string): void {
    conn.retired = true;
    this.close(conn, code, reason);
  }

  /** Closes a socket now; unless retired, its party becomes `reconnecting` as if the network had dropped. */
  close(conn: Connection, code: number, reason: string): void {
    this.onClose(conn);
    try {
      conn.ws.close(code, reason);
    } catch {
      conn.ws.terminate();
    }
  }
}
