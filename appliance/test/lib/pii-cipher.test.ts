import t from 'tap';
import { randomBytes } from 'node:crypto';
import { PiiCipher } from '../../src/lib/pii-cipher.js';

t.test('round trip and binding to record and field', async (t) => {
  const c = new PiiCipher(randomBytes(32), randomBytes(32));
  const blob = c.encrypt('case-1', 'customer_name', '张三');
  t.equal(c.decrypt('case-1', 'customer_name', blob), '张三');
  t.notOk(blob.includes(Buffer.from('张三')), 'ciphertext does not contain the plaintext');
  t.throws(() => c.decrypt('case-2', 'customer_name', blob), 'another record does not decrypt');
  t.throws(() => c.decrypt('case-1', 'customer_phone', blob), 'another field does not decrypt');
  const flipped = Buffer.from(blob);
  flipped[flipped.length - 1] = (flipped[flipped.length - 1] ?? 0) ^ 1;
  t.throws(() => c.decrypt('case-1', 'customer_name', flipped), 'a flipped bit fails');
});

t.test('blind index: deterministic per key, differs across keys and kinds', async (t) => {
  const k = randomBytes(32);
  const a = new PiiCipher(randomBytes(32), k);
  const b = new PiiCipher(randomBytes(32), k);
  const other = new PiiCipher(randomBytes(32), randomBytes(32));
  t.same(a.blindIndex('resident_id', '11010519491231002X'), b.blindIndex('resident_id', '11010519491231002X'));
  t.notSame(a.blindIndex('resident_id', '11010519491231002X'), other.blindIndex('resident_id', '11010519491231002X'));
  t.notSame(a.blindIndex('resident_id', 'x'), a.blindIndex('name', 'x'));
});
