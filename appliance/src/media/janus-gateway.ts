// The appliance's only door to Janus: one janode connection and session, rooms and handles of the VideoRoom
// plugin, reconnection on a schedule with 'up'/'down' events, and a health check for /readyz. Nothing else in
// the appliance imports janode.
import { EventEmitter } from 'node:events';
import Janode, { type JanodeCandidate, type JanodeConnection, type JanodeSession } from 'janode';
import VideoRoomPlugin, { type VideoRoomHandle } from 'janode/plugins/videoroom';
import {
  JanusRequestError,
  VIDEOROOM_ERROR,
  type GatewayLogger,
  type IceCandidate,
  type Jsep,
  type MediaHandleEvents,
  type MediaRooms,
  type PublishParams,
  type RoomPublisher,
  type RoomSpec,
  type RoomSubscriber,
  type SubscribeParams,
} from './media-rooms.js';

export { JanusRequestError, VIDEOROOM_ERROR } from './media-rooms.js';
export type { GatewayLogger, IceCandidate, Jsep, MediaHandleEvents, RoomSpec } from './media-rooms.js';

export interface JanusGatewayOptions {
  /** ws://127.0.0.1:8288 (or ws+unix:/path:/) */
  url: string;
  apiSecret?: string | null;
  /** the VideoRoom plugin's admin_key (rooms can only be created with it) */
  roomAdminKey: string;
  /** waits between connection attempts; the last one repeats. Default 250, 500, 1000, 2000, 5000 ms. */
  reconnectDelaysMs?: number[];
  /** Janus session keep-alive; must be below Janus's session_timeout. Default 15 s. */
  keepaliveSecs?: number;
  /** give up on a Janus request after this long. Default 10 s. */
  requestTimeoutMs?: number;
  log?: GatewayLogger;
  /** janode's own (global) console logging; default "none" — state changes are reported through `log` */
  janodeLogLevel?: 'none' | 'error' | 'warn' | 'info' | 'debug';
}

export type GatewayState = 'idle' | 'connecting' | 'up' | 'down' | 'stopped';

function asJanusError(err: unknown): JanusRequestError {
  if (err instanceof JanusRequestError) return err;
  const e = err as { message?: string; _code?: number };
  const message = String(e?.message ?? err);
  const code = typeof e?._code === 'number' ? e._code : Number(/^(\d{3})\s/.exec(message)?.[1] ?? NaN);
  return new JanusRequestError(message, Number.isFinite(code) ? code : null);
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new JanusRequestError(`Janus did not answer ${what} within ${ms} ms`, null)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer)) as Promise<T>;
}

class MediaHandle extends EventEmitter<MediaHandleEvents> {
  #detached = false;

