// The relay between browsers and the media server, as a coordinator of its parts: sockets (hub-connections.ts),
// call sessions and their rooms (hub-rooms.ts), the chat log (hub-chat.ts), publishers and subscriptions
// (media-relay.ts) and recording names (recording-names.ts). Here: the parties' state machine (join, reconnect,
// leave, the reconnect grace, hang-up) and the app's side of the hub. Browsers only ever see the protocol; Janus
// handle ids, room secrets and pins stay in the hub. Every action a party takes is first reported through `onEvent`,
// which may refuse it (the app writes its audit event there, fail-closed).
import type { WebSocket } from 'ws';
import { ChatLog } from './hub-chat.js';
import { HubConnections, send, sendError } from './hub-connections.js';
import { HubEvents, setPeerState } from './hub-events.js';
import { reportQuality } from './hub-quality.js';
import { CallRooms } from './hub-rooms.js';
import { Refused, rid, type CallSession, type Connection, type PartySlot, type SignalingHubOptions, type SignalingIdentity } from './hub-types.js';
import { MediaRelay } from './media-relay.js';
import {
  CLOSE_CODES,
  otherParty,
  PARTIES,
  SIGNALING_ERRORS,
  SIGNALING_LIMITS,
  type CallMode,
  type CallModeReason,
  type ClientMessage,
  type Party,
  type PeerState,
  type ServerMessage,
} from './protocol.js';

export {
  DEFAULT_CONNECTION_LIMITS,
  type CallQualityObserver,
  type ChatEntry,
  type SignalingEvent,
  type SignalingEventType,
  type SignalingHubOptions,
  type SignalingIdentity,
  type StoredChat,
} from './hub-types.js';
export { recordingBaseName } from './recording-names.js';

export class SignalingHub {
  readonly #opts: SignalingHubOptions;
  readonly #rooms: CallRooms;
  readonly #connections: HubConnections;
  readonly #events: HubEvents;
  readonly #chat: ChatLog;
  readonly #relay: MediaRelay;

