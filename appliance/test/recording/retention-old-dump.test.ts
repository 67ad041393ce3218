import t from 'tap';
import { execFile } from 'node:child_process';
import { randomUUID, createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { PNG, startTestAppliance, type TestAppliance } from '../helpers/appliance.js';
import { caseWithEndedCall, fixtureCallTimes } from '../helpers/recording-fixtures.js';
import { RetentionShredder } from '../../src/recording/shred-job.js';
import { destroyShreddedCaseKeys, rekeyLegacyCases } from '../../src/services/case-keys.js';
import { PiiCipher } from '../../src/lib/pii-cipher.js';

// R11/R13: a database backup taken before a case was shredded, restored afterwards, must not bring the customer's
// personal data back. The appliance-wide PII key still exists then; the case's own key does not.

const run = promisify(execFile);
const DAY = 86_400_000;
const ENCRYPTED = ['customer_name_enc', 'customer_id_enc', 'customer_phone_enc', 'bank_card_enc'] as const;

/** A completed case with personal data, an invitation and an exchanged file, all written as the appliance writes them. */
async function seedCase(a: TestAppliance): Promise<{ caseId: string; fileId: string }> {
  const pool = a.runtime.ctx.pool;
  const { caseId, sessionId } = await caseWithEndedCall(a, pool, 'teller1', await fixtureCallTimes());
  const fileId = randomUUID();
  await pool.query(
    `INSERT INTO case_files (id, case_id, session_id, party, name, media_type, size, sha256, content_enc) VALUES ($1, $2, $3, 'customer', 'id.png', 'image/png', $4, $5, $6)`,
    [fileId, caseId, sessionId, PNG.length, createHash('sha256').update(PNG).digest(), a.runtime.ctx.pii.encryptForCase(caseId, fileId, 'case_file', PNG)],
  );
  const done = await a.app.inject({ method: 'POST', url: `/api/cases/${caseId}/complete`, headers: { authorization: `Bearer ${await a.tokenFor('teller1')}` } });
  if (done.statusCode !== 200) throw new Error(`complete: ${done.statusCode} ${done.body}`);
  return { caseId, fileId };
}

t.test('an old database dump restored after shredding holds personal data nobody can decrypt', async (t) => {
  const a = await startTestAppliance(t, { env: { KYC_RETENTION_RUN_HOURS: '0' } });
  const su = new pg.Pool({ connectionString: a.db.superUrl, max: 2 });
  t.teardown(() => su.end());
  const as = async (user: string) => ({ authorization: `Bearer ${await a.tokenFor(user)}` });
  const [admin, auditor] = [await as('admin1'), await as('auditor1')];
  t.equal(
    (await a.app.inject({ method: 'PUT', url: '/api/admin/retention/policies/VIDEO-WITNESS', headers: admin, payload: { retentionDays: 30, anchor: 'case_completed' } })).statusCode,
    200,
  );
  const gone = await seedCase(a);
  const kept = await seedCase(a);
  t.equal((await a.app.inject({ method: 'POST', url: `/api/cases/${kept.caseId}/holds`, headers: auditor, payload: { reason: 'complaint under review' } })).statusCode, 201);

  // the nightly backup: a real pg_dump, taken while both cases are whole
  const dir = mkdtempSync(join(tmpdir(), 'kyc-old-dump-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const dumpFile = join(dir, 'kyc.dump');
  await run('pg_dump', ['-Fc', '-f', dumpFile, a.db.superUrl]);

  // a month later: the retention run (the worker) shreds the unheld case; the appliance destroys its key
  const rec = a.config.recording;
  const shredder = new RetentionShredder({
    pool: a.runtime.ctx.pool,
    audit: a.runtime.auditLog,
    archiveDir: rec.archiveDir,
    recordingsDir: rec.dir,
    exportsDir: join(a.config.dataDir, 'exports'),
  });
  const result = await shredder.run(new Date(Date.now() + 31 * DAY), 'test');
  t.equal(result.shredded.pii, 1, 'the unheld case shredded');
  await destroyShreddedCaseKeys(a.runtime.ctx);
  t.notOk(existsSync(join(a.config.pii.caseKeyDir, `${gone.caseId}.key`)), 'its case key is gone');

  // the backup restored into a database of its own (pg_restore), read with every key the appliance still has
  const restoredName = `${a.db.name}_restored`;
  await su.query(`CREATE DATABASE ${restoredName}`);
  t.teardown(async () => {
    await su.query(`DROP DATABASE IF EXISTS ${restoredName} WITH (FORCE)`);
  });
  const restoredUrl = a.db.superUrl.replace(new RegExp(`/${a.db.name}(\\?|$)`), `/${restoredName}$1`);
  await run('pg_restore', ['-d', restoredUrl, dumpFile]);
  const old = new pg.Pool({ connectionString: restoredUrl, max: 1 });
  t.teardown(() => old.end());
  const oldCase = async (id: string) => (await old.query('SELECT * FROM cases WHERE id = $1', [id])).rows[0] as Record<string, Buffer | null>;
  const oldFile = async (id: string) => (await old.query<{ content_enc: Buffer }>('SELECT content_enc FROM case_files WHERE id = $1', [id])).rows[0]!.content_enc;
  const oldInvitation = async (caseId: string) => (await old.query<{ id: string; token_enc: Buffer }>('SELECT id, token_enc FROM invitations WHERE case_id = $1', [caseId])).rows[0]!;
  const pii = a.runtime.ctx.pii;

  const goneRow = await oldCase(gone.caseId);
  for (const column of ENCRYPTED) {
    const blob = goneRow[column]!;
    t.ok(blob, `the dump still holds ${column} of the shredded case`);
    t.equal(PiiCipher.caseOf(blob), gone.caseId, `${column} is under the case's key`);
    t.throws(() => pii.decrypt(gone.caseId, column.replace(/_enc$/, ''), blob), { code: 'KYC_ERR_SHREDDED' }, `${column} does not decrypt`);
  }
  t.throws(() => pii.decryptBytes(gone.fileId, 'case_file', Buffer.alloc(0)), 'an empty value is refused');
  t.throws(() => pii.decryptBytes(gone.fileId, 'case_file', Buffer.from([2, 0])), 'a malformed value is refused');
  const goneFile = await oldFile(gone.fileId);
  t.throws(() => pii.decryptBytes(gone.fileId, 'case_file', goneFile), { code: 'KYC_ERR_SHREDDED' }, "the exchanged file's content does not decrypt");
  const goneInv = await oldInvitation(gone.caseId);
  t.throws(() => pii.decrypt(goneInv.id, 'invitation_token', goneInv.token_enc), { code: 'KYC_ERR_SHREDDED' }, 'nor the invitation link');

  // the held case in the same dump reads as before: the test would see a key that was not destroyed
  const keptRow = await oldCase(kept.caseId);
  t.equal(pii.decrypt(kept.caseId, 'customer_name', keptRow.customer_name_enc!), '张三', 'the held case decrypts from the dump');
  t.same(pii.decryptBytes(kept.fileId, 'case_file', await oldFile(kept.fileId)), PNG);

  // and through the API: the shredded case's rows put back as the old backup has them
  await su.query(
    `UPDATE cases SET customer_name_enc = $2, customer_id_enc = $3, customer_phone_enc = $4, bank_card_enc = $5, id_number_bidx = $6, name_bidx = $7, shredded_at = NULL WHERE id = $1`,
    [gone.caseId, goneRow.customer_name_enc, goneRow.customer_id_enc, goneRow.customer_phone_enc, goneRow.bank_card_enc, goneRow.id_number_bidx, goneRow.name_bidx],
  );
  await su.query('UPDATE case_files SET content_enc = $2, shredded_at = NULL WHERE id = $1', [gone.fileId, goneFile]);
  const view = await a.app.inject({ method: 'GET', url: `/api/cases/${gone.caseId}`, headers: auditor });
  t.equal(view.statusCode, 200);
  t.equal(view.json().customerName, '(shredded)', 'the case shows as shredded, not its name');
  const reveal = await a.app.inject({ method: 'POST', url: `/api/cases/${gone.caseId}/reveal`, headers: auditor, payload: { field: 'customerName', reason: 'restored backup check' } });
  t.equal(reveal.statusCode, 410, 'reveal: 410');
  t.equal(reveal.json().error.code, 'KYC_ERR_SHREDDED');
  t.notOk(reveal.body.includes('张三'));
  const file = await a.app.inject({ method: 'GET', url: `/api/files/${gone.fileId}`, headers: auditor });
  t.equal(file.statusCode, 410, 'file: 410');
  t.equal(file.json().error.code, 'KYC_ERR_SHREDDED');
  const keptReveal = await a.app.inject({ method: 'POST', url: `/api/cases/${kept.caseId}/reveal`, headers: auditor, payload: { field: 'customerName', reason: 'restored backup check' } });
  t.equal(keptReveal.statusCode, 200);
  t.equal(keptReveal.json().value, '张三', 'the held case reveals');
});

t.test('after an upgrade, values written under the appliance-wide key move under their case key, audited', async (t) => {
  const a = await startTestAppliance(t);
  const pool = a.runtime.ctx.pool;
  const pii = a.runtime.ctx.pii;
  const su = new pg.Pool({ connectionString: a.db.superUrl, max: 1 });
  t.teardown(() => su.end());
  const { caseId, sessionId } = await caseWithEndedCall(a, pool, 'teller1', await fixtureCallTimes());
  // as an earlier version stored them: every value of the case under the appliance-wide key
  await su.query('UPDATE cases SET customer_name_enc = $2, customer_phone_enc = $3 WHERE id = $1', [
    caseId,
    pii.encrypt(caseId, 'customer_name', '李四'),
    pii.encrypt(caseId, 'customer_phone', '13900000000'),
  ]);
  const fileId = randomUUID();
  await su.query(`INSERT INTO case_files (id, case_id, session_id, party, name, media_type, size, sha256, content_enc) VALUES ($1, $2, $3, 'customer', 'id.png', 'image/png', $4, $5, $6)`, [
    fileId,
    caseId,
    sessionId,
    PNG.length,
    createHash('sha256').update(PNG).digest(),
    pii.encrypt(fileId, 'case_file', PNG),
  ]);
  const chatId = (
    await su.query<{ id: string }>(`INSERT INTO session_events (session_id, party, kind, data, text_enc) VALUES ($1, 'customer', 'chat', '{"seq":1}', $2) RETURNING id::text`, [
      sessionId,
      pii.encrypt(sessionId, 'chat', '你好'),
    ])
  ).rows[0]!.id;
  const junkId = (
    await su.query<{ id: string }>(`INSERT INTO session_events (session_id, party, kind, data, text_enc) VALUES ($1, 'customer', 'chat', '{"seq":2}', $2) RETURNING id::text`, [
      sessionId,
      Buffer.concat([Buffer.from([1]), Buffer.alloc(40, 7)]),
    ])
  ).rows[0]!.id;
  const inv = (await su.query<{ id: string }>('SELECT id FROM invitations WHERE case_id = $1', [caseId])).rows[0]!.id;
  await su.query('UPDATE invitations SET token_enc = $2 WHERE id = $1', [inv, pii.encrypt(inv, 'invitation_token', 'tok-123')]);

  const moved = await rekeyLegacyCases(a.runtime.ctx);
  t.same(moved, { cases: 1, values: 5, unreadable: 1 }, 'name, phone, file, chat and invitation moved; the unreadable value counted');
  const row = (await su.query('SELECT customer_name_enc, customer_phone_enc, customer_id_enc FROM cases WHERE id = $1', [caseId])).rows[0] as Record<string, Buffer>;
  for (const b of Object.values(row)) t.equal(PiiCipher.caseOf(b), caseId, 'under the case key');
  t.equal(pii.decrypt(caseId, 'customer_name', row.customer_name_enc!), '李四', 'same value');
  const file = (await su.query<{ content_enc: Buffer }>('SELECT content_enc FROM case_files WHERE id = $1', [fileId])).rows[0]!.content_enc;
  t.same(pii.decryptBytes(fileId, 'case_file', file), PNG);
  const chat = (await su.query<{ text_enc: Buffer }>('SELECT text_enc FROM session_events WHERE id = $1', [chatId])).rows[0]!.text_enc;
  t.equal(PiiCipher.caseOf(chat), caseId);
  t.equal(pii.decrypt(sessionId, 'chat', chat), '你好', 'the chat message keeps its binding');
  const junk = (await su.query<{ text_enc: Buffer }>('SELECT text_enc FROM session_events WHERE id = $1', [junkId])).rows[0]!.text_enc;
  t.equal(junk[0], 1, 'a value no key opens is left as it was');
  const token = (await su.query<{ token_enc: Buffer }>('SELECT token_enc FROM invitations WHERE id = $1', [inv])).rows[0]!.token_enc;
  t.equal(pii.decrypt(inv, 'invitation_token', token), 'tok-123');
  t.match(
    (await a.auditEvents()).filter((e) => e.action === 'case.rekeyed'),
    [{ object: { type: 'case', id: caseId }, details: { values: 5, unreadable: 1 } }],
    'one audit event for the case',
  );
  t.same(await rekeyLegacyCases(a.runtime.ctx), { cases: 0, values: 0, unreadable: 0 }, 'nothing left the second time');
  const view = await a.app.inject({ method: 'GET', url: `/api/cases/${caseId}`, headers: { authorization: `Bearer ${await a.tokenFor('teller1')}` } });
  t.equal(view.json().customerName, '李*', 'the case reads as before');
});
