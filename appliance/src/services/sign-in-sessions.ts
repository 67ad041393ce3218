import { withTransaction, type Queryable } from '../db/database.js';
import type pg from 'pg';
import { clockDate, systemClock, type Clock } from '../lib/clock.js';
import type { PiiCipher } from '../lib/pii-cipher.js';
import { signInSessionRepository, type SignInSessionFilter, type StoredSignInSession } from '../repositories/sign-in-session.repository.js';
import { auditEvent, type AuditActor, type AuditSink } from './audit.js';
import { IdpRefusedError, IdpUnavailableError, type VerifiedUser } from './oidc.js';

/** How sign-in sessions are re-checked with the identity provider and what happens when they end. */
export interface SessionRevocation {
  pool: pg.Pool;
  audit: AuditSink;
  /** the refresh token is kept encrypted with this cipher, bound to the session */
  cipher: PiiCipher;
  idp: { refresh(refreshToken: string): Promise<{ user: VerifiedUser; refreshToken: string | null }> };
  /** re-check each session with the identity provider at least this often */
  recheckSeconds: number;
  /**
   * while the identity provider cannot be reached, a session goes on for at most this long past a due re-check;
   * then its requests are refused (503) until the provider answers again (fail closed, bounded)
   */
  unreachableGraceSeconds: number;
  /** sessions ended (by their id hash, base64): close what they hold open (signaling sockets) */
  onEnded?: (idHashes: string[]) => void;
  log?: { warn(obj: object, msg: string): void };
}

const REFRESH_FIELD = 'refresh_token';
/** after the identity provider could not be reached, ask again no sooner than this */
const UNREACHABLE_RETRY_MS = 30_000;

/**
 * Browser sign-in sessions as the auth hook sees them: looked up in PostgreSQL and kept for a few seconds, because a replay
 * sends a range request every few hundred milliseconds and the lookup costs more than serving a small range.
 * A cached session is never used past its expiry or idle limit; sign-out forgets it at once (this process is the
 * only one serving HTTP), and a lookup that was under way when the session was forgotten is not kept.
 */
export class SignInSessions {
  static readonly TTL_MS = 10_000;
  private static readonly MAX = 10_000;
  private readonly cache = new Map<string, { session: StoredSignInSession; until: number }>();
  /** counts sign-outs: a lookup is cached only if its session was not forgotten since the lookup began */
  private epoch = 0;
  /** the epoch at which each session was last forgotten, and when (kept for TTL_MS) */
  private readonly forgotten = new Map<string, { epoch: number; at: number }>();

