// The capacity benchmark's harness, end to end at small scale: two recorded 1:1 calls between synthetic WebRTC
// parties (werift, replaying pre-encoded VP8 + Opus) through the real appliance, its signaling and Janus inside a
// network namespace. Both calls are recorded without gaps, hung up and sealed complete. Needs root (ip netns).
import t from 'tap';
import { GAP_PAUSE_MS, hangUpSyntheticCall, openSyntheticCall, partyStats, recordingContinuity, startSyntheticCallStack, waitSealed } from './synthetic-calls.js';
import { join } from 'node:path';

const HOLD_MS = 8_000;

t.test('two synthetic calls at once are recorded without gaps and sealed complete', { timeout: 120_000 }, async (t) => {
  const s = await startSyntheticCallStack(t, { partyHosts: 2 });
  const [h0, h1] = s.hosts as [(typeof s.hosts)[0], (typeof s.hosts)[0]];
  // one call with its parties in one process, one across both processes
  const calls = await Promise.all([openSyntheticCall(s, [h0, h0]), openSyntheticCall(s, [h0, h1])]);
  t.equal(new Set(calls.map((c) => c.sessionId)).size, 2, 'two sessions admitted and joined');
  await new Promise((r) => setTimeout(r, HOLD_MS));

  for (const [i, call] of calls.entries()) {
    const stats = await partyStats(call);
    for (const party of ['teller', 'customer'] as const) {
      const p = stats[party];
      t.ok(p && p.publisher === 'connected' && p.subscriber === 'connected', `call ${i + 1}: the ${party} is connected (publisher ${p?.publisher}, subscriber ${p?.subscriber})`);
      // ~8 s: 50 Opus packets a second and well over 15 VP8 packets a second
      t.ok(p && p.sent.audio > 300 && p.sent.video > 120, `call ${i + 1}: the ${party} sent ${p?.sent.audio} audio and ${p?.sent.video} video packets`);
      t.ok(p && p.received > 300, `call ${i + 1}: the ${party} receives the other party (${p?.received} packets)`);
    }
    const streams = await recordingContinuity(join(s.a.config.recording.dir, call.sessionId));
    t.same(
      // Janus appends the m-line index; .tmp while it writes
      streams.map((x) => x.file.replace(/(-\d+)?\.mjr(\.tmp)?$/, '')).sort(),
      ['customer-s01-audio', 'customer-s01-video', 'teller-s01-audio', 'teller-s01-video'],
      `call ${i + 1}: Janus records both parties' audio and video`,
    );
    for (const x of streams) {
      t.ok(x.packets > 100 && x.spanMs > HOLD_MS - 2000, `call ${i + 1}: ${x.file}: ${x.packets} packets over ${x.spanMs} ms`);
      t.ok(x.lost === 0 && x.maxPauseMs < GAP_PAUSE_MS, `call ${i + 1}: ${x.file}: no gap (${x.lost} lost, longest pause ${x.maxPauseMs} ms)`);
    }
  }

  await Promise.all(calls.map((c) => hangUpSyntheticCall(s, c)));
  for (const [i, call] of calls.entries()) {
    const rec = await waitSealed(s, call.sessionId, 60_000);
    t.equal(rec.status, 'sealed', `call ${i + 1}: sealed${rec.failureReason ? ` (${rec.failureReason})` : ''}`);
    t.equal(rec.complete, true, `call ${i + 1}: complete (${rec.issues.map((x) => x.code).join(', ') || 'no issues'})`);
    for (const party of ['teller', 'customer']) {
      const p = rec.parties.find((x) => x.party === party);
      t.ok(p && p.durationMs > HOLD_MS - 2000 && p.bytes > 50_000, `call ${i + 1}: ${party}: ${p?.durationMs} ms, ${p?.bytes} bytes sealed`);
    }
  }
});
