// The browser end of the signaling WebSocket: reconnects on a schedule, notices a dead connection by its
// silence (the network can vanish without a close), and matches replies to requests by `rid`.
import { FINAL_CLOSE_CODES, parseServerMessage, SIGNALING_SUBPROTOCOL, type ClientMessage, type ServerMessage } from '../../../../appliance/src/media/protocol.js';
import { Emitter } from './emitter.js';

/** An error the appliance reported (`code` is a KYC_ERR_* code), or `disconnected` / `timeout` locally. */
export class CallError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'CallError';
  }
}

export interface SignalingSocketOptions {
  reconnectDelaysMs?: number[];
  /** a ping every this often; silence for twice as long counts as a lost connection. Default 4 s. */
  heartbeatMs?: number;
  WebSocketImpl?: typeof WebSocket;
}

export type SignalingSocketEvents = {
  /** a socket is open (again); `reconnect` is false the first time */
  open: { reconnect: boolean };
  message: ServerMessage;
  /** the socket is gone; when `final` it will not come back (ended, replaced, refused) */
  down: { code: number; reason: string; final: boolean };
};

type Requestable = Exclude<ClientMessage, { type: 'trickle' } | { type: 'media-state' }>;
type WithoutRid<T> = T extends unknown ? Omit<T, 'rid'> : never;

interface Pending {
  expect: readonly ServerMessage['type'][];
  resolve(m: ServerMessage): void;
  reject(e: CallError): void;
  timer: ReturnType<typeof setTimeout>;
}

export class SignalingSocket extends Emitter<SignalingSocketEvents> {
  readonly #url: string;
  readonly #delays: number[];
  readonly #heartbeatMs: number;
  readonly #WS: typeof WebSocket;
  #ws: WebSocket | null = null;
  #opened = false;
  #stopped = false;
  #attempt = 0;
  #rid = 0;
  #pending = new Map<number, Pending>();
  #lastHeard = 0;
  #heartbeat: ReturnType<typeof setInterval> | null = null;
  #retryTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(url: string, opts: SignalingSocketOptions = {}) {
    super();
    this.#url = url;
    this.#delays = opts.reconnectDelaysMs ?? [250, 500, 1000, 2000, 4000];
    this.#heartbeatMs = opts.heartbeatMs ?? 4000;
    this.#WS = opts.WebSocketImpl ?? WebSocket;
  }

  get connected(): boolean {
    return this.#ws?.readyState === 1;
  }

  connect(): void {
    if (this.#stopped || this.#ws) return;
    const ws = new this.#WS(this.#url, SIGNALING_SUBPROTOCOL);
    this.#ws = ws;
    ws.onopen = () => {
      if (this.#ws !== ws) return;
      const reconnect = this.#opened;
      this.#opened = true;
      this.#attempt = 0;
      this.#lastHeard = Date.now();
      this.#heartbeat = setInterval(() => this.#beat(ws), this.#heartbeatMs);
      this.emit('open', { reconnect });
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (this.#ws !== ws) return;
      this.#lastHeard = Date.now();
      const msg = typeof ev.data === 'string' ? parseServerMessage(ev.data) : null;
      if (!msg) return;
      if ('rid' in msg && msg.rid !== undefined) {
        const pending = this.#pending.get(msg.rid);
        if (pending && (msg.type === 'error' || pending.expect.includes(msg.type))) {
          this.#pending.delete(msg.rid);
          clearTimeout(pending.timer);
          if (msg.type === 'error') pending.reject(new CallError(msg.code, msg.message));
          else pending.resolve(msg);
        }
      }
      this.emit('message', msg);
    };
    ws.onclose = (ev: CloseEvent) => this.#lost(ws, ev.code, ev.reason);
    ws.onerror = () => {
      // onclose follows and does the work.
    };
  }

  #beat(ws: WebSocket): void {
    if (this.#ws !== ws) return;
    if (Date.now() - this.#lastHeard > 2 * this.#heartbeatMs) {
      // No pong, no anything: the network is gone even if the browser has not noticed.
      this.#lost(ws, 4000, 'heartbeat lost');
      return;
    }
    this.send({ type: 'ping' });
  }

  #lost(ws: WebSocket, code: number, reason: string): void {
    if (this.#ws !== ws) return;
    this.#ws = null;
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#heartbeat = null;
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    if (ws.readyState === 0 || ws.readyState === 1) {
      try {
        ws.close(4000, 'abandoned');
      } catch {
        // Already closing.
      }
    }
    for (const [, p] of this.#pending) {
      clearTimeout(p.timer);
      p.reject(new CallError('disconnected', 'the connection to the appliance was lost'));
    }
    this.#pending.clear();
    const final = this.#stopped || FINAL_CLOSE_CODES.includes(code);
    if (final) this.#stopped = true;
    this.emit('down', { code, reason, final });
    if (!final) {
      const wait = this.#delays[Math.min(this.#attempt, this.#delays.length - 1)] ?? 1000;
      this.#attempt += 1;
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = null;
        this.connect();
      }, wait);
    }
  }

  /** Sends without waiting for a reply; false when there is no open socket. */
  send(msg: ClientMessage): boolean {
    const ws = this.#ws;
    if (!ws || ws.readyState !== 1) return false;
    ws.send(JSON.stringify(msg));
    return true;
  }

  /** Sends with a fresh `rid` and resolves with the reply of one of the `expect`ed types (rejects on error). */
  request<T extends ServerMessage['type']>(msg: WithoutRid<Requestable>, expect: readonly T[], timeoutMs = 15_000): Promise<Extract<ServerMessage, { type: T }>> {
    const rid = (this.#rid = (this.#rid + 1) % 0x7fffffff);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(rid);
        reject(new CallError('timeout', `no reply to ${msg.type}`));
      }, timeoutMs);
      this.#pending.set(rid, { expect, resolve: resolve as (m: ServerMessage) => void, reject, timer });
      if (!this.send({ ...msg, rid } as ClientMessage)) {
        clearTimeout(timer);
        this.#pending.delete(rid);
        reject(new CallError('disconnected', 'not connected to the appliance'));
      }
    });
  }

  /** Closes for good (no reconnect). */
  close(code = 1000, reason = 'bye'): void {
    this.#stopped = true;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    const ws = this.#ws;
    if (ws) this.#lost(ws, code, reason);
  }
}
