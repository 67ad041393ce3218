import t from 'tap';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createTestDatabase } from '@kyc/compliance/testing';
import { allMigrations } from '../../src/migrations-dir.js';
import { signInSessionRepository } from '../../src/repositories/sign-in-session.repository.js';
import { SignInSessions } from '../../src/services/sign-in-sessions.js';
import { ManualClock } from '../helpers/clock.js';

const IDLE_SECONDS = 1800;

t.test('browser sessions are cached briefly, never past expiry, and forgotten at sign-out', async (t) => {
  const db = await createTestDatabase(allMigrations);
  t.teardown(() => db.drop());
  const pool = new pg.Pool({ connectionString: db.appUrl, max: 2 });
  t.teardown(() => pool.end());
  const clock = new ManualClock();
  const sessions = new SignInSessions(pool, IDLE_SECONDS, null, clock);
  const newSession = async (expiresInMs: number): Promise<Buffer> => {
    const id = randomBytes(32);
    await signInSessionRepository.create(
      pool,
      id,
      { subject: 's-1', username: 'auditor1', roles: ['auditor'], branch: null, idToken: null, expiresAt: new Date(clock.now() + expiresInMs) },
      new Date(clock.now()),
    );
    return id;
  };
  const removeRow = (id: Buffer) => pool.query('DELETE FROM web_sessions WHERE id_hash = $1', [id]);

  t.test('a live session is found, then served from the cache until forgotten', async (t) => {
    const id = await newSession(3600_000);
    t.equal((await sessions.find(id))?.username, 'auditor1');
    await removeRow(id);
    t.equal((await sessions.find(id))?.username, 'auditor1', `kept up to ${SignInSessions.TTL_MS} ms after the row went`);
    sessions.forget(id);
    t.equal(await sessions.find(id), null, 'gone at once after forget()');
  });

  t.test('a lookup under way when the session is forgotten is not kept', async (t) => {
    const id = await newSession(3600_000);
    const pending = sessions.find(id);
    sessions.forget(id);
    t.equal((await pending)?.username, 'auditor1', 'the row still existed when it was read');
    await removeRow(id);
    t.equal(await sessions.find(id), null, 'the next request reads the database again');
  });

  t.test('a cached session is not used past its expiry', async (t) => {
    const id = await newSession(400);
    t.ok(await sessions.find(id));
    clock.advance(300);
    t.ok(await sessions.find(id), 'before its expiry');
    clock.advance(200);
    t.equal(await sessions.find(id), null, 'past it');
  });

  t.test('a session idle longer than the limit is not found', async (t) => {
    const id = await newSession(2 * IDLE_SECONDS * 1000);
    t.ok(await sessions.find(id));
    clock.advance(IDLE_SECONDS * 1000 + 1000);
    t.equal(await sessions.find(id), null, 'neither from the cache nor from the database');
  });

  t.test('unknown sessions are not cached', async (t) => {
    const id = randomBytes(32);
    t.equal(await sessions.find(id), null);
    await signInSessionRepository.create(
      pool,
      id,
      { subject: 's-2', username: 'auditor2', roles: ['auditor'], branch: null, idToken: null, expiresAt: new Date(clock.now() + 3600_000) },
      new Date(clock.now()),
    );
    t.equal((await sessions.find(id))?.username, 'auditor2');
  });
});
