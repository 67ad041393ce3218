// What the signaling hub needs of a media server: rooms that record, a publisher per party and subscriptions to
// it, each a handle with events. The janode-based JanusGateway (janus-gateway.ts) implements it against Janus; the
// hub's state-machine test drives the hub through a scripted fake. Nothing here imports janode.
export interface Jsep {
  type: 'offer' | 'answer';
  sdp: string;
}

/** A browser ICE candidate as relayed; `null` means "gathering completed". */
export interface IceCandidate {
  candidate: string;
  sdpMid: string | null;
  sdpMLineIndex: number | null;
}

export interface RoomSpec {
  room: number;
  secret: string;
  pin: string;
  /** where Janus writes this room's .mjr files */
  recDir: string;
  record?: boolean;
  /** default 2: the teller and the customer */
  publishers?: number;
  /** default "opus" */
  audiocodec?: string;
  /** default "vp8,h264": VP8 first, H.264 for browsers that only encode that in hardware */
  videocodec?: string;
  /** max video bitrate per publisher (bit/s); default 1 Mbit/s */
  bitrate?: number;
}

export interface GatewayLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** A Janus or VideoRoom error; `code` is Janus's numeric code when it gave one. */
export class JanusRequestError extends Error {
  constructor(
    message: string,
    readonly code: number | null,
  ) {
    super(message);
    this.name = 'JanusRequestError';
  }
}

/** Janus VideoRoom error codes the appliance reacts to. */
export const VIDEOROOM_ERROR = {
  NO_SUCH_ROOM: 426,
  ROOM_EXISTS: 427,
  NO_SUCH_FEED: 428,
  INVALID_SDP: 437,
} as const;

export interface MediaHandleEvents {
  /** the peer connection is up (ICE + DTLS) */
  webrtcup: [];
  /** Janus hung the peer connection up */
  hangup: [reason: string];
  /** Janus started or stopped receiving a kind of media on this handle */
  media: [info: { type: 'audio' | 'video'; receiving: boolean }];
  /** packet loss; uplink = loss on what the browser sends */
  slowlink: [info: { uplink: boolean; lost: number; media: string | null }];
  /** a candidate of Janus for the browser; null = Janus finished gathering */
  trickle: [candidate: IceCandidate | null];
  'ice-failed': [];
  /** the handle is gone (detached, or the Janus connection was lost) */
  detached: [];
}

/** One peer connection at the media server. */
export interface RoomHandle {
  /** the media server's handle id (never shown to browsers) */
  readonly id: number;
  on<K extends keyof MediaHandleEvents>(event: K, listener: (...args: MediaHandleEvents[K]) => void): unknown;
  trickle(candidate: IceCandidate | null): Promise<void>;
  /** tears the peer connection down and releases the handle; harmless when already gone */
  detach(): Promise<void>;
}

/** A party's uplink: what it sends, recorded. */
export interface RoomPublisher extends RoomHandle {
  /** the publisher's feed id in the room */
  readonly feed: number;
  /** needed by subscribers, since rooms require private ids */
  readonly privateId: number;
  /** a new offer on the same peer connection (an ICE restart, or changed tracks); resolves with the answer */
  renegotiate(offer: Jsep): Promise<Jsep>;
}

/** A viewer's downlink: one publisher's media. */
export interface RoomSubscriber extends RoomHandle {
  /** the browser's answer to the subscription offer; media starts flowing */
  start(answer: Jsep): Promise<void>;
  /** a fresh offer with new ICE credentials; the browser answers it with start() */
  restartIce(): Promise<Jsep>;
}

export interface PublishParams {
  room: number;
  pin: string;
  display: string;
  offer: Jsep;
  audio?: boolean;
  video?: boolean;
  /** the recording's base name inside the room's rec_dir (Janus appends -audio/-video and .mjr) */
  filename?: string;
  /** called with the handle before the media server sees the offer, so that no event (trickle, webrtcup) is missed */
  onHandle?: (publisher: RoomPublisher) => void;
}

export interface SubscribeParams {
  room: number;
  pin: string;
  feed: number;
  privateId: number;
  /** called with the handle before the media server is asked, so that no event is missed */
  onHandle?: (subscriber: RoomSubscriber) => void;
}

/**
 * The media server as the hub uses it. 'down' means every handle and room is gone with the connection; 'up' that
 * it answers again (rooms must be created anew). Requests reject with JanusRequestError.
 */
export interface MediaRooms {
  isUp(): boolean;
  on(event: 'up' | 'down', listener: () => void): unknown;
  /** creates the room; one left over with the same id is replaced */
  createRoom(spec: RoomSpec): Promise<void>;
  /** destroys the room (its recordings close); a room that no longer exists is fine */
  destroyRoom(room: number, secret: string): Promise<void>;
  publish(params: PublishParams): Promise<{ publisher: RoomPublisher; answer: Jsep }>;
  subscribe(params: SubscribeParams): Promise<{ subscriber: RoomSubscriber; offer: Jsep }>;
}
