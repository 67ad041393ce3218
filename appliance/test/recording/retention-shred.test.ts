import t from 'tap';
import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { verifyDatabase } from '@kyc/compliance';
import { PNG, startTestAppliance, type TestAppliance } from '../helpers/appliance.js';
import { caseWithEndedCall, fixtureCallTimes, sealFixtureRecording, waitFor } from '../helpers/recording-fixtures.js';
import { RetentionShredder } from '../../src/recording/shred-job.js';
import { removeShreddedExportFiles } from '../../src/recording/export-job.js';
import { destroyShreddedCaseKeys } from '../../src/services/case-keys.js';

// The clock moved past a product's retention: what is not held is crypto-shredded (keys first, then ciphertext,
// then personal data), what is held stays readable; a shredder killed with SIGKILL mid-way is finished by the next run.

const DAY = 86_400_000;
const CHILD = fileURLToPath(new URL('./shred-child.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

interface SeededCase {
  caseId: string;
  sessionId: string;
  recordingId: string;
  fileId: string;
  stillId: string;
}

/** A completed case of the VIDEO-WITNESS product: a really sealed recording, an exchanged file and an ID still. */
async function seedCase(a: TestAppliance, su: pg.Pool): Promise<SeededCase> {
  const pool = a.runtime.ctx.pool;
  const { caseId, sessionId } = await caseWithEndedCall(a, pool, 'teller1', await fixtureCallTimes());
  const sealed = await sealFixtureRecording(a, pool, { caseId, sessionId });
  if (sealed.status !== 'sealed') throw new Error(`seal: ${sealed.status}`);
  const pii = a.runtime.ctx.pii;
  const fileId = randomUUID();
  const sha = createHash('sha256').update(PNG).digest();
  await su.query(`INSERT INTO case_files (id, case_id, session_id, party, name, media_type, size, sha256, content_enc) VALUES ($1, $2, $3, 'customer', 'id.png', 'image/png', $4, $5, $6)`, [
    fileId,
    caseId,
    sessionId,
    PNG.length,
    sha,
    pii.encryptForCase(caseId, fileId, 'case_file', PNG),
  ]);
  const requestId = randomUUID();
  const stillId = randomUUID();
  await su.query(`INSERT INTO identity_capture_requests (id, case_id, session_id, purpose, frames, requested_by, status) VALUES ($1, $2, $3, 'id-front', 1, 'teller1', 'fulfilled')`, [
    requestId,
    caseId,
    sessionId,
  ]);
  await su.query(
    `INSERT INTO identity_stills (id, case_id, session_id, request_id, kind, media_type, width, height, size, sha256, content_enc)
     VALUES ($1, $2, $3, $4, 'id-front', 'image/png', 1, 1, $5, $6, $7)`,
    [stillId, caseId, sessionId, requestId, PNG.length, sha, pii.encryptForCase(caseId, stillId, 'identity_still', PNG)],
  );
  const done = await a.app.inject({ method: 'POST', url: `/api/cases/${caseId}/complete`, headers: { authorization: `Bearer ${await a.tokenFor('teller1')}` } });
  if (done.statusCode !== 200) throw new Error(`complete: ${done.statusCode} ${done.body}`);
  return { caseId, sessionId, recordingId: sealed.recordingId, fileId, stillId };
}

t.test('retention: shredding past the policy, legal hold, crash and resume', async (t) => {
  const a = await startTestAppliance(t, { env: { KYC_RETENTION_RUN_HOURS: '0' } });
  const su = new pg.Pool({ connectionString: a.db.superUrl, max: 2 });
  t.teardown(() => su.end());
  const as = async (user: string) => ({ authorization: `Bearer ${await a.tokenFor(user)}` });
  const [admin, auditor] = [await as('admin1'), await as('auditor1')];
  const rec = a.config.recording;
  const exportsDir = join(a.config.dataDir, 'exports');
  // The shredder runs as the worker of an install with one OS user per service would: the appliance's export folder
  // is not its own (it sees another, empty one), so the appliance removes the export's files afterwards.
  const workerExportsDir = join(a.config.dataDir, 'worker-exports');
  const shredder = () => new RetentionShredder({ pool: a.runtime.ctx.pool, audit: a.runtime.auditLog, archiveDir: rec.archiveDir, recordingsDir: rec.dir, exportsDir: workerExportsDir });
  const one = async (sql: string, params: unknown[]) => (await su.query(sql, params)).rows[0];
  const shredEvents = async () => (await a.auditEvents()).filter((e) => e.action === 'retention.shredded');

  t.equal(
    (await a.app.inject({ method: 'PUT', url: '/api/admin/retention/policies/VIDEO-WITNESS', headers: admin, payload: { retentionDays: 30, anchor: 'case_completed' } })).statusCode,
    200,
  );

  await t.test('the clock moved past retention: unheld items shredded, held ones untouched', async (t) => {
    const gone = await seedCase(a, su);
    const kept = await seedCase(a, su);
    // an export of the recording that will be shredded (the real export job)
    const exp = await a.app.inject({ method: 'POST', url: `/api/recordings/${gone.recordingId}/exports`, headers: auditor, payload: { reason: 'regulator request 7' } });
    t.equal(exp.statusCode, 202, exp.body);
    const exportId = exp.json().id as string;
    await waitFor('the export', async () => {
      const s = (await a.app.inject({ method: 'GET', url: `/api/exports/${exportId}`, headers: auditor })).json().status as string;
      if (s === 'failed') throw new Error('export failed');
      return s === 'done';
    });
    t.equal((await a.app.inject({ method: 'GET', url: `/api/exports/${exportId}/file`, headers: auditor })).statusCode, 200, 'export downloads before');
    const hold = await a.app.inject({ method: 'POST', url: `/api/cases/${kept.caseId}/holds`, headers: auditor, payload: { reason: 'customer complaint under review' } });
    t.equal(hold.statusCode, 201);

    // a run today shreds nothing: nothing has expired yet
    const today = await shredder().run(new Date(), 'test');
    t.same(today.shredded, { recording: 0, export: 0, file: 0, still: 0, pii: 0 }, 'nothing expired today');

    const result = await shredder().run(new Date(Date.now() + 31 * DAY), 'test');
    t.same(result.shredded, { recording: 1, export: 1, file: 1, still: 1, pii: 1 }, 'every item of the expired case, none of the held one');

    // media, export, file, still: 410 with a stable code
    const replay = await a.app.inject({ method: 'POST', url: `/api/recordings/${gone.recordingId}/replay`, headers: auditor });
    t.equal(replay.statusCode, 410);
    t.equal(replay.json().error.code, 'KYC_ERR_SHREDDED');
    for (const url of [`/api/exports/${exportId}/file`, `/api/exports/${exportId}/evidence`, `/api/files/${gone.fileId}`, `/api/identity/stills/${gone.stillId}`]) {
      const res = await a.app.inject({ method: 'GET', url, headers: auditor });
      t.equal(res.statusCode, 410, `${url}: 410`);
      t.equal(res.json().error.code, 'KYC_ERR_SHREDDED', `${url}: KYC_ERR_SHREDDED`);
    }
    const reveal = await a.app.inject({ method: 'POST', url: `/api/cases/${gone.caseId}/reveal`, headers: auditor, payload: { field: 'customerName', reason: 'check identity' } });
    t.equal(reveal.statusCode, 410, 'personal data cannot be revealed');

    // keys gone from the database and the archive, ciphertext gone, personal data and blind indexes NULL
    t.match(await one('SELECT wrapped_key, kek_id, shredded_at FROM recordings WHERE id = $1', [gone.recordingId]), { wrapped_key: null, kek_id: null, shredded_at: Date });
    t.notOk(existsSync(join(rec.archiveDir, gone.recordingId, 'key.json')), 'key.json gone');
    t.notOk(existsSync(join(rec.archiveDir, gone.recordingId)), 'the archive folder (ciphertext) gone');
    t.match(await one('SELECT wrapped_key, kek_id FROM recording_exports WHERE id = $1', [exportId]), { wrapped_key: null, kek_id: null });
    t.ok(existsSync(join(exportsDir, `${exportId}.mp4.kseal`)), 'the export ciphertext (its key destroyed) waits for the appliance');
    t.equal(await removeShreddedExportFiles({ pool: a.runtime.ctx.pool, audit: a.runtime.auditLog, exportsDir }), 1, 'the appliance removes it');
    t.notOk(existsSync(join(exportsDir, `${exportId}.mp4.kseal`)), 'export ciphertext gone');
    t.notOk(existsSync(join(exportsDir, `${exportId}.evidence.json.kseal`)), 'and its evidence file');
    t.match(
      (await a.auditEvents()).filter((e) => e.action === 'export.files_removed'),
      [{ object: { id: exportId }, details: { files: 3 } }],
      'audited once, with what was removed',
    );
    t.equal(await removeShreddedExportFiles({ pool: a.runtime.ctx.pool, audit: a.runtime.auditLog, exportsDir }), 0, 'and only once');
    t.same(
      await one(
        `SELECT customer_name_enc, customer_id_enc, customer_phone_enc, bank_card_enc, id_number_bidx, name_bidx,
                (SELECT content_enc FROM case_files WHERE id = $2) AS file, (SELECT content_enc FROM identity_stills WHERE id = $3) AS still
           FROM cases WHERE id = $1`,
        [gone.caseId, gone.fileId, gone.stillId],
      ),
      { customer_name_enc: null, customer_id_enc: null, customer_phone_enc: null, bank_card_enc: null, id_number_bidx: null, name_bidx: null, file: null, still: null },
      'personal data, blind indexes, file and still contents are NULL',
    );

    // the case's own key: made with the case, destroyed by the appliance once the retention run shredded the case
    const caseKeyFile = (id: string) => join(a.config.pii.caseKeyDir, `${id}.key`);
    t.ok(existsSync(caseKeyFile(gone.caseId)), 'the case key waits for the appliance');
    // (the appliance's own minute sweep may have come first: either way it is gone, audited once)
    await destroyShreddedCaseKeys(a.runtime.ctx);
    t.notOk(existsSync(caseKeyFile(gone.caseId)), 'case key gone');
    t.ok(existsSync(caseKeyFile(kept.caseId)), "the held case's key stays");
    t.match(
      (await a.auditEvents()).filter((e) => e.action === 'case.key_destroyed'),
      [{ object: { id: gone.caseId }, details: { keyFile: true } }],
      'audited once',
    );
    t.equal(await destroyShreddedCaseKeys(a.runtime.ctx), 0, 'and only once');

    // audit: the seal and every earlier event stay; one shredding event per item, naming what went
    const events = await a.auditEvents();
    t.ok(
      events.some((e) => e.action === 'recording.sealed' && e.object?.id === gone.recordingId),
      'the recording.sealed event stays',
    );
    t.ok(
      events.some((e) => e.action === 'case.create' && e.object?.id === gone.caseId),
      'the case.create event stays',
    );
    const shreds = events.filter((e) => e.action === 'retention.shredded');
    t.same(
      shreds.map((e) => `${e.object?.type}:${e.object?.id}`).sort(),
      [`case:${gone.caseId}`, `export:${exportId}`, `file:${gone.fileId}`, `recording:${gone.recordingId}`, `still:${gone.stillId}`].sort(),
    );
    const recEvent = shreds.find((e) => e.object?.type === 'recording');
    t.match(recEvent?.details, { caseId: gone.caseId, kind: 'recording', keyFile: 'key.json', files: Number, filesListSha256: /^[0-9a-f]{64}$/ });
    t.notOk(JSON.stringify(shreds).includes('张三'), 'no personal data in the shredding events');

    // the case shows it was shredded per policy
    const retention = (await a.app.inject({ method: 'GET', url: `/api/cases/${gone.caseId}/retention`, headers: auditor })).json();
    t.ok(retention.shredded?.at, 'shredded on …');
    t.ok(
      retention.items.every((i: { state: string }) => i.state === 'shredded'),
      'every item shredded',
    );
    const caseView = (await a.app.inject({ method: 'GET', url: `/api/cases/${gone.caseId}`, headers: auditor })).json();
    t.equal(caseView.customerName, '(shredded)');
    t.ok(caseView.retention.shreddedAt, 'the case view carries the date');

    // the held case: untouched, still replays
    const keptReplay = await a.app.inject({ method: 'POST', url: `/api/recordings/${kept.recordingId}/replay`, headers: auditor });
    t.equal(keptReplay.statusCode, 200, 'the held recording still replays');
    const media = await a.app.inject({ method: 'GET', url: keptReplay.json().parties[0].url, headers: auditor });
    t.equal(media.statusCode, 200, 'and its media decrypts');
    t.ok(existsSync(join(rec.archiveDir, kept.recordingId, 'key.json')), 'its key file stays');
    t.equal((await a.app.inject({ method: 'GET', url: `/api/files/${kept.fileId}`, headers: auditor })).statusCode, 200);
    t.equal((await a.app.inject({ method: 'GET', url: `/api/identity/stills/${kept.stillId}`, headers: auditor })).statusCode, 200);
    t.not((await a.app.inject({ method: 'GET', url: `/api/cases/${kept.caseId}`, headers: auditor })).json().customerName, '(shredded)');
    const keptRetention = (await a.app.inject({ method: 'GET', url: `/api/cases/${kept.caseId}/retention`, headers: auditor })).json();
    t.ok(keptRetention.items.every((i: { state: string }) => i.state === 'held'));

    // the offline verifier: the shredded recording is reported as shredded (with its event), not missing or tampered
    await a.runtime.auditLog.sequence();
    const cp = await a.runtime.auditLog.startCheckpointer({ dir: a.config.audit.checkpointDir });
    await cp.checkpointNow();
    const report = await verifyDatabase({ db: a.db.superUrl, checkpointsDir: a.config.audit.checkpointDir, verifierKey: a.runtime.auditLog.verifierKey()!, archiveDir: rec.archiveDir });
    t.equal(report.ok, true, `verify passes: ${report.reason ?? ''}`);
    t.match(report.recordings, { checked: 1, bad: 0, shredded: 1 }, 'the held recording checked, the shredded one reported as shredded');
    const leaf = (
      await one(`SELECT l.leaf_index FROM audit_leaf l JOIN audit_event e ON e.id = l.event_id WHERE e.action = 'retention.shredded' AND e.body::jsonb->'object'->>'id' = $1`, [
        gone.recordingId,
      ])
    ).leaf_index;
    t.same(report.shreddedRecordings, [{ recordingId: gone.recordingId, auditSeq: Number(leaf) }], 'with the leaf index of its shredding event');
    t.equal(
      retention.shredded.auditSeq,
      Number((await one(`SELECT l.leaf_index FROM audit_leaf l JOIN shred_items s ON s.audit_event_id = l.event_id WHERE s.kind = 'pii' AND s.item_id = $1`, [gone.caseId])).leaf_index),
      "the case's shredding points at its audit event's leaf",
    );
    // a "shredded" recording whose folder is still there is a failed shredding: the verifier says so
    await mkdir(join(rec.archiveDir, gone.recordingId));
    const leftover = await verifyDatabase({ db: a.db.superUrl, checkpointsDir: a.config.audit.checkpointDir, verifierKey: a.runtime.auditLog.verifierKey()!, archiveDir: rec.archiveDir });
    t.equal(leftover.ok, false);
    t.match(leftover.reason, /shredded .* but its archive folder is still there/);
    await rmdir(join(rec.archiveDir, gone.recordingId));

    // lifting the hold lets the next run take the other case
    await a.app.inject({ method: 'POST', url: `/api/holds/${hold.json().id}/release`, headers: auditor, payload: { reason: 'complaint settled' } });
    const after = await shredder().run(new Date(Date.now() + 31 * DAY), 'test');
    t.same(after.shredded, { recording: 1, export: 0, file: 1, still: 1, pii: 1 }, 'released case shredded on the next run');
    t.equal((await shredEvents()).length, 9, 'one event per item, none repeated');
  });

  await t.test('SIGKILL in the middle of shredding: the next run finishes, every item shredded exactly once', async (t) => {
    const cases = [await seedCase(a, su), await seedCase(a, su)];
    const asOf = new Date(Date.now() + 31 * DAY).toISOString();
    const runChild = (killAfterSteps?: number) =>
      new Promise<{ code: number | null; signal: string | null; out: string }>((resolve, reject) => {
        const opts = { dbUrl: a.db.appUrl, archiveDir: rec.archiveDir, recordingsDir: rec.dir, exportsDir, asOf, ...(killAfterSteps ? { killAfterSteps } : {}) };
        const child = spawn(process.execPath, ['--import', TSX, CHILD, JSON.stringify(opts)], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        child.on('error', reject);
        child.on('exit', (code, signal) => resolve({ code, signal, out }));
      });
    const steps = async () =>
      (await su.query<{ kind: string; step: string }>(`SELECT kind, step FROM shred_items WHERE case_id = ANY($1::uuid[]) ORDER BY kind`, [cases.map((c) => c.caseId)])).rows;

    // killed right after the first recording's keys went (database row and key.json), before its ciphertext
    const first = await runChild(1);
    t.equal(first.signal, 'SIGKILL', `first run killed (${first.out.slice(-500)})`);
    t.same(
      (await steps()).filter((s) => s.step !== 'started'),
      [{ kind: 'recording', step: 'keys' }],
      'one step recorded',
    );
    t.notOk(existsSync(join(rec.archiveDir, cases[0]!.recordingId, 'key.json')), 'its key.json is gone');
    t.ok(existsSync(join(rec.archiveDir, cases[0]!.recordingId)), 'its ciphertext not yet');
    const replay = await a.app.inject({ method: 'POST', url: `/api/recordings/${cases[0]!.recordingId}/replay`, headers: auditor });
    t.equal(replay.statusCode, 410, 'from the first step on, the recording is unreadable');

    // killed again three steps further in
    const second = await runChild(3);
    t.equal(second.signal, 'SIGKILL', 'second run killed');
    t.ok(
      (await steps()).some((s) => s.step !== 'done'),
      'still items left',
    );

    const third = await runChild();
    t.equal(third.code, 0, `third run completes (${third.out.slice(-500)})`);
    t.ok(
      (await steps()).every((s) => s.step === 'done'),
      'every item done',
    );
    const caseIds = new Set(cases.map((c) => c.caseId));
    const rows = (await su.query<{ body: string }>(`SELECT body FROM audit_event WHERE action = 'retention.shredded'`)).rows;
    const events = rows.map((r) => JSON.parse(r.body) as { object?: { id?: string }; details?: Record<string, unknown> }).filter((e) => caseIds.has(String(e.details?.caseId)));
    const ids = events.map((e) => e.object?.id);
    t.equal(events.length, 8, 'eight items (2 × recording, file, still, personal data), eight events');
    t.equal(new Set(ids).size, ids.length, 'no item audited twice');
    for (const c of cases) {
      t.notOk(existsSync(join(rec.archiveDir, c.recordingId)), 'archive folder gone');
      t.match(await one('SELECT wrapped_key, customer_name_enc FROM recordings r JOIN cases c ON c.id = r.case_id WHERE r.id = $1', [c.recordingId]), {
        wrapped_key: null,
        customer_name_enc: null,
      });
      t.equal((await a.app.inject({ method: 'GET', url: `/api/files/${c.fileId}`, headers: auditor })).statusCode, 410);
    }
  });
});
