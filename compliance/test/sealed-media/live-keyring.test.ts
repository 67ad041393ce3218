import t from 'tap';
import { mkdtemp, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKek, LiveKeyring, newDataKey } from '../../src/sealed-media/keys.js';

t.test('one live keyring follows rotation and destruction of the KEK directory without being rebuilt', async (t) => {
  const dir = join(await mkdtemp(join(tmpdir(), 'kyc-live-kek-')), 'kek');
  t.teardown(() => rm(join(dir, '..'), { recursive: true, force: true }));
  const keyring = new LiveKeyring(dir);
  await t.rejects(keyring.wrap(newDataKey(), 'r1'), { code: 'KYC_ERR_SEALED_KEY' }, 'no directory yet: refused, nothing cached');
  const first = await createKek(dir, new Date(Date.UTC(2026, 0, 1)));
  const dk = newDataKey();
  const w1 = await keyring.wrap(dk, 'r1');
  t.equal(w1.kid, first, 'loads on first use');
  t.equal(keyring.currentKeyId(), first);

  const second = await createKek(dir, new Date(Date.UTC(2026, 5, 1)));
  const w2 = await keyring.wrap(dk, 'r2');
  t.equal(w2.kid, second, 'a rotation by another process is followed');
  t.ok((await keyring.unwrap(w1, 'r1')).equals(dk), 'the older KEK still unwraps until destroyed');

  await unlink(join(dir, `${first}.kek`));
  await t.rejects(keyring.unwrap(w1, 'r1'), { code: 'KYC_ERR_SEALED_KEY', message: /not in/ }, 'a destroyed KEK no longer unwraps (not kept in memory)');
  t.ok((await keyring.unwrap(w2, 'r2')).equals(dk), 'the current one does');
});
