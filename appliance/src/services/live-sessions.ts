import type { Queryable } from '../db/database.js';
import { sessionRepository, type StoredSession } from '../repositories/session.repository.js';

/**
 * Browser sessions as the auth hook sees them: looked up in PostgreSQL and kept for a few seconds, because a replay
 * sends a range request every few hundred milliseconds and the lookup costs more than serving a small range.
 * A cached session is never used past its expiry or idle limit; sign-out forgets it at once (this process is the
 * only one serving HTTP), and a lookup that was under way when the session was forgotten is not kept.
 */
export class LiveSessions {
  static readonly TTL_MS = 10_000;
  private static readonly MAX = 10_000;
  private readonly cache = new Map<string, { session: StoredSession; until: number }>();
  /** counts sign-outs: a lookup is cached only if its session was not forgotten since the lookup began */
  private epoch = 0;
  /** the epoch at which each session was last forgotten, and when (kept for TTL_MS) */
  private readonly forgotten = new Map<string, { epoch: number; at: number }>();

  constructor(
    private readonly db: Queryable,
    private readonly idleSeconds: number,
  ) {}

  /** The live session, or null when unknown, expired, idle too long or signed out. */
  async find(idHash: Buffer): Promise<StoredSession | null> {
    const key = idHash.toString('base64');
    const now = Date.now();
    const hit = this.cache.get(key);
    if (hit && hit.until > now) return hit.session;
    if (hit) this.cache.delete(key);
    const began = this.epoch;
    const session = await sessionRepository.findLive(this.db, idHash, this.idleSeconds);
    const forgotten = this.forgotten.get(key);
    if (session && (forgotten === undefined || forgotten.epoch <= began)) this.remember(key, session, Date.now());
    return session;
  }

  /** Slides the idle timeout: written at most once a minute per session. */
  async touchIfDue(idHash: Buffer, session: StoredSession): Promise<void> {
    const now = Date.now();
    if (now - session.lastSeenAt.getTime() <= 60_000) return;
    await sessionRepository.touch(this.db, idHash);
    const key = idHash.toString('base64');
    const hit = this.cache.get(key);
    if (hit) this.remember(key, { ...hit.session, lastSeenAt: new Date(now) }, now);
  }

  /** After a sign-out (call once the session row is gone). */
  forget(idHash: Buffer): void {
    const key = idHash.toString('base64');
    const now = Date.now();
    this.cache.delete(key);
    this.epoch += 1;
    this.forgotten.delete(key); // re-inserted last: the map stays in forgetting order
    this.forgotten.set(key, { epoch: this.epoch, at: now });
    for (const [k, f] of this.forgotten) {
      if (f.at > now - LiveSessions.TTL_MS) break;
      this.forgotten.delete(k);
    }
  }

  private remember(key: string, session: StoredSession, now: number): void {
    const until = Math.min(now + LiveSessions.TTL_MS, session.expiresAt.getTime(), session.lastSeenAt.getTime() + this.idleSeconds * 1000);
    if (until <= now) return;
    this.cache.delete(key);
    if (this.cache.size >= LiveSessions.MAX) {
      for (const [k, v] of this.cache) if (v.until <= now) this.cache.delete(k);
      while (this.cache.size >= LiveSessions.MAX) this.cache.delete(this.cache.keys().next().value as string);
    }
    this.cache.set(key, { session, until });
  }
}
