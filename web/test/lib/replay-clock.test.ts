import t from 'tap';
import type { ReplayParty } from '../../src/lib/archive-api.js';
import { formatClock, placementAt, segmentsOf, totalDuration, type Segment } from '../../src/lib/replay-clock.js';

const part = (party: 'teller' | 'customer', segment: number, offsetMs: number | null, durationMs: number | null): ReplayParty => ({
  party,
  segment,
  url: `/media/${party}/${segment}`,
  offsetMs,
  durationMs,
  bytes: 1,
  sha256: '0'.repeat(64),
});

t.test('segmentsOf keeps one party, in offset order, in seconds', async (t) => {
  const parties = [part('customer', 2, 40_000, 10_000), part('teller', 1, 0, 60_000), part('customer', 1, 1_500, 30_000)];
  t.same(segmentsOf(parties, 'customer'), [
    { url: '/media/customer/1', segment: 1, offset: 1.5, duration: 30 },
    { url: '/media/customer/2', segment: 2, offset: 40, duration: 10 },
  ]);
  t.same(
    segmentsOf(parties, 'teller').map((s) => s.segment),
    [1],
  );
});

t.test('segmentsOf: unknown offset counts as 0, unknown duration as Infinity', async (t) => {
  const [s] = segmentsOf([part('teller', 1, null, null)], 'teller');
  t.equal(s!.offset, 0);
  t.equal(s!.duration, Infinity);
});

t.test('totalDuration is the latest end; a segment of unknown length counts from its start', async (t) => {
  const segs: Segment[] = [
    { url: 'a', segment: 1, offset: 0, duration: 30 },
    { url: 'b', segment: 2, offset: 40, duration: 10 },
  ];
  t.equal(totalDuration(segs), 50);
  t.equal(totalDuration([...segs, { url: 'c', segment: 3, offset: 70, duration: Infinity }]), 70);
  t.equal(totalDuration([]), 0);
});

t.test('placementAt: inside a segment plays at t minus its offset', async (t) => {
  const segs: Segment[] = [
    { url: 'a', segment: 1, offset: 2, duration: 30 },
    { url: 'b', segment: 2, offset: 40, duration: 10 },
  ];
  t.same(placementAt(segs, 12.5), { segment: segs[0], position: 10.5, active: true });
  t.same(placementAt(segs, 45), { segment: segs[1], position: 5, active: true });
});

t.test('placementAt: before a segment waits at its start; in a gap waits for the next; after the end rests on the last', async (t) => {
  const segs: Segment[] = [
    { url: 'a', segment: 1, offset: 2, duration: 30 },
    { url: 'b', segment: 2, offset: 40, duration: 10 },
  ];
  t.same(placementAt(segs, 0), { segment: segs[0], position: 0, active: false }, 'before the first');
  t.same(placementAt(segs, 35), { segment: segs[1], position: 0, active: false }, 'in the reconnect gap');
  t.same(placementAt(segs, 32), { segment: segs[1], position: 0, active: false }, 'exactly at the end of the first');
  t.same(placementAt(segs, 99), { segment: segs[1], position: 10, active: false }, 'after the last');
  t.same(placementAt([{ url: 'c', segment: 1, offset: 0, duration: Infinity }], 1e6)?.active, true, 'unknown length plays on');
  t.equal(placementAt([], 3), null);
});

t.test('formatClock is m:ss, floored, never negative', async (t) => {
  t.equal(formatClock(0), '0:00');
  t.equal(formatClock(59.99), '0:59');
  t.equal(formatClock(61), '1:01');
  t.equal(formatClock(3600), '60:00');
  t.equal(formatClock(-5), '0:00');
});
