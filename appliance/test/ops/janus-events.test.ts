// The Janus event feed's own logic: a selected candidate pair that arrives before the hub has mapped the handle to
// its party is not lost; it is counted when a later event of that handle finds the mapping.
import t from 'tap';
import { Registry } from 'prom-client';
import { JanusEventStats } from '../../src/services/janus-events.js';

t.test('a selected pair before the handle is mapped is counted once the mapping is known', async (t) => {
  const registry = new Registry();
  let mapped = false;
  const feed = new JanusEventStats(registry, (h) => (mapped && h === 7 ? { party: 'customer', direction: 'up' } : null));
  const pair = { type: 16, handle_id: 7, event: { 'selected-pair': '10.0.0.1:5000 [host,udp] <-> 10.0.0.2:6000 [host,udp]' } };
  const media = { type: 32, handle_id: 7, event: { media: 'video', 'packets-received': 10, 'packets-lost': 0, 'bytes-received-lastsec': 1000 } };
  feed.ingest(JSON.stringify([pair]), 1000);
  const count = async () => (await registry.getSingleMetricAsString('kyc_call_candidate_total')).match(/party="customer",type="host",source="janus"} (\d+)/)?.[1] ?? '0';
  t.equal(await count(), '0', 'not counted while the handle has no party');
  mapped = true;
  feed.ingest(JSON.stringify([media]), 2000);
  t.equal(await count(), '1', 'counted at the next event of the handle');
  feed.ingest(JSON.stringify([media]), 3000);
  t.equal(await count(), '1', 'and only once');
  feed.ingest(JSON.stringify([pair]), 4000);
  t.equal(await count(), '2', 'a later selected pair (ICE restart) counts as usual');
});