  constructor(opts: SignalingHubOptions) {
    this.#opts = opts;
    this.#rooms = new CallRooms(opts);
    this.#events = new HubEvents(opts);
    this.#chat = new ChatLog(opts, this.#events);
    this.#relay = new MediaRelay(opts, this.#rooms, this.#events);
    this.#connections = new HubConnections(opts, { handle: (conn, msg) => this.#handle(conn, msg), dropped: (conn) => this.#dropped(conn) });
    opts.gateway.on('down', () => this.#janusDown());
    opts.gateway.on('up', () => void this.#janusUp());
  }

  // ---- the app's side ------------------------------------------------------------------------------------

  /**
   * Creates the session's room now (e.g. when the teller admits) rather than at the first join. `roomId` lets
   * the app choose the Janus room id it stored; otherwise a random one is used. Rejects when Janus is down.
   */
  async ensureRoom(sessionId: string, opts: { roomId?: number } = {}): Promise<void> {
    await this.#rooms.ensure(this.#rooms.open(sessionId, opts.roomId));
  }

  /** The session is over (hang-up): both parties get `ended`, sockets close (4002), the room is destroyed. */
  async endSession(sessionId: string, reason: string): Promise<void> {
    const session = this.#rooms.get(sessionId);
    this.#rooms.markEnded(sessionId);
    if (!session || session.ended) return;
    session.ended = true;
    this.#rooms.delete(sessionId);
    this.#opts.quality?.ended(sessionId);
    for (const slot of Object.values(session.parties)) {
      if (slot.graceTimer) clearTimeout(slot.graceTimer);
      slot.graceTimer = null;
      const conn = slot.conn;
      slot.conn = null;
      if (conn) {
        send(conn, { type: 'ended', reason });
        this.#connections.retire(conn, CLOSE_CODES.ENDED, 'session ended');
      }
      this.#relay.dropPublisher(session, slot);
      slot.state = 'left';
    }
    await this.#rooms.destroy(session);
  }

  /**
   * Sign-ins that ended (sign-out, back-channel logout, an admin): their sockets get an error and close as
   * unauthenticated (4401, final); the party may come back within the grace period after signing in again.
   */
  closeSignIns(signIns: ReadonlySet<string>, reason: string): number {
    let closed = 0;
    for (const conn of this.#connections.all()) {
      if (conn.closed || conn.identity.signIn === undefined || !signIns.has(conn.identity.signIn)) continue;
      sendError(conn, SIGNALING_ERRORS.UNAUTHENTICATED, reason);
      this.#connections.close(conn, CLOSE_CODES.UNAUTHENTICATED, 'signed out');
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
    const conn = this.#rooms.get(sessionId)?.parties[party].conn;
    if (!conn) return false;
    send(conn, message);
    return true;
  }

  /** Whose media a Janus handle carries: a publisher is its party's uplink, a subscriber its viewer's downlink. */
  handleRole(handleId: number): { party: Party; direction: 'up' | 'down'; sessionId: string } | null {
    for (const s of this.#rooms.all()) {
      for (const p of Object.values(s.parties)) if (p.publisher?.id === handleId) return { party: p.party, direction: 'up', sessionId: s.id };
    }
    for (const conn of this.#connections.all()) {
      for (const sub of conn.subscriptions.values()) if (sub.subscriber.id === handleId) return { party: conn.identity.party, direction: 'down', sessionId: conn.identity.sessionId };
    }
    return null;
  }

  /**
   * The call steps between video, audio only and chat (the degrade decision): both parties are told (their browsers
   * stop or resume sending video) and the step is recorded as a session event (audited, a marker of the recording).
   */
  setCallMode(sessionId: string, mode: CallMode, reason: CallModeReason, data: Record<string, unknown> = {}): boolean {
    const session = this.#rooms.get(sessionId);
    if (!session || session.ended || session.mode === mode) return false;
    const from = session.mode;
    session.mode = mode;
    session.modeReason = reason;
    for (const p of PARTIES) {
      const c = session.parties[p].conn;
      if (c) send(c, { type: 'call-mode', mode, reason });
    }
    this.#events.system(session, 'call-mode', { from, to: mode, reason, ...data });
    return true;
  }

  /** Publishers up now in this process: each one is being recorded by Janus. */
  publishersUp(): number {
    let n = 0;
    for (const s of this.#rooms.all()) for (const p of Object.values(s.parties)) if (p.publisher && p.publisherUp) n++;
    return n;
  }

  /** A snapshot for operators and tests: who is where, without secrets. */
  describe(sessionId: string): { roomId: number; roomReady: boolean; parties: Record<Party, { state: PeerState; connected: boolean; publishing: boolean; segment: number }> } | null {
    const s = this.#rooms.get(sessionId);
    if (!s) return null;
    const part = (p: PartySlot) => ({ state: p.state, connected: p.conn !== null, publishing: p.publisherUp, segment: p.segment });
    return { roomId: s.room.id, roomReady: s.roomReady, parties: { teller: part(s.parties.teller), customer: part(s.parties.customer) } };
  }

  /** Appliance shutdown: sockets close with 1001 (browsers reconnect to the next instance), rooms are destroyed. */
  async shutdown(): Promise<void> {
    this.#connections.shutdown();
    await Promise.all(
      this.#rooms.all().map(async (s) => {
        for (const slot of Object.values(s.parties)) this.#relay.dropPublisher(s, slot);
        await this.#rooms.destroy(s);
      }),
    );
    this.#rooms.clear();
  }

  /** Takes over an authenticated WebSocket. Listeners are attached synchronously, so no frame is lost. */
  attach(ws: WebSocket, identity: SignalingIdentity, address: string | null = null): void {
    this.#connections.attach(ws, identity, address);
  }

  // ---- a party's messages ----------------------------------------------------------------------------------

  async #handle(conn: Connection, msg: ClientMessage): Promise<void> {
    if (msg.type === 'ping') {
      send(conn, { type: 'pong', ...rid(msg) });
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
        return this.#relay.publish(conn, session, slot, msg);
      case 'subscribe':
        return this.#relay.subscribe(conn, session, slot, msg);
      case 'answer':
        return this.#relay.answer(conn, msg);
      case 'trickle':
        return this.#relay.trickle(conn, slot, msg);
      case 'restart-ice':
        return this.#relay.restartIce(conn, slot, msg);
      case 'chat':
        return this.#chat.post(conn, session, slot, msg);
      case 'media-state':
        return this.#mediaState(conn, session, slot, msg);
      case 'leave':
        return this.#leave(conn, session, slot);
      case 'quality':
        reportQuality(this.#opts, conn, session, slot, msg);
        return;
    }
  }

  async #join(conn: Connection, requestId: number | undefined): Promise<void> {
    if (conn.session) throw new Refused(SIGNALING_ERRORS.WRONG_STATE, 'already joined');
    const { sessionId, party } = conn.identity;
    if (this.#rooms.hasEnded(sessionId)) {
      send(conn, { type: 'ended', reason: 'the session has ended' });
      this.#connections.retire(conn, CLOSE_CODES.ENDED, 'session ended');
      return;
    }
    const session = this.#rooms.open(sessionId);
    const slot = session.parties[party];
    if (slot.joins >= SIGNALING_LIMITS.maxJoinsPerParty) {
      throw new Refused(SIGNALING_ERRORS.LIMIT, `This call has been rejoined ${slot.joins} times, the most one session allows; the teller must end it and start a new session.`);
    }
    const reconnect = slot.joins > 0;
    await this.#events.action(conn, reconnect ? 'reconnect' : 'join', { previous: slot.state });
    if (conn.closed || session.ended) return;
    const previous = slot.conn;
    if (previous && previous !== conn) {
      // The same party on a new socket (a reconnect, or a second tab): the newer one wins.
      slot.conn = null;
      this.#connections.retire(previous, CLOSE_CODES.REPLACED, 'replaced by a newer connection');
    }
    this.#relay.dropPublisher(session, slot);
    if (slot.graceTimer) clearTimeout(slot.graceTimer);
    slot.graceTimer = null;
    slot.conn = conn;
    slot.actor = conn.identity.actor;
    slot.joins += 1;
    conn.session = session;
    const other = session.parties[otherParty(party)];
    setPeerState(session, slot, 'joined');
    slot.joinedAt = Date.now();
    this.#opts.metrics?.joinStage('socket_connected', true);
    if (this.#opts.gateway.isUp()) {
      await this.#rooms.ensure(session).catch((err) => this.#opts.log?.warn({ session: session.id, err: (err as Error).message }, 'room not ready at join'));
    }
    await this.#chat.load(session);
    send(conn, {
      type: 'joined',
      ...rid({ rid: requestId }),
      party,
      peer: { party: other.party, state: other.state },
      janus: this.#opts.gateway.isUp() ? 'up' : 'down',
      iceServers: this.#opts.iceServers ?? [],
      reconnected: reconnect,
    });
    this.#chat.replay(conn, session);
    if (session.mode !== 'video') send(conn, { type: 'call-mode', mode: session.mode, reason: session.modeReason });
    if (other.publisher && other.publisherUp) void this.#relay.offerFeed(session, conn, other);
  }

  async #mediaState(conn: Connection, session: CallSession, slot: PartySlot, msg: Extract<ClientMessage, { type: 'media-state' }>): Promise<void> {
    const before = slot.media;
    const type = msg.screen && !before.screen ? 'screen-share-start' : !msg.screen && before.screen ? 'screen-share-stop' : 'media-state';
    const media = { audio: msg.audio, video: msg.video, screen: msg.screen };
    await this.#events.action(conn, type, media);
    slot.media = media;
    const other = session.parties[otherParty(slot.party)].conn;
    if (other) send(other, { type: 'media-state', party: slot.party, ...media });
  }