  constructor(
    private readonly handle: VideoRoomHandle,
    protected readonly timeoutMs: number,
  ) {
    super();
    const E = Janode.EVENT;
    handle.on(E.HANDLE_WEBRTCUP, () => this.emit('webrtcup'));
    handle.on(E.HANDLE_HANGUP, (d: { reason?: string }) => this.emit('hangup', String(d?.reason ?? 'hangup')));
    handle.on(E.HANDLE_MEDIA, (d: { type?: string; receiving?: boolean }) => {
      if (d?.type === 'audio' || d?.type === 'video') this.emit('media', { type: d.type, receiving: Boolean(d.receiving) });
    });
    handle.on(E.HANDLE_SLOWLINK, (d: { uplink?: boolean; lost?: number; media?: string }) =>
      this.emit('slowlink', { uplink: Boolean(d?.uplink), lost: Number(d?.lost ?? 0), media: d?.media ?? null }),
    );
    handle.on(E.HANDLE_TRICKLE, (d: JanodeCandidate) => {
      if (d?.completed) this.emit('trickle', null);
      else if (typeof d?.candidate === 'string') this.emit('trickle', { candidate: d.candidate, sdpMid: d.sdpMid ?? null, sdpMLineIndex: d.sdpMLineIndex ?? null });
    });
    handle.on(E.HANDLE_ICE_FAILED, () => this.emit('ice-failed'));
    handle.once(E.HANDLE_DETACHED, () => this.#markDetached());
  }

  /** @internal the janode handle, for the gateway's own requests */
  get raw(): VideoRoomHandle {
    return this.handle;
  }

  /** Janus's handle id (never shown to browsers). */
  get id(): number {
    return this.handle.id;
  }

  get detached(): boolean {
    return this.#detached;
  }

  #markDetached(): void {
    if (this.#detached) return;
    this.#detached = true;
    this.emit('detached');
  }

  async trickle(candidate: IceCandidate | null): Promise<void> {
    if (this.#detached) throw new JanusRequestError('handle is detached', null);
    try {
      await withTimeout(candidate ? this.handle.trickle(candidate) : this.handle.trickleComplete(), this.timeoutMs, 'trickle');
    } catch (err) {
      throw asJanusError(err);
    }
  }

  /** Tears the peer connection down and releases the handle; harmless when already gone. */
  async detach(): Promise<void> {
    if (this.#detached) return;
    try {
      await withTimeout(this.handle.detach(), this.timeoutMs, 'detach');
    } catch {
      // The connection is gone or Janus already dropped the handle: either way nothing is left to release.
    }
    this.#markDetached();
  }
}

export class Publisher extends MediaHandle implements RoomPublisher {
  #feed = 0;
  #privateId = 0;

  /** the publisher's feed id in the room (set once joined) */
  get feed(): number {
    return this.#feed;
  }

  /** needed by subscribers, since rooms require private ids */
  get privateId(): number {
    return this.#privateId;
  }

  /** @internal */
  joined(feed: number, privateId: number): void {
    this.#feed = feed;
    this.#privateId = privateId;
  }

  /** A new offer on the same peer connection (an ICE restart, or changed tracks); resolves with the answer. */
  async renegotiate(offer: Jsep): Promise<Jsep> {
    try {
      const r = await withTimeout(this.raw.configure({ jsep: { ...offer } }), this.timeoutMs, 'configure');
      if (!r.jsep || r.jsep.type !== 'answer') throw new JanusRequestError('Janus sent no answer', null);
      return { type: 'answer', sdp: r.jsep.sdp };
    } catch (err) {
      throw asJanusError(err);
    }
  }
}

export class Subscriber extends MediaHandle implements RoomSubscriber {
  constructor(
    handle: VideoRoomHandle,
    timeoutMs: number,
    /** the publisher feed this handle receives */
    readonly feed: number,
  ) {
    super(handle, timeoutMs);
  }

  /** The browser's answer to the subscription offer; media starts flowing. */
  async start(answer: Jsep): Promise<void> {
    try {
      await withTimeout(this.raw.start({ jsep: { ...answer } }), this.timeoutMs, 'start');
    } catch (err) {
      throw asJanusError(err);
    }
  }

  /** Asks Janus for a fresh offer with new ICE credentials; the browser answers it with start(). */
  async restartIce(): Promise<Jsep> {
    try {
      const r = await withTimeout(this.raw.configure({ restart: true }), this.timeoutMs, 'configure');
      if (!r.jsep || r.jsep.type !== 'offer') throw new JanusRequestError('Janus sent no offer', null);
      return { type: 'offer', sdp: r.jsep.sdp };
    } catch (err) {
      throw asJanusError(err);
    }
  }
}

export interface GatewayEvents {
  up: [];
  down: [error: Error];
}

export interface GatewayHealth {
  status: 'up' | 'down';
  detail?: string;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class JanusGateway extends EventEmitter<GatewayEvents> implements MediaRooms {
  readonly #opts: Required<Pick<JanusGatewayOptions, 'reconnectDelaysMs' | 'keepaliveSecs' | 'requestTimeoutMs'>> & JanusGatewayOptions;
  #state: GatewayState = 'idle';
  #connection: JanodeConnection | null = null;
  #session: JanodeSession | null = null;
  #manager: VideoRoomHandle | null = null;
  #loop: Promise<void> | null = null;
  #wake: (() => void) | null = null;

  constructor(opts: JanusGatewayOptions) {
    super();
    this.#opts = {
      reconnectDelaysMs: [250, 500, 1000, 2000, 5000],
      keepaliveSecs: 15,
      requestTimeoutMs: 10_000,
      ...opts,
    };
    Janode.Logger.setLevel(opts.janodeLogLevel ?? 'none');
  }

  get state(): GatewayState {
    return this.#state;
  }

  isUp(): boolean {
    return this.#state === 'up';
  }

  /** Starts connecting in the background; 'up' is emitted once Janus answers (and again after every reconnect). */
  start(): void {
    if (this.#loop) return;
    this.#loop = this.#run();
  }

  /** Resolves at the next 'up' (immediately when up); rejects after `timeoutMs`. */
  whenUp(timeoutMs = 15_000): Promise<void> {
    if (this.isUp()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('up', onUp);
        reject(new Error('Janus is not reachable'));
      }, timeoutMs);
      const onUp = () => {
        clearTimeout(timer);
        resolve();
      };
      this.once('up', onUp);
    });
  }

  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    this.#wake?.();
    const connection = this.#connection;
    this.#drop();
    if (connection) await connection.close().catch(() => {});
    await this.#loop;
  }

