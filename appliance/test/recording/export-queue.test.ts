// Exports are pg-boss jobs committed with their rows: one requested while no process takes export jobs waits in the
// queue and runs when one is back; at start, what a stop cut off is failed, and a queued export without a job gets one.
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { startTestAppliance } from '../helpers/appliance.js';
import { exportFinished } from '../helpers/archive-cli.js';
import { fixtureCallTimes, insertSession, sealFixtureRecording } from '../helpers/recording-fixtures.js';

t.test('exports wait in the job queue while nobody takes them, and a start recovers what a stop left', async (t) => {
  const a = await startTestAppliance(t, { env: { KYC_WORKER_IN_PROCESS: 'false' } });
  const pool = new pg.Pool({ connectionString: a.db.appUrl, max: 4 });
  t.teardown(() => pool.end());
  const su = new pg.Pool({ connectionString: a.db.superUrl, max: 1 });
  t.teardown(() => su.end());
  const { recordingId } = await sealFixtureRecording(a, pool, await insertSession(pool, await fixtureCallTimes()));
  const auditor = { authorization: `Bearer ${await a.tokenFor('auditor1')}` };
  const exports = a.runtime.ctx.exports;
  const statusOf = async (id: string) => (await a.app.inject({ method: 'GET', url: `/api/exports/${id}`, headers: auditor })).json() as { status: string; failureReason: string | null };
  const finished = (id: string) => exportFinished(a, id, auditor);
  const jobs = async (id: string) =>
    (await su.query<{ state: string }>(`SELECT state FROM pgboss.job WHERE name = 'recording.export' AND data->>'exportId' = $1`, [id])).rows.map((r) => r.state);

  await exports.stop();
  const res = await a.app.inject({ method: 'POST', url: `/api/recordings/${recordingId}/exports`, headers: auditor, payload: { reason: 'regulator request 9' } });
  t.equal(res.statusCode, 202, res.body);
  const { id: waiting } = res.json() as { id: string };
  t.same(await jobs(waiting), ['created'], 'the request committed its job with its row');

  // what a stop left behind: an export cut off while running (and its scratch folder), and a queued export without a
  // job (requested before exports were jobs)
  const cutOff = randomUUID();
  const orphan = randomUUID();
  for (const [id, status] of [
    [cutOff, 'running'],
    [orphan, 'queued'],
  ] as const) {
    await su.query(
      `INSERT INTO recording_exports (id, recording_id, requested_by, requester_subject, reason, status) SELECT $1, $2, 'auditor1', requester_subject, 'regulator request 10', $3 FROM recording_exports WHERE id = $4`,
      [id, recordingId, status, waiting],
    );
  }
  // and a queued export whose job a stopped process had taken (left `active`, which pg-boss expires only after hours)
  const taken = await a.app.inject({ method: 'POST', url: `/api/recordings/${recordingId}/exports`, headers: auditor, payload: { reason: 'regulator request 11' } });
  t.equal(taken.statusCode, 202, taken.body);
  const { id: takenId } = taken.json() as { id: string };
  await su.query(`UPDATE pgboss.job SET state = 'active', started_on = now() WHERE name = 'recording.export' AND data->>'exportId' = $1`, [takenId]);
  const exportsDir = join(a.config.dataDir, 'exports');
  await mkdir(join(exportsDir, `.work-${cutOff}-x`), { recursive: true });
  await new Promise((r) => setTimeout(r, 3000));
  t.equal((await statusOf(waiting)).status, 'queued', 'nothing takes it while export jobs are not taken');

  await exports.start();
  t.match(await statusOf(cutOff), { status: 'failed', failureReason: 'the appliance stopped while the export was pending' }, 'the export a stop cut off is failed');
  t.same(
    (await readdir(exportsDir)).filter((n) => n.startsWith('.work-')),
    [],
    'its scratch folder is gone',
  );
  t.equal((await jobs(waiting)).length, 1, 'a queued export with a job keeps that one job (waiting or taken by now)');
  t.equal((await jobs(orphan)).length, 1, 'a queued export without a job gets one');
  t.same(await jobs(takenId), ['retry'], 'the job a stopped process had taken is handed back to pg-boss for a retry, not left active');
  // the retry's delay (30 s and more) is cut short to keep the test quick
  await su.query(`UPDATE pgboss.job SET start_after = now() WHERE name = 'recording.export' AND data->>'exportId' = $1`, [takenId]);
  exports.wake();
  t.match(await finished(takenId), { status: 'done' }, 'and its export runs at the retry');
  t.match(await finished(waiting), { status: 'done' }, 'the export requested while nobody took jobs runs when they are taken again');
  t.match(await finished(orphan), { status: 'done' }, 'so does the one that had no job');

  const events = await a.auditEvents();
  t.same(
    events.filter((e) => e.action === 'recording.export_failed').map((e) => e.details?.exportId),
    [cutOff],
    'the cut-off export is audited as failed, once',
  );
  t.same(
    events
      .filter((e) => e.action === 'recording.export_done')
      .map((e) => e.details?.exportId)
      .sort(),
    [waiting, orphan, takenId].sort(),
    'each queued export is done once',
  );
});