  async #leave(conn: Connection, session: CallSession, slot: PartySlot): Promise<void> {
    try {
      await this.#events.action(conn, 'leave', { reason: 'left' });
    } catch (err) {
      // Leaving cannot be refused: the person is gone either way.
      this.#opts.log?.error({ session: session.id, party: slot.party, err }, 'leave event not recorded');
    }
    this.#partyLeft(session, slot);
    this.#connections.retire(conn, CLOSE_CODES.NORMAL, 'left');
  }

  // ---- a party going away ------------------------------------------------------------------------------------

  /** A joined socket closed without a leave (and was not replaced): the party may come back with the same credentials. */
  #dropped(conn: Connection): void {
    const session = conn.session;
    if (!session) return;
    const slot = session.parties[conn.identity.party];
    if (slot.conn !== conn) return;
    slot.conn = null;
    this.#relay.dropPublisher(session, slot);
    setPeerState(session, slot, 'reconnecting');
    this.#events.fact(session, slot, 'disconnect', {});
    slot.graceTimer = setTimeout(() => {
      slot.graceTimer = null;
      if (slot.conn || session.ended || slot.state !== 'reconnecting') return;
      this.#events.fact(session, slot, 'timeout', {});
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
      this.#connections.onClose(conn);
    }
    this.#relay.dropPublisher(session, slot);
    setPeerState(session, slot, 'left');
    const anyoneLeft = PARTIES.some((p) => ['joined', 'reconnecting', 'media-up'].includes(session.parties[p].state));
    if (!anyoneLeft) {
      this.#rooms.delete(session.id);
      void this.#rooms.destroy(session);
      if (!session.ended && this.#opts.onAbandoned) {
        this.#opts.onAbandoned(session.id).catch((err: unknown) => this.#opts.log?.error({ session: session.id, err }, 'abandoned session not ended'));
      }
    }
  }

  // ---- Janus going away and coming back ----------------------------------------------------------------

  #janusDown(): void {
    this.#rooms.lost();
    for (const session of this.#rooms.all()) this.#relay.lost(session);
    for (const conn of this.#connections.all()) send(conn, { type: 'janus-state', state: 'down' });
  }

  async #janusUp(): Promise<void> {
    await Promise.all(
      this.#rooms.all().map(async (session) => {
        if (PARTIES.some((p) => session.parties[p].conn)) {
          await this.#rooms.ensure(session).catch((err) => this.#opts.log?.error({ session: session.id, err: (err as Error).message }, 'room not recreated'));
        }
      }),
    );
    for (const conn of this.#connections.all()) send(conn, { type: 'janus-state', state: 'up' });
  }
}
