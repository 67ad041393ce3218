// A raw signaling client for protocol tests: sends frames exactly as given and collects what comes back.
import WebSocket from 'ws';
import { SIGNALING_SUBPROTOCOL, type ServerMessage } from '../../src/media/protocol.js';

export class RawSignalingClient {
  readonly messages: ServerMessage[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly #ws: WebSocket;
  #waiters: { match: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void }[] = [];

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as ServerMessage;
      this.messages.push(msg);
      const i = this.#waiters.findIndex((w) => w.match(msg));
      if (i >= 0) this.#waiters.splice(i, 1)[0]?.resolve(msg);
    });
  }

  static open(url: string, origin: string | null): Promise<RawSignalingClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, SIGNALING_SUBPROTOCOL, origin ? { origin } : {});
      const client = new RawSignalingClient(ws);
      ws.once('open', () => resolve(client));
      ws.once('error', reject);
    });
  }

  get readyState(): number {
    return this.#ws.readyState;
  }

  send(frame: string | object): void {
    this.#ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  sendBinary(data: Buffer): void {
    this.#ws.send(data, { binary: true });
  }

  /** The next message (already received or still to come) for which `match` holds. */
  next<T extends ServerMessage['type']>(type: T, match: (m: Extract<ServerMessage, { type: T }>) => boolean = () => true): Promise<Extract<ServerMessage, { type: T }>> {
    const test = (m: ServerMessage) => m.type === type && match(m as Extract<ServerMessage, { type: T }>);
    const seen = this.messages.findIndex(test);
    if (seen >= 0) return Promise.resolve(this.messages.splice(seen, 1)[0] as Extract<ServerMessage, { type: T }>);
    return new Promise((resolve) => {
      this.#waiters.push({
        match: test,
        resolve: (m) => {
          this.messages.splice(this.messages.indexOf(m), 1);
          resolve(m as Extract<ServerMessage, { type: T }>);
        },
      });
    });
  }

  /** Sends a request with `rid` and returns the reply (or error) carrying it. */
  async request(frame: Record<string, unknown>, rid: number): Promise<ServerMessage> {
    const reply = new Promise<ServerMessage>((resolve) => {
      this.#waiters.push({
        match: (m) => 'rid' in m && m.rid === rid,
        resolve: (m) => {
          this.messages.splice(this.messages.indexOf(m), 1);
          resolve(m);
        },
      });
    });
    this.send({ ...frame, rid });
    return reply;
  }

  close(): void {
    this.#ws.close();
  }
}
