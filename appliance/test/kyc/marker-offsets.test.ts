import t from 'tap';
import { mediaOffsets } from '../../src/recording/manifest.js';

t.test("a marker's offset in each party's media: the file holding the moment, the position in it", async (t) => {
  const media = [
    { party: 'teller' as const, segment: 0, offsetMs: 0, durationMs: 60_000 },
    { party: 'customer' as const, segment: 0, offsetMs: 1_500, durationMs: 20_000 },
    // the customer reconnected: a second segment
    { party: 'customer' as const, segment: 1, offsetMs: 30_000, durationMs: 30_000 },
  ];
  t.same(mediaOffsets(10_000, media), [
    { party: 'customer', segment: 0, offsetMs: 8_500 },
    { party: 'teller', segment: 0, offsetMs: 10_000 },
  ]);
  t.same(mediaOffsets(25_000, media), [{ party: 'teller', segment: 0, offsetMs: 25_000 }], 'between segments the customer has no media');
  t.same(mediaOffsets(45_000, media), [
    { party: 'customer', segment: 1, offsetMs: 15_000 },
    { party: 'teller', segment: 0, offsetMs: 45_000 },
  ]);
  t.same(mediaOffsets(-5, media), [], 'before any media');
  t.same(mediaOffsets(61_000, media), [], 'after all media');
});
