import t from 'tap';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSigningKeyFile, loadSigningKey } from '../../src/audit/checkpoint.js';
import { AuditLog } from '../../src/audit/audit-log.js';
import { Checkpointer } from '../../src/audit/checkpointer.js';
import { signedTestLog } from '../helpers/signed-log.js';
import { kycAudit } from '../helpers/kyc-audit-cli.js';

const ORIGIN = 'kyc-appliance.test/audit';
const event = (i: number) => ({
  actor: { username: 'system', roles: [], auth: 'system' as const },
  action: 'case.create',
  object: { type: 'case', id: `c${i}` },
  result: 'success' as const,
});

t.test('kyc-audit verify fails closed: a key from the checked folder is refused, no checkpoint fails, the signing key pins the key', async (t) => {
  const keyDir = await mkdtemp(join(tmpdir(), 'kyc-audit-key-'));
  t.teardown(() => rm(keyDir, { recursive: true, force: true }));
  const signingKey = join(keyDir, 'audit-signing.key');
  await createSigningKeyFile(signingKey, ORIGIN);
  const signer = await loadSigningKey(signingKey);
  const { db, pool, dir } = await signedTestLog(t, ORIGIN);
  // the log signed with the key from the file (as on the appliance host)
  const log = new AuditLog({ pool, signer, origin: ORIGIN });
  const cp = new Checkpointer({ log, signer, origin: ORIGIN, dir, everyEvents: 1_000_000, everyMs: 3_600_000 });
  await cp.start();
  t.teardown(() => cp.close().catch(() => undefined));
  for (let i = 0; i < 5; i++) await log.append(event(i));
  await log.sequence();

  const base = ['verify', '--db', db.superUrl, '--checkpoints', dir];
  const none = await kycAudit([...base, '--verifier-key', signer.verifierKey]);
  t.equal(none.code, 1, `no checkpoint at all: verification fails (${JSON.stringify(none.json).slice(0, 160)})`);
  t.match(JSON.stringify(none.json), /no checkpoints/);

  await cp.checkpointNow();
  t.ok(existsSync(join(dir, 'verifier-key.txt')), 'the checked folder holds a verifier-key.txt');
  const unpinned = await kycAudit(base);
  t.equal(unpinned.code, 2, 'without a pinned key: refused, not a warning');
  t.match(String(unpinned.json.error), /no verifier key pinned/);
  t.equal((await kycAudit([...base, '--verifier-key', signer.verifierKey])).code, 0, 'the pinned key verifies');
  const bySigningKey = await kycAudit([...base, '--signing-key', signingKey]);
  t.equal(bySigningKey.code, 0, `the key derived from the signing key verifies (${JSON.stringify(bySigningKey.json).slice(0, 160)})`);
  t.equal((await kycAudit([...base, '--signing-key', signingKey, '--verifier-key', signer.verifierKey])).code, 2, 'one source of the key, not two');
  const otherKey = join(keyDir, 'other.key');
  await createSigningKeyFile(otherKey, ORIGIN);
  t.equal((await kycAudit([...base, '--signing-key', otherKey])).code, 1, "another key's checkpoints do not verify");
});
