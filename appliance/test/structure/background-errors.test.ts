// Background failures (audit sequencer, checkpointer, worker, purge) fail the test that caused them: the test
// appliance reports each one through the test's fail() when it is torn down, unless the test said it expects it.
import t from 'tap';
import pg from 'pg';
import { newCaseBody, startTestAppliance } from '../helpers/appliance.js';

async function withSequencerBroken(expect?: RegExp): Promise<string[]> {
  const failures: string[] = [];
  const teardowns: Array<() => unknown> = [];
  const fake = { teardown: (fn: () => unknown) => void teardowns.push(fn), fail: (m: string) => void failures.push(m) };
  try {
    const a = await startTestAppliance(fake, expect ? { expectBackgroundErrors: expect } : {});
    const su = new pg.Pool({ connectionString: a.db.superUrl, max: 1 });
    // the sequencer (background) can no longer append leaves; requests still commit their events
    const fn = 'FUNCTION audit_sequence_append(bigint[], bigint)';
    await su.query(`REVOKE EXECUTE ON ${fn} FROM kyc_app`);
    const teller = { authorization: `Bearer ${await a.tokenFor('teller1')}` };
    await a.app.inject({ method: 'POST', url: '/api/cases', headers: teller, payload: newCaseBody() });
    await new Promise((r) => setTimeout(r, 1500));
    // repaired before the end, so the appliance closes normally: only the failure while it lasted is reported
    await su.query(`GRANT EXECUTE ON ${fn} TO kyc_app`);
    await su.end();
  } finally {
    for (const fn of teardowns.reverse()) await fn();
  }
  return failures;
}

t.test('a background failure the test did not expect fails it', async (t) => {
  const failures = await withSequencerBroken();
  t.ok(
    failures.some((f) => /^background failure: audit sequencer/.test(f)),
    `reported: ${failures[0] ?? 'nothing'}`,
  );
});

t.test('one it expects does not', async (t) => {
  t.same(await withSequencerBroken(/audit sequencer/), []);
});