  private readonly rechecking = new Map<string, Promise<StoredSignInSession | null>>();
  private readonly unreachableUntil = new Map<string, number>();
  private purgeTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly db: Queryable,
    private readonly idleSeconds: number,
    private readonly revocation: SessionRevocation | null = null,
    /** expiry, idle limit, cache age and re-check times are read from this clock */
    readonly clock: Clock = systemClock,
  ) {}

  /** The refresh token of a new session, encrypted for the session row. */
  sealRefreshToken(idHash: Buffer, refreshToken: string | null): Buffer | null {
    if (!refreshToken || !this.revocation) return null;
    return this.revocation.cipher.encrypt(idHash.toString('base64'), REFRESH_FIELD, refreshToken);
  }

  /**
   * Re-checks the user with the identity provider when the last check is older than the configured interval (refresh
   * token grant): the session then carries the roles the realm gives now. When the realm refuses (session ended
   * there, user disabled, roles withdrawn from the client), the session ends here (audited) and null is returned.
   * While the identity provider cannot be reached the session goes on and is re-checked at the next request after
   * UNREACHABLE_RETRY_MS — but for at most `unreachableGraceSeconds` past the due re-check: after that its requests
   * throw IdpUnavailableError (503) until the provider answers; the session is kept, so work resumes when it does.
   */
  async recheckIfDue(idHash: Buffer, session: StoredSignInSession): Promise<StoredSignInSession | null> {
    const r = this.revocation;
    if (!r) return session;
    const now = this.clock.now();
    if (now - session.idpCheckedAt.getTime() < r.recheckSeconds * 1000) return session;
    const key = idHash.toString('base64');
    if ((this.unreachableUntil.get(key) ?? 0) > now) return this.withinGrace(r, session, now);
    let pending = this.rechecking.get(key);
    if (!pending) {
      pending = this.recheck(r, idHash, key, session).finally(() => this.rechecking.delete(key));
      this.rechecking.set(key, pending);
    }
    return pending;
  }

  private async recheck(r: SessionRevocation, idHash: Buffer, key: string, session: StoredSignInSession): Promise<StoredSignInSession | null> {
    const actor: AuditActor = { username: session.username, roles: session.roles, auth: 'session' };
    if (!session.refreshTokenEnc) return this.endOne(r, idHash, actor, 'the session cannot be re-checked with the identity provider');
    let refreshToken: string;
    try {
      refreshToken = r.cipher.decrypt(key, REFRESH_FIELD, session.refreshTokenEnc);
    } catch {
      return this.endOne(r, idHash, actor, 'the session cannot be re-checked with the identity provider');
    }
    let fresh: { user: VerifiedUser; refreshToken: string | null };
    try {
      fresh = await r.idp.refresh(refreshToken);
    } catch (err) {
      if (err instanceof IdpRefusedError) return this.endOne(r, idHash, actor, 'the identity provider ended the sign-in');
      if (!(err instanceof IdpUnavailableError)) throw err;
      r.log?.warn({}, 'identity provider unreachable for a session re-check; retried later');
      const now = this.clock.now();
      this.unreachableUntil.set(key, now + UNREACHABLE_RETRY_MS);
      return this.withinGrace(r, session, now);
    }
    this.unreachableUntil.delete(key);
    if (fresh.user.subject !== session.subject) return this.endOne(r, idHash, actor, 'the identity provider answered for another user');
    const refreshTokenEnc = fresh.refreshToken ? r.cipher.encrypt(key, REFRESH_FIELD, fresh.refreshToken) : null;
    if (!(await signInSessionRepository.rechecked(this.db, idHash, { roles: fresh.user.roles, branch: fresh.user.branch, refreshTokenEnc }, clockDate(this.clock)))) return null;
    const updated: StoredSignInSession = {
      ...session,
      roles: fresh.user.roles,
      branch: fresh.user.branch,
      refreshTokenEnc: refreshTokenEnc ?? session.refreshTokenEnc,
      idpCheckedAt: clockDate(this.clock),
    };
    this.remember(key, updated, this.clock.now());
    return updated;
  }

  /** The session while its unchecked time stays within the grace; past it, refused until the provider answers. */
  private withinGrace(r: SessionRevocation, session: StoredSignInSession, now: number): StoredSignInSession {
    const overdueMs = now - session.idpCheckedAt.getTime() - r.recheckSeconds * 1000;
    if (overdueMs > r.unreachableGraceSeconds * 1000) {
      throw new IdpUnavailableError(new Error('the identity provider has not confirmed this session for too long'));
    }
    return session;
  }

  private async endOne(r: SessionRevocation, idHash: Buffer, actor: AuditActor, reason: string): Promise<null> {
    await withTransaction(r.pool, async (client) => {
      if (await signInSessionRepository.remove(client, idHash)) {
        await r.audit.appendInTx(client, auditEvent(null, { action: 'auth.session_revoked', object: null, result: 'success', reason }, actor));
      }
    });
    this.ended([idHash]);
    return null;
  }

  /** Ends the matching sessions inside the caller's (audited) transaction; call ended() with the result after commit. */
  endWhere(client: Queryable, filter: SignInSessionFilter): Promise<Buffer[]> {
    return signInSessionRepository.removeWhere(client, filter);
  }

  /** Sessions whose rows are gone (sign-out, back-channel logout, an admin, a refused re-check): forgotten here, their sockets closed. */
  ended(idHashes: Buffer[]): void {
    for (const h of idHashes) this.forget(h);
    if (idHashes.length > 0) this.revocation?.onEnded?.(idHashes.map((h) => h.toString('base64')));
  }

  /** Deletes expired and idle sessions, expired sign-in states and logout-token records every `everyMs`. */
  startPurging(everyMs: number, onError: (err: unknown) => void = () => undefined): void {
    if (this.purgeTimer) return;
    const run = () => void signInSessionRepository.removeExpired(this.db, this.idleSeconds).catch(onError);
    run();
    this.purgeTimer = setInterval(run, everyMs);
    this.purgeTimer.unref();
  }

  stopPurging(): void {
    if (this.purgeTimer) clearInterval(this.purgeTimer);
    this.purgeTimer = null;
  }

  /** The live session, or null when unknown, expired, idle too long or signed out. */
  async find(idHash: Buffer): Promise<StoredSignInSession | null> {
    const key = idHash.toString('base64');
    const now = this.clock.now();
    const hit = this.cache.get(key);
    if (hit && hit.until > now) return hit.session;
    if (hit) this.cache.delete(key);
    const began = this.epoch;
    const session = await signInSessionRepository.findLive(this.db, idHash, this.idleSeconds, clockDate(this.clock));
    const forgotten = this.forgotten.get(key);
    if (session && (forgotten === undefined || forgotten.epoch <= began)) this.remember(key, session, this.clock.now());
    return session;
  }

  /** Slides the idle timeout: written at most once a minute per session. */
  async touchIfDue(idHash: Buffer, session: StoredSignInSession): Promise<void> {
    const now = this.clock.now();
    if (now - session.lastSeenAt.getTime() <= 60_000) return;
    await signInSessionRepository.touch(this.db, idHash, new Date(now));
    const key = idHash.toString('base64');
    const hit = this.cache.get(key);
    if (hit) this.remember(key, { ...hit.session, lastSeenAt: new Date(now) }, now);
  }

  /** After a sign-out (call once the session row is gone). */
  forget(idHash: Buffer): void {
    const key = idHash.toString('base64');
    const now = this.clock.now();
    this.cache.delete(key);
    this.epoch += 1;
    this.forgotten.delete(key); // re-inserted last: the map stays in forgetting order
    this.forgotten.set(key, { epoch: this.epoch, at: now });
    for (const [k, f] of this.forgotten) {
      if (f.at > now - SignInSessions.TTL_MS) break;
      this.forgotten.delete(k);
    }
  }

  private remember(key: string, session: StoredSignInSession, now: number): void {
    const until = Math.min(now + SignInSessions.TTL_MS, session.expiresAt.getTime(), session.lastSeenAt.getTime() + this.idleSeconds * 1000);
    if (until <= now) return;
    this.cache.delete(key);
    if (this.cache.size >= SignInSessions.MAX) {
      for (const [k, v] of this.cache) if (v.until <= now) this.cache.delete(k);
      while (this.cache.size >= SignInSessions.MAX) this.cache.delete(this.cache.keys().next().value as string);
    }
    this.cache.set(key, { session, until });
  }
}
