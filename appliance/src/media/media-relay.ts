// The hub's media relay: a party's publisher (its uplink, recorded as one numbered segment per publish) and the
// other party's subscription to it, the SDP and ICE candidates between browser and media server, and what the
// media server reports of each handle (media up, media lost, slow link, hang-up).
import { send } from './hub-connections.js';
import { setPeerState, type HubEvents } from './hub-events.js';
import type { CallRooms } from './hub-rooms.js';
import { Refused, rid, type CallSession, type Connection, type PartySlot, type SignalingHubOptions } from './hub-types.js';
import { JanusRequestError, VIDEOROOM_ERROR, type RoomPublisher } from './media-rooms.js';
import { otherParty, PUBLISHER_PC, SIGNALING_ERRORS, type ClientMessage } from './protocol.js';
import { highestSegment, recordingBaseName } from './recording-names.js';
import { MAX_SEGMENT } from '../recording/recording-layout.js';

type RelayOptions = Pick<SignalingHubOptions, 'gateway' | 'log' | 'metrics' | 'quality'>;
type Msg<T extends ClientMessage['type']> = Extract<ClientMessage, { type: T }>;

export class MediaRelay {
  readonly #opts: RelayOptions;
  readonly #rooms: CallRooms;
  readonly #events: HubEvents;

  constructor(opts: RelayOptions, rooms: CallRooms, events: HubEvents) {
    this.#opts = opts;
    this.#rooms = rooms;
    this.#events = events;
  }

  async publish(conn: Connection, session: CallSession, slot: PartySlot, msg: Msg<'publish'>): Promise<void> {
    if (slot.conn !== conn) throw new Refused(SIGNALING_ERRORS.WRONG_STATE, "not the party's current connection");
    if (!this.#opts.gateway.isUp()) throw new Refused(SIGNALING_ERRORS.MEDIA_UNAVAILABLE, 'the media server is unavailable');
    await this.#rooms.ensure(session);
    // Every publish is a new, numbered segment; numbers already on disk (from before an appliance restart) are
    // skipped so that Janus never overwrites a recording.
    const segment = Math.max(slot.segment, await highestSegment(session.room.recDir, slot.party)) + 1;
    if (segment > MAX_SEGMENT) {
      throw new Refused(
        SIGNALING_ERRORS.LIMIT,
        `This call already has ${MAX_SEGMENT} recordings of the ${slot.party}, the most one session allows; the teller must end it and start a new session.`,
      );
    }
    const recording = recordingBaseName(slot.party, segment);
    await this.#events.action(conn, 'publish', { segment, recording, recordingDir: session.room.recDir, audio: msg.audio, video: msg.video });
    if (conn.closed || slot.conn !== conn) return;
    this.dropPublisher(session, slot);
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
    send(conn, { type: 'published', ...rid(msg), jsep: { type: 'answer', sdp: answer.sdp } });
  }

  #wirePublisher(session: CallSession, slot: PartySlot, conn: Connection, publisher: RoomPublisher): void {
    publisher.on('trickle', (candidate) => send(conn, { type: 'trickle', pc: PUBLISHER_PC, candidate }));
    publisher.on('slowlink', (info) => {
      this.#opts.metrics?.slowlink(slot.party);
      this.#opts.quality?.slowlink(session.id, slot.party, info);
      send(conn, { type: 'network', pc: PUBLISHER_PC, uplink: info.uplink, lost: info.lost });
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
      setPeerState(session, slot, 'media-up');
      this.#events.fact(session, slot, 'media-up', { segment: slot.segment });
      this.#opts.quality?.media(session.id, slot.party, true);
      const viewer = session.parties[otherParty(slot.party)].conn;
      if (viewer) void this.offerFeed(session, viewer, slot);
    });
    // Janus stops receiving audio when the browser's network drops: the other side sees "reconnecting".
    publisher.on('media', ({ type, receiving }) => {
      if (slot.publisher !== publisher || type !== 'audio') return;
      this.#opts.quality?.media(session.id, slot.party, receiving);
      if (!receiving && slot.state === 'media-up') setPeerState(session, slot, 'reconnecting');
      else if (receiving && slot.state === 'reconnecting' && slot.conn === conn) setPeerState(session, slot, 'media-up');
    });
    const gone = () => {
      if (slot.publisher !== publisher) return;
      this.#opts.quality?.media(session.id, slot.party, false);
      this.dropPublisher(session, slot);
      if (slot.conn === conn && slot.state === 'media-up') setPeerState(session, slot, 'joined');
    };
    publisher.on('hangup', gone);
    publisher.on('detached', gone);
  }

