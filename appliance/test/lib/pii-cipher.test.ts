import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CaseKeyStore, PiiCipher, isCaseKeyDestroyed } from '../../src/lib/pii-cipher.js';

function keyDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'kyc-case-keys-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'case-keys');
}

function cipher(t: Test, key = randomBytes(32), dir = keyDir(t)): PiiCipher {
  return new PiiCipher(key, randomBytes(32), new CaseKeyStore(dir, key));
}

const CASE_A = '0b7c7a5e-3f0e-4c55-9a52-2f2d6b8f1a01';
const CASE_B = '6d1f8c8a-0e55-4d9b-8a1c-3a8d2d0c9b02';

t.test('round trip and binding to record and field', async (t) => {
  const c = cipher(t);
  const blob = c.encrypt('case-1', 'customer_name', '张三');
  t.equal(c.decrypt('case-1', 'customer_name', blob), '张三');
  t.notOk(blob.includes(Buffer.from('张三')), 'ciphertext does not contain the plaintext');
  t.throws(() => c.decrypt('case-2', 'customer_name', blob), 'another record does not decrypt');
  t.throws(() => c.decrypt('case-1', 'customer_phone', blob), 'another field does not decrypt');
  const flipped = Buffer.from(blob);
  flipped[flipped.length - 1] = (flipped[flipped.length - 1] ?? 0) ^ 1;
  t.throws(() => c.decrypt('case-1', 'customer_name', flipped), 'a flipped bit fails');
});

t.test("a case's data is under its own key, in a 0600 file outside the database, bound to case, record and field", async (t) => {
  const dir = keyDir(t);
  const key = randomBytes(32);
  const c = cipher(t, key, dir);
  const a = c.encryptForCase(CASE_A, CASE_A, 'customer_name', '张三');
  const b = c.encryptForCase(CASE_B, 'file-1', 'case_file', Buffer.from('contract'));
  t.equal(PiiCipher.caseOf(a), CASE_A);
  t.equal(PiiCipher.caseOf(c.encrypt('u', 'refresh', 'x')), null, 'the appliance-wide form names no case');
  t.equal(c.decrypt(CASE_A, 'customer_name', a), '张三');
  t.equal(c.decryptBytes('file-1', 'case_file', b).toString(), 'contract');
  t.throws(() => c.decrypt(CASE_A, 'customer_phone', a), 'another field does not decrypt');
  t.throws(() => c.decrypt('other', 'customer_name', a), 'another record does not decrypt');
  t.same(readdirSync(dir).sort(), [`${CASE_A}.key`, `${CASE_B}.key`], 'one key file per case, no temporary left');
  t.equal(statSync(join(dir, `${CASE_A}.key`)).mode & 0o777, 0o600);
  t.notOk(readFileSync(join(dir, `${CASE_A}.key`)).includes(c.caseKeys.get(CASE_A)!), 'the key file holds the key encrypted, not the key');

  // another process of the appliance (same PII key, same folder) reads them; a swapped key file does not open
  const again = cipher(t, key, dir);
  t.equal(again.decrypt(CASE_A, 'customer_name', a), '张三');
  const wrongKey = new PiiCipher(randomBytes(32), randomBytes(32), new CaseKeyStore(dir, randomBytes(32)));
  t.throws(() => wrongKey.decrypt(CASE_A, 'customer_name', a), 'a case key does not open without the PII key');

  // shredding: the key goes; the ciphertext (as in an old database dump) no longer opens, in either process
  t.equal(c.caseKeys.destroy(CASE_A), true);
  t.equal(c.caseKeys.destroy(CASE_A), false, 'destroying twice is harmless');
  const err = (() => {
    try {
      again.caseKeys.destroy(CASE_A);
      return again.decrypt(CASE_A, 'customer_name', a);
    } catch (e) {
      return e;
    }
  })();
  t.ok(isCaseKeyDestroyed(err), 'reading a shredded case fails with CaseKeyDestroyedError');
  t.equal((err as { code?: string }).code, 'KYC_ERR_SHREDDED');
  t.throws(() => c.decrypt(CASE_A, 'customer_name', a), { code: 'KYC_ERR_SHREDDED' });
  t.equal(c.decryptBytes('file-1', 'case_file', b).toString(), 'contract', "another case's data is untouched");
});

t.test('a case key made at once by two key stores is the same key', async (t) => {
  const dir = keyDir(t);
  const key = randomBytes(32);
  const one = new CaseKeyStore(dir, key);
  const two = new CaseKeyStore(dir, key);
  const k1 = one.getOrCreate(CASE_A);
  t.same(two.getOrCreate(CASE_A), k1, "the second finds the first one's file");
  t.throws(() => one.getOrCreate('../../etc/passwd'), /not a case id/, 'only case ids name files');
});

t.test('blind index: deterministic per key, differs across keys and kinds', async (t) => {
  const k = randomBytes(32);
  const mk = (bidx: Buffer) => new PiiCipher(randomBytes(32), bidx, new CaseKeyStore(keyDir(t), randomBytes(32)));
  const a = mk(k);
  const b = mk(k);
  const other = mk(randomBytes(32));
  t.same(a.blindIndex('resident_id', '11010519491231002X'), b.blindIndex('resident_id', '11010519491231002X'));
  t.notSame(a.blindIndex('resident_id', '11010519491231002X'), other.blindIndex('resident_id', '11010519491231002X'));
  t.notSame(a.blindIndex('resident_id', 'x'), a.blindIndex('name', 'x'));
});