  // A method, not a field read: stop() flips the state while #run() awaits, which narrowing cannot see.
  #isStopped(): boolean {
    return this.#state === 'stopped';
  }

  async #run(): Promise<void> {
    let attempt = 0;
    while (this.#state !== 'stopped') {
      this.#state = this.#state === 'down' ? 'down' : 'connecting';
      try {
        await this.#connect();
        attempt = 0;
        this.#state = 'up';
        this.#opts.log?.info({ url: this.#opts.url }, 'janus up');
        this.emit('up');
        // Wait for the connection to be lost (or stop()).
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        this.#wake = null;
      } catch (err) {
        const half = this.#connection;
        this.#drop();
        half?.close().catch(() => {});
        if (this.#isStopped()) break;
        const delays = this.#opts.reconnectDelaysMs;
        const wait = delays[Math.min(attempt, delays.length - 1)] ?? 1000;
        attempt += 1;
        if (attempt === 1 || attempt % 10 === 0) this.#opts.log?.warn({ err: (err as Error).message, attempt }, 'janus unreachable, retrying');
        await sleep(wait);
      }
    }
  }

  async #connect(): Promise<void> {
    const connection = await Janode.connect({
      address: { url: this.#opts.url, ...(this.#opts.apiSecret ? { apisecret: this.#opts.apiSecret } : {}) },
      max_retries: 0,
      retry_time_secs: 1,
      ws_options: { handshakeTimeout: 3000 },
    });
    this.#connection = connection;
    const lost = (err?: Error) => this.#lost(connection, err ?? new Error('Janus connection closed'));
    connection.once(Janode.EVENT.CONNECTION_ERROR, lost);
    connection.once(Janode.EVENT.CONNECTION_CLOSED, () => lost());
    const session = await withTimeout(connection.create(this.#opts.keepaliveSecs), this.#opts.requestTimeoutMs, 'create session');
    this.#session = session;
    session.once(Janode.EVENT.SESSION_DESTROYED, () => {
      // A session Janus timed out (missed keep-alives) is as good as a lost connection.
      connection.close().catch(() => {});
      lost(new Error('Janus session destroyed'));
    });
    this.#manager = await withTimeout(session.attach(VideoRoomPlugin), this.#opts.requestTimeoutMs, 'attach');
  }

  #lost(connection: JanodeConnection, err: Error): void {
    if (this.#connection !== connection) return;
    this.#drop();
    if (this.#state === 'stopped') return;
    const wasUp = this.#state === 'up';
    this.#state = 'down';
    if (wasUp) {
      this.#opts.log?.warn({ err: err.message }, 'janus down');
      this.emit('down', err);
    }
    this.#wake?.();
  }

  #drop(): void {
    this.#connection = null;
    this.#session = null;
    this.#manager = null;
  }

  #live(): { session: JanodeSession; manager: VideoRoomHandle } {
    if (this.#state !== 'up' || !this.#session || !this.#manager) throw new JanusRequestError('Janus is not connected', null);
    return { session: this.#session, manager: this.#manager };
  }

  /** For /readyz: Janus answers `info` on the live connection. */
  async health(timeoutMs = 2000): Promise<GatewayHealth> {
    const connection = this.#connection;
    if (this.#state !== 'up' || !connection) return { status: 'down', detail: this.#state };
    try {
      const info = (await withTimeout(connection.getInfo(), timeoutMs, 'info')) as { version_string?: string };
      return { status: 'up', detail: `janus ${info.version_string ?? '?'}` };
    } catch (err) {
      return { status: 'down', detail: (err as Error).message };
    }
  }

  /** Creates the room; a room left over with the same id (Janus kept running while we reconnected) is replaced. */
  async createRoom(spec: RoomSpec): Promise<void> {
    const { manager } = this.#live();
    const params = {
      room: spec.room,
      secret: spec.secret,
      pin: spec.pin,
      admin_key: this.#opts.roomAdminKey,
      is_private: true,
      permanent: false,
      max_publishers: spec.publishers ?? 2,
      audiocodec: spec.audiocodec ?? 'opus',
      videocodec: spec.videocodec ?? 'vp8,h264',
      bitrate: spec.bitrate ?? 1_000_000,
      fir_freq: 10,
      require_pvtid: true,
      notify_joining: false,
      record: spec.record ?? true,
      rec_dir: spec.recDir,
    };
    try {
      await withTimeout(manager.create(params), this.#opts.requestTimeoutMs, 'create room');
    } catch (err) {
      const e = asJanusError(err);
      if (e.code !== VIDEOROOM_ERROR.ROOM_EXISTS) throw e;
      await this.destroyRoom(spec.room, spec.secret);
      try {
        await withTimeout(manager.create(params), this.#opts.requestTimeoutMs, 'create room');
      } catch (again) {
        throw asJanusError(again);
      }
    }
  }

  /** Destroys the room (Janus closes its recordings); a room that no longer exists is fine. */
  async destroyRoom(room: number, secret: string): Promise<void> {
    const { manager } = this.#live();
    try {
      await withTimeout(manager.destroy({ room, secret, permanent: false }), this.#opts.requestTimeoutMs, 'destroy room');
    } catch (err) {
      const e = asJanusError(err);
      if (e.code !== VIDEOROOM_ERROR.NO_SUCH_ROOM) throw e;
    }
  }

  /**
   * Joins the room as a publisher with the browser's offer. `filename` is the recording's base name inside the
   * room's rec_dir (Janus appends -audio/-video and .mjr).
   */
  async publish(params: PublishParams): Promise<{ publisher: Publisher; answer: Jsep }> {
    const { session } = this.#live();
    const publisher = new Publisher(await this.#attach(session), this.#opts.requestTimeoutMs);
    params.onHandle?.(publisher);
    try {
      const joined = await withTimeout(
        publisher.raw.joinConfigurePublisher({
          room: params.room,
          pin: params.pin,
          display: params.display,
          jsep: { ...params.offer },
          ...(params.audio !== undefined ? { audio: params.audio } : {}),
          ...(params.video !== undefined ? { video: params.video } : {}),
          ...(params.filename !== undefined ? { filename: params.filename } : {}),
        }),
        this.#opts.requestTimeoutMs,
        'publish',
      );
      if (!joined.jsep || joined.jsep.type !== 'answer') throw new JanusRequestError('Janus sent no answer', null);
      publisher.joined(joined.feed, joined.private_id);
      return { publisher, answer: { type: 'answer', sdp: joined.jsep.sdp } };
    } catch (err) {
      await publisher.detach();
      throw asJanusError(err);
    }
  }

  /** Subscribes to a publisher's feed; resolves with Janus's offer (answer it with subscriber.start()). */
  async subscribe(params: SubscribeParams): Promise<{ subscriber: Subscriber; offer: Jsep }> {
    const { session } = this.#live();
    const subscriber = new Subscriber(await this.#attach(session), this.#opts.requestTimeoutMs, params.feed);
    params.onHandle?.(subscriber);
    try {
      const joined = await withTimeout(
        subscriber.raw.joinSubscriber({ room: params.room, feed: params.feed, pin: params.pin, private_id: params.privateId }),
        this.#opts.requestTimeoutMs,
        'subscribe',
      );
      if (!joined.jsep || joined.jsep.type !== 'offer') throw new JanusRequestError('Janus sent no offer', null);
      return { subscriber, offer: { type: 'offer', sdp: joined.jsep.sdp } };
    } catch (err) {
      await subscriber.detach();
      throw asJanusError(err);
    }
  }

  async #attach(session: JanodeSession): Promise<VideoRoomHandle> {
    try {
      return await withTimeout(session.attach(VideoRoomPlugin), this.#opts.requestTimeoutMs, 'attach');
    } catch (err) {
      throw asJanusError(err);
    }
  }
}
