import t from 'tap';
import { TokenBucket } from '../../src/media/token-bucket.js';

t.test('a burst, then the refill rate', async (t) => {
  let now = 0;
  const bucket = new TokenBucket(5, 10, () => now);
  for (let i = 0; i < 5; i++) t.ok(bucket.take(), `burst frame ${i + 1}`);
  t.notOk(bucket.take(), 'the sixth at the same instant is refused');
  now += 99;
  t.notOk(bucket.take(), 'not yet a whole token after 99 ms at 10/s');
  now += 1;
  t.ok(bucket.take(), 'one token after 100 ms');
  now += 60_000;
  for (let i = 0; i < 5; i++) t.ok(bucket.take());
  t.notOk(bucket.take(), 'a long pause refills to the burst, not beyond');
});

t.test('nonsense limits are refused', async (t) => {
  t.throws(() => new TokenBucket(0, 1), RangeError);
  t.throws(() => new TokenBucket(1, 0), RangeError);
  t.throws(() => new TokenBucket(Number.NaN, 1), RangeError);
});
