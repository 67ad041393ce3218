// Database rows and folders the recording tests start from: a case, its invitation and an ended call session
// (inserted as the runtime role, like the appliance does), a data dir with recordings / archive / KEK folders.
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { chmod, copyFile, mkdir, mkdtemp, open, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const PgPool = pg.Pool;
import { AuditLog, FileKeyring, type KeyWrapper } from '@kyc/compliance';
import { createTestDatabase, type TestDatabase } from '@kyc/compliance/testing';
import { allMigrations } from '../../src/migrations-dir.js';
import type { AppConfig } from '../../src/config/load.js';
import { newCaseBody, type TestAppliance } from './appliance.js';
import { MediaTools } from '../../src/recording/media-tools.js';
import { sealRecording } from '../../src/recording/seal-job.js';
import { recordingRepository } from '../../src/repositories/recording.repository.js';

/** Debian's media tools, as the appliance's defaults name them. */
export const SYSTEM_TOOLS = { ffmpeg: '/usr/bin/ffmpeg', ffprobe: '/usr/bin/ffprobe', janusPpRec: '/usr/bin/janus-pp-rec' };

export const RECONNECT_FIXTURE = fileURLToPath(new URL('../fixtures/recording-reconnect/', import.meta.url));

export interface EndedSession {
  caseId: string;
  sessionId: string;
}

export async function insertSession(db: pg.Pool | pg.PoolClient, o: { admittedAt: Date; endedAt: Date | null; teller?: string }): Promise<EndedSession> {
  const caseId = randomUUID();
  const invitationId = randomUUID();
  const sessionId = randomUUID();
  const teller = o.teller ?? 'teller1';
  const b = () => randomBytes(16);
  await db.query(
    `INSERT INTO cases (id, status, teller, branch, product, customer_name_enc, customer_id_enc, customer_phone_enc, id_number_bidx, name_bidx)
     VALUES ($1, 'in_session', $2, 'test branch', 'test product', $3, $4, $5, $6, $7)`,
    [caseId, teller, b(), b(), b(), b(), b()],
  );
  await db.query(
    `INSERT INTO invitations (id, case_id, token_hash, code_hash, code_enc, token_enc, created_by, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, now() + interval '1 hour')`,
    [invitationId, caseId, b(), b(), b(), b(), teller],
  );
  await db.query(
    `INSERT INTO call_sessions (id, case_id, invitation_id, teller, state, room_id, admitted_at, ended_at, end_reason)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [sessionId, caseId, invitationId, teller, o.endedAt ? 'ended' : 'live', randomInt(1, 2 ** 47), o.admittedAt, o.endedAt, o.endedAt ? 'hangup' : null],
  );
  return { caseId, sessionId };
}

export interface DataDirs {
  dataDir: string;
  recordingsDir: string;
  archiveDir: string;
  kekDir: string;
}

export async function makeDataDirs(t: { teardown(fn: () => unknown): void }): Promise<DataDirs> {
  const dataDir = await mkdtemp(join(tmpdir(), 'kyc-rec-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const d = { dataDir, recordingsDir: join(dataDir, 'recordings'), archiveDir: join(dataDir, 'archive'), kekDir: join(dataDir, 'secrets', 'kek') };
  for (const p of [d.recordingsDir, d.archiveDir]) {
    await mkdir(p, { recursive: true, mode: 0o700 });
    await chmod(p, 0o700);
  }
  return d;
}

/** Copies the committed fixture (.mjr files) into a session's recording folder. */
export async function copyFixture(fixtureDir: string, sessionDir: string): Promise<string[]> {
  await mkdir(sessionDir, { recursive: true, mode: 0o700 });
  await chmod(sessionDir, 0o700);
  const names = (await readdir(fixtureDir)).filter((n) => n.endsWith('.mjr'));
  for (const n of names) await copyFile(join(fixtureDir, n), join(sessionDir, n));
  return names;
}

/** The first-packet time of the fixture's earliest stream (from the .mjr headers), to place the session around it. */
export async function fixtureStart(fixtureDir: string): Promise<Date> {
  let min = Infinity;
  for (const n of (await readdir(fixtureDir)).filter((x) => x.endsWith('.mjr'))) {
    const buf = await readFile(join(fixtureDir, n));
    const len = buf.readUInt16BE(8);
    const header = JSON.parse(buf.subarray(10, 10 + len).toString('utf8')) as { u: number };
    min = Math.min(min, header.u);
  }
  return new Date(Math.floor(min / 1000));
}

const SIGNATURES: Array<{ name: string; bytes: Buffer; at: number }> = [
  { name: 'WebM/Matroska (EBML)', bytes: Buffer.from([0x1a, 0x45, 0xdf, 0xa3]), at: 0 },
  { name: 'Ogg', bytes: Buffer.from('OggS'), at: 0 },
  { name: 'MP4', bytes: Buffer.from('ftyp'), at: 4 },
  { name: 'Janus MJR', bytes: Buffer.from('MJR0000'), at: 0 },
];

/** Every file under `dir` that starts like plaintext media (WebM, Ogg, MP4 or MJR). */
export async function findPlaintextMedia(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) {
        const fh = await open(p, 'r');
        const head = Buffer.alloc(16);
        try {
          await fh.read(head, 0, 16, 0);
        } finally {
          await fh.close();
        }
        const sig = SIGNATURES.find((s) => head.subarray(s.at, s.at + s.bytes.length).equals(s.bytes));
        if (sig) found.push(`${p} (${sig.name})`);
      }
    }
  };
  await walk(dir);
  return found;
}

/** When the fixture's call was admitted and hung up: 0.3 s before its first packet, 4.8 s after. */
export async function fixtureCallTimes(): Promise<{ admittedAt: Date; endedAt: Date }> {
  const start = await fixtureStart(RECONNECT_FIXTURE);
  return { admittedAt: new Date(start.getTime() - 300), endedAt: new Date(start.getTime() + 4800) };
}

/**
 * Seals the committed Janus fixture as the recording of an ended session, with the real seal job, in a test
 * appliance's recording folders and key-encryption keys. Returns the recording id and the keyring.
 */
export async function sealFixtureRecording<K extends KeyWrapper = FileKeyring>(
  a: { config: AppConfig; runtime: { auditLog: AuditLog } },
  pool: pg.Pool,
  session: { caseId: string; sessionId: string },
  /** the keyring to seal with (default: the KEK directory's file keyring, created if empty) */
  withKeyring?: K,
): Promise<{ recordingId: string; keyring: K; status: string }> {
  const rec = a.config.recording;
  for (const d of [rec.dir, rec.archiveDir]) {
    await mkdir(d, { recursive: true, mode: 0o700 });
    await chmod(d, 0o700);
  }
  const keyring = withKeyring ?? ((await FileKeyring.openOrCreate(rec.kekDir)).keyring as unknown as K);
  await copyFixture(RECONNECT_FIXTURE, join(rec.dir, session.sessionId));
  const row = await recordingRepository.createForSession(pool, { id: randomUUID(), sessionId: session.sessionId, caseId: session.caseId });
  if (!row) throw new Error('no recording row');
  const status = await sealRecording(
    { pool, audit: a.runtime.auditLog, keyring, tools: new MediaTools(SYSTEM_TOOLS), recordingsDir: rec.dir, archiveDir: rec.archiveDir, settleMs: 0 },
    row.id,
  );
  return { recordingId: row.id, keyring, status };
}

/**
 * A case made through the API (so its personal data decrypts) with an invitation and an ended call in the database,
 * as the live-call flow leaves it; that flow has its own tests.
 */
export async function caseWithEndedCall(a: TestAppliance, pool: pg.Pool, teller: string, window: { admittedAt: Date; endedAt: Date }) {
  const res = await a.app.inject({
    method: 'POST',
    url: '/api/cases',
    headers: { authorization: `Bearer ${await a.tokenFor(teller)}` },
    payload: newCaseBody(),
  });
  if (res.statusCode !== 201 && res.statusCode !== 200) throw new Error(`create case: ${res.statusCode} ${res.body}`);
  const caseId: string = res.json().id;
  const inv = await a.app.inject({ method: 'POST', url: `/api/cases/${caseId}/invitations`, headers: { authorization: `Bearer ${await a.tokenFor(teller)}` } });
  if (inv.statusCode !== 201 && inv.statusCode !== 200) throw new Error(`invite: ${inv.statusCode} ${inv.body}`);
  const invitationId: string = inv.json().id;
  const sessionId = randomUUID();
  // The call as the live-call flow leaves it; that flow has its own tests.
  await pool.query(`UPDATE cases SET status = 'in_session' WHERE id = $1`, [caseId]);
  await pool.query(
    `INSERT INTO call_sessions (id, case_id, invitation_id, teller, state, room_id, admitted_at, ended_at, end_reason)
     VALUES ($1, $2, $3, $4, 'ended', $5, $6, $7, 'hangup')`,
    [sessionId, caseId, invitationId, teller, randomInt(1, 2 ** 47), window.admittedAt, window.endedAt],
  );
  return { caseId, sessionId };
}

/** A fresh database with every migration, a pool on it as kyc_app and an audit log; all torn down with `t`. */
export async function auditedTestDatabase(t: { teardown(fn: () => unknown): void }, poolSize = 4): Promise<{ db: TestDatabase; pool: pg.Pool; audit: AuditLog }> {
  const db = await createTestDatabase(allMigrations);
  const pool = new PgPool({ connectionString: db.appUrl, max: poolSize });
  pool.on('error', () => undefined);
  const audit = new AuditLog({ pool });
  t.teardown(async () => {
    await audit.close().catch(() => undefined);
    await pool.end();
    await db.drop();
  });
  return { db, pool, audit };
}

/** Polls `fn` until it gives a value (a sealed recording, a file, a row…); fails naming `what` after `limitMs`. */
export async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, limitMs = 120_000): Promise<T> {
  const end = Date.now() + limitMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
