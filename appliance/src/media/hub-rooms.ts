// The hub's call sessions, one media room each: the record of a session and its two parties, the room's random
// id, secret and pin (never shown to browsers), creating the room (once, even when asked twice at the same time)
// and destroying it, and the recently ended sessions for which no room may be opened again.
import { randomBytes, randomInt } from 'node:crypto';
import { createSessionSpoolDir } from '../recording/spool-dirs.js';
import type { CallSession, PartySlot, SignalingHubOptions } from './hub-types.js';
import type { Party } from './protocol.js';

type RoomOptions = Pick<SignalingHubOptions, 'gateway' | 'recordingDir' | 'recordingGroupAccess' | 'log'>;

export class CallRooms {
  readonly #opts: RoomOptions;
  readonly #sessions = new Map<string, CallSession>();
  /** recently ended sessions: a stale credential must not open a fresh room for them */
  readonly #ended = new Set<string>();

  constructor(opts: RoomOptions) {
    this.#opts = opts;
  }

  get(sessionId: string): CallSession | undefined {
    return this.#sessions.get(sessionId);
  }

  all(): CallSession[] {
    return [...this.#sessions.values()];
  }

  /** Forgets a session (ended, or nobody left in it); its room is destroyed separately. */
  delete(sessionId: string): void {
    this.#sessions.delete(sessionId);
  }

  clear(): void {
    this.#sessions.clear();
  }

  /** The session's record, made now (both parties absent, no room yet) when this process has none. */
  open(sessionId: string, roomId?: number): CallSession {
    let s = this.#sessions.get(sessionId);
    if (s) return s;
    const slot = (party: Party): PartySlot => ({
      party,
      state: 'absent',
      conn: null,
      actor: {},
      joins: 0,
      segment: 0,
      publisher: null,
      publisherUp: false,
      media: { audio: true, video: true, screen: false },
      graceTimer: null,
      joinedAt: null,
    });
    s = {
      id: sessionId,
      room: {
        // Room ids are numbers in Janus; random so that one cannot be guessed from another.
        id: roomId ?? randomInt(1, 2 ** 47),
        secret: randomBytes(24).toString('base64url'),
        pin: randomBytes(24).toString('base64url'),
        recDir: this.#opts.recordingDir(sessionId),
      },
      roomReady: false,
      roomPending: null,
      parties: { teller: slot('teller'), customer: slot('customer') },
      chatSeq: 0,
      chat: [],
      chatLoaded: null,
      ended: false,
      mode: 'video',
      modeReason: 'recovered',
    };
    this.#sessions.set(sessionId, s);
    return s;
  }

  /** Creates the session's spool folder and room unless ready; concurrent callers share one attempt. */
  ensure(session: CallSession): Promise<void> {
    if (session.roomReady) return Promise.resolve();
    session.roomPending ??= (async () => {
      try {
        await createSessionSpoolDir(session.room.recDir, this.#opts.recordingGroupAccess ?? false);
        await this.#opts.gateway.createRoom({ room: session.room.id, secret: session.room.secret, pin: session.room.pin, recDir: session.room.recDir, record: true });
        session.roomReady = true;
      } finally {
        session.roomPending = null;
      }
    })();
    return session.roomPending;
  }

  async destroy(session: CallSession): Promise<void> {
    const wasReady = session.roomReady;
    session.roomReady = false;
    if (!wasReady || !this.#opts.gateway.isUp()) return;
    try {
      await this.#opts.gateway.destroyRoom(session.room.id, session.room.secret);
    } catch (err) {
      this.#opts.log?.warn({ session: session.id, err: (err as Error).message }, 'room not destroyed');
    }
  }

  /** The media server went away: every room went with it. */
  lost(): void {
    for (const session of this.#sessions.values()) {
      session.roomReady = false;
      session.roomPending = null;
    }
  }

  markEnded(sessionId: string): void {
    this.#ended.add(sessionId);
    // Bounded: the app's authenticate() is the real gate; this only catches a race with the hang-up.
    if (this.#ended.size > 10_000) this.#ended.delete(this.#ended.values().next().value as string);
  }

  hasEnded(sessionId: string): boolean {
    return this.#ended.has(sessionId);
  }
}