  /** The viewer asks again for the other party's media: any subscription to it is replaced. */
  async subscribe(conn: Connection, session: CallSession, slot: PartySlot, msg: Msg<'subscribe'>): Promise<void> {
    const source = session.parties[otherParty(slot.party)];
    if (!source.publisher || !source.publisherUp) throw new Refused(SIGNALING_ERRORS.WRONG_STATE, 'the other party is not sending media');
    for (const [id, sub] of conn.subscriptions) {
      if (sub.source === source.publisher) this.#endSubscription(conn, id);
    }
    await this.offerFeed(session, conn, source, msg.rid);
  }

  async answer(conn: Connection, msg: Msg<'answer'>): Promise<void> {
    const sub = conn.subscriptions.get(msg.subscription);
    if (!sub) throw new Refused(SIGNALING_ERRORS.UNKNOWN_HANDLE, 'no such subscription');
    await sub.subscriber.start(msg.jsep);
  }

  async trickle(conn: Connection, slot: PartySlot, msg: Msg<'trickle'>): Promise<void> {
    const handle = msg.pc === PUBLISHER_PC ? slot.publisher : conn.subscriptions.get(msg.pc)?.subscriber;
    if (!handle || (msg.pc === PUBLISHER_PC && slot.conn !== conn)) throw new Refused(SIGNALING_ERRORS.UNKNOWN_HANDLE, `no peer connection "${msg.pc}"`);
    await handle.trickle(msg.candidate);
  }

  async restartIce(conn: Connection, slot: PartySlot, msg: Msg<'restart-ice'>): Promise<void> {
    if (msg.pc === PUBLISHER_PC) {
      if (!slot.publisher || !msg.jsep) throw new Refused(SIGNALING_ERRORS.UNKNOWN_HANDLE, 'nothing published');
      const answer = await slot.publisher.renegotiate(msg.jsep);
      send(conn, { type: 'published', ...rid(msg), jsep: { type: 'answer', sdp: answer.sdp } });
      return;
    }
    const sub = conn.subscriptions.get(msg.pc);
    if (!sub) throw new Refused(SIGNALING_ERRORS.UNKNOWN_HANDLE, 'no such subscription');
    const offer = await sub.subscriber.restartIce();
    send(conn, { type: 'remote-offer', ...rid(msg), subscription: msg.pc, party: otherParty(slot.party), jsep: { type: 'offer', sdp: offer.sdp }, restart: true });
  }

  /** Subscribes `conn` to `source`'s publisher and sends the offer. */
  async offerFeed(session: CallSession, conn: Connection, source: PartySlot, requestId?: number): Promise<void> {
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
          sub.on('trickle', (candidate) => send(conn, { type: 'trickle', pc: id, candidate }));
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
      send(conn, { type: 'remote-offer', ...rid({ rid: requestId }), subscription: id, party: source.party, jsep: { type: 'offer', sdp: offer.sdp }, restart: false });
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
    send(conn, { type: 'remote-ended', subscription: id });
  }

  /** Releases a party's publisher and every subscription to it. */
  dropPublisher(session: CallSession, slot: PartySlot): void {
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

  /** The media server went away: the handles died with the connection; only our records remain to be cleared. */
  lost(session: CallSession): void {
    for (const slot of Object.values(session.parties)) {
      const conn = slot.conn;
      slot.publisher = null;
      slot.publisherUp = false;
      if (conn) {
        conn.subscriptions.clear();
        if (slot.state === 'media-up') slot.state = 'joined';
      }
    }
  }
}
