// Scripted stand-ins for what the signaling hub talks to, so that its state machine runs without root, Janus or a
// browser: a media server (the MediaRooms interface) whose requests succeed unless a failure is queued for them, and
// whose handles emit what a test tells them to; and a WebSocket that keeps every frame the hub sends.
import { EventEmitter } from 'node:events';
import type { WebSocket } from 'ws';
import {
  JanusRequestError,
  type IceCandidate,
  type Jsep,
  type MediaHandleEvents,
  type MediaRooms,
  type PublishParams,
  type RoomPublisher,
  type RoomSpec,
  type RoomSubscriber,
  type SubscribeParams,
} from '../../src/media/media-rooms.js';
import type { ClientMessage, ServerMessage } from '../../src/media/protocol.js';
import { OFFER } from './sdp.js';

let handleSeq = 1000;

class FakeHandle extends EventEmitter<MediaHandleEvents> {
  readonly id = ++handleSeq;
  readonly trickled: (IceCandidate | null)[] = [];
  detached = false;

  async trickle(candidate: IceCandidate | null): Promise<void> {
    this.trickled.push(candidate);
  }

  async detach(): Promise<void> {
    if (this.detached) return;
    this.detached = true;
    this.emit('detached');
  }
}

export class FakePublisher extends FakeHandle implements RoomPublisher {
  readonly feed = ++handleSeq;
  readonly privateId = ++handleSeq;
  readonly offers: Jsep[] = [];

  constructor(readonly params: PublishParams) {
    super();
  }

  async renegotiate(offer: Jsep): Promise<Jsep> {
    this.offers.push(offer);
    return { type: 'answer', sdp: OFFER };
  }
}

export class FakeSubscriber extends FakeHandle implements RoomSubscriber {
  readonly answers: Jsep[] = [];
  restarts = 0;

  constructor(readonly params: SubscribeParams) {
    super();
  }

  async start(answer: Jsep): Promise<void> {
    this.answers.push(answer);
  }

  async restartIce(): Promise<Jsep> {
    this.restarts += 1;
    return { type: 'offer', sdp: OFFER };
  }
}

type Request = 'createRoom' | 'destroyRoom' | 'publish' | 'subscribe';

/** The media server: every request is logged; `fail(request, code)` makes the next one of that kind fail. */
export class FakeMediaRooms extends EventEmitter<{ up: []; down: [] }> implements MediaRooms {
  up = true;
  readonly rooms = new Map<number, RoomSpec>();
  readonly destroyed: number[] = [];
  readonly publishers: FakePublisher[] = [];
  readonly subscribers: FakeSubscriber[] = [];
  readonly #failures: { request: Request; error: JanusRequestError }[] = [];

  isUp(): boolean {
    return this.up;
  }

  fail(request: Request, code: number | null = null, message = `${request} refused`): void {
    this.#failures.push({ request, error: new JanusRequestError(message, code) });
  }

  /** The connection to the media server is lost: every handle and room with it. */
  goDown(): void {
    this.up = false;
    this.rooms.clear();
    this.emit('down');
  }

  goUp(): void {
    this.up = true;
    this.emit('up');
  }

  #check(request: Request): void {
    if (!this.up) throw new JanusRequestError('Janus is not connected', null);
    const i = this.#failures.findIndex((f) => f.request === request);
    if (i >= 0) throw this.#failures.splice(i, 1)[0]!.error;
  }

  async createRoom(spec: RoomSpec): Promise<void> {
    this.#check('createRoom');
    this.rooms.set(spec.room, spec);
  }

  async destroyRoom(room: number): Promise<void> {
    this.#check('destroyRoom');
    this.rooms.delete(room);
    this.destroyed.push(room);
  }

  async publish(params: PublishParams): Promise<{ publisher: RoomPublisher; answer: Jsep }> {
    this.#check('publish');
    const publisher = new FakePublisher(params);
    params.onHandle?.(publisher);
    this.publishers.push(publisher);
    return { publisher, answer: { type: 'answer', sdp: OFFER } };
  }

  async subscribe(params: SubscribeParams): Promise<{ subscriber: RoomSubscriber; offer: Jsep }> {
    this.#check('subscribe');
    const subscriber = new FakeSubscriber(params);
    params.onHandle?.(subscriber);
    this.subscribers.push(subscriber);
    return { subscriber, offer: { type: 'offer', sdp: OFFER } };
  }
}

const OPEN = 1;
const CLOSED = 3;

/** A browser's socket as the hub sees it: what the hub sends is kept in `received`; `deliver` is the browser sending. */
export class FakeSocket extends EventEmitter {
  readyState = OPEN;
  bufferedAmount = 0;
  readonly received: ServerMessage[] = [];
  closeCode: number | null = null;

  send(data: string): void {
    this.received.push(JSON.parse(data) as ServerMessage);
    this.emit('received');
  }

  ping(): void {
    setImmediate(() => this.emit('pong'));
  }

  close(code: number, reason: string): void {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSED;
    this.closeCode = code;
    setImmediate(() => this.emit('close', code, Buffer.from(reason)));
  }

  terminate(): void {
    this.close(1006, '');
  }

  /** The network drops: no close frame, the hub only sees the socket close. */
  drop(): void {
    this.terminate();
  }

  deliver(msg: ClientMessage): void {
    this.emit('message', Buffer.from(JSON.stringify(msg)), false);
  }

  asWebSocket(): WebSocket {
    return this as unknown as WebSocket;
  }

  /** What the hub sent of one type, in order. */
  all<T extends ServerMessage['type']>(type: T): Extract<ServerMessage, { type: T }>[] {
    return this.received.filter((m): m is Extract<ServerMessage, { type: T }> => m.type === type);
  }

  /** Resolves with the `n`th message of this type (1 = the first) once the hub has sent it. */
  next<T extends ServerMessage['type']>(type: T, n = 1, timeoutMs = 10_000): Promise<Extract<ServerMessage, { type: T }>> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = this.all(type)[n - 1];
        if (!found) return false;
        clearTimeout(timer);
        this.off('received', check);
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => {
        this.off('received', check);
        reject(new Error(`no ${type} #${n} within ${timeoutMs} ms; received ${JSON.stringify(this.received.map((m) => m.type))}`));
      }, timeoutMs);
      if (!check()) this.on('received', check);
    });
  }

  /** Resolves with the close code once the hub has closed the socket. */
  closed(timeoutMs = 10_000): Promise<number> {
    if (this.readyState === CLOSED && this.closeCode !== null) return Promise.resolve(this.closeCode);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not closed within ${timeoutMs} ms`)), timeoutMs);
      this.once('close', (code: number) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
  }
}
