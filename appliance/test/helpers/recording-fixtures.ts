// Database rows and folders the recording tests start from: a case, its invitation and an ended call session
// (inserted as the runtime role, like the appliance does), a data dir with recordings / archive / KEK folders.
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { chmod, copyFile, mkdir, mkdtemp, open, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';

export const RECONNECT_FIXTURE = fileURLToPath(new URL('../fixtures/recording-reconnect/', import.meta.url));

export interface EndedSession {
  caseId: string;
  sessionId: string;
}

export async function insertSession(
  db: pg.Pool | pg.PoolClient,
  o: { admittedAt: Date; endedAt: Date | null; teller?: string },
): Promise<EndedSession> {
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
