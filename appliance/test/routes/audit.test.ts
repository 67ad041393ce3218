import t from 'tap';
import { newCaseBody, startTestAppliance } from '../helpers/appliance.js';
import { waitFor } from '../helpers/recording-fixtures.js';
import { leafHash, openSignedCheckpoint, verifyConsistency, verifyInclusion } from '../helpers/rfc9162.js';

t.test('audit API: signed checkpoints and RFC 9162 proofs that verify independently', async (t) => {
  const a = await startTestAppliance(t, { env: { KYC_AUDIT_CHECKPOINT_EVERY_EVENTS: '1', KYC_AUDIT_CHECKPOINT_EVERY_SECONDS: '1' } });
  const h = async (u: string) => ({ authorization: `Bearer ${await a.tokenFor(u)}` });
  const [teller, auditor, admin] = [await h('teller1'), await h('auditor1'), await h('admin1')];
  for (let i = 0; i < 5; i++) await a.app.inject({ method: 'POST', url: '/api/cases', headers: teller, payload: newCaseBody({ customerName: `客户${i}` }) });
  await a.auditEvents();

  for (const url of ['/api/audit/checkpoint', '/api/audit/verifier-key', '/api/audit/proof/inclusion?index=0&size=1', '/api/audit/proof/consistency?from=1&to=2', '/api/audit/events']) {
    t.equal((await a.app.inject({ method: 'GET', url, headers: teller })).statusCode, 403, `teller: 403 on ${url}`);
    t.equal((await a.app.inject({ method: 'GET', url })).statusCode, 401, `anonymous: 401 on ${url}`);
  }

  // the checkpointer signs in the background: wait for one covering the events so far
  const served = await waitFor(
    'a signed checkpoint of at least 5 leaves',
    async () => {
      const res = await a.app.inject({ method: 'GET', url: '/api/audit/checkpoint', headers: auditor });
      return res.statusCode === 200 && Number(res.body.split('\n')[1]) >= 5 && res;
    },
    10_000,
  );
  t.match(String(served.headers['content-type']), /^text\/plain/, 'a signed checkpoint is served');
  const note = served.body;
  const vkey = (await a.app.inject({ method: 'GET', url: '/api/audit/verifier-key', headers: admin })).body;
  t.match(vkey, /^kyc-appliance\.local\/audit\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+\n$/);
  const cp = openSignedCheckpoint(note, vkey);
  t.equal(cp.origin, 'kyc-appliance.local/audit');
  t.ok(cp.size >= 5);

  const events = (await a.app.inject({ method: 'GET', url: `/api/audit/events?order=asc&limit=1000`, headers: auditor })).json().items as { leafIndex: number; leaf: string }[];
  t.ok(events.length >= cp.size);
  for (const e of events.filter((x) => x.leafIndex < cp.size)) {
    const proof = (await a.app.inject({ method: 'GET', url: `/api/audit/proof/inclusion?index=${e.leafIndex}&size=${cp.size}`, headers: auditor })).json();
    const ok = verifyInclusion(
      e.leafIndex,
      cp.size,
      leafHash(Buffer.from(e.leaf, 'utf8')),
      proof.hashes.map((x: string) => Buffer.from(x, 'base64')),
      cp.root,
    );
    t.ok(ok, `leaf ${e.leafIndex} is included in the checkpoint's tree`);
  }

  await a.app.inject({ method: 'POST', url: '/api/cases', headers: teller, payload: newCaseBody() });
  await a.auditEvents();
  const later = await waitFor(
    'a newer checkpoint',
    async () => {
      const next = openSignedCheckpoint((await a.app.inject({ method: 'GET', url: '/api/audit/checkpoint', headers: auditor })).body, vkey);
      return next.size > cp.size && next;
    },
    10_000,
  );
  t.ok(later.size > cp.size, 'a newer checkpoint');
  const cons = (await a.app.inject({ method: 'GET', url: `/api/audit/proof/consistency?from=${cp.size}&to=${later.size}`, headers: admin })).json();
  t.ok(
    verifyConsistency(
      cp.size,
      later.size,
      cp.root,
      later.root,
      cons.hashes.map((x: string) => Buffer.from(x, 'base64')),
    ),
    'the newer tree extends the older one',
  );
  t.notOk(
    verifyConsistency(
      cp.size,
      later.size,
      later.root,
      cp.root,
      cons.hashes.map((x: string) => Buffer.from(x, 'base64')),
    ),
    'swapped roots fail',
  );

  const bad = async (url: string) => (await a.app.inject({ method: 'GET', url, headers: auditor })).json().error?.code;
  t.equal(await bad(`/api/audit/proof/inclusion?index=5&size=5`), 'KYC_ERR_PROOF_RANGE', 'index ≥ size');
  t.equal(await bad(`/api/audit/proof/inclusion?index=0&size=999999`), 'KYC_ERR_PROOF_RANGE', 'size > tree');
  t.equal(await bad(`/api/audit/proof/consistency?from=3&to=2`), 'KYC_ERR_PROOF_RANGE', 'from > to');
  t.equal(await bad(`/api/audit/proof/inclusion?index=abc&size=2`), 'KYC_ERR_BAD_PARAMETER', 'not a number');
  t.equal(await bad(`/api/audit/proof/inclusion?index=-1&size=2`), 'KYC_ERR_BAD_PARAMETER', 'negative');
  t.equal(await bad(`/api/audit/events?since=yesterday`), 'KYC_ERR_BAD_PARAMETER', 'bad time');

  const filtered = (await a.app.inject({ method: 'GET', url: '/api/audit/events?action=case.create&actor=teller1&limit=2', headers: auditor })).json();
  t.equal(filtered.items.length, 2);
  t.ok(filtered.items.every((e: { event: { action: string } }) => e.event.action === 'case.create'));
  t.ok(filtered.nextCursor, 'paginated');
  const next = (
    await a.app.inject({ method: 'GET', url: `/api/audit/events?action=case.create&actor=teller1&limit=2&cursor=${encodeURIComponent(filtered.nextCursor)}`, headers: auditor })
  ).json();
  t.equal(next.items.length, 2);
  t.ok(next.items[0].leafIndex < filtered.items[1].leafIndex, 'next page continues (newest first)');
  const all = await a.auditEvents();
  t.ok(
    all.some((e) => e.action === 'audit.read' && e.actor.username === 'auditor1'),
    'reading the audit log is audited',
  );
});
