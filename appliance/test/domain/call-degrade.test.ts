import t from 'tap';
import {
  DEFAULT_DEGRADE_THRESHOLDS as TH,
  DEGRADE_STALE_MS,
  degradeStep,
  initialDegradeState,
  type DegradeInput,
  type DegradeState,
  type DegradeStep,
} from '../../src/domain/call-degrade.js';

/** Feeds inputs in order; returns the final state and every step taken. */
function run(inputs: DegradeInput[], state: DegradeState = initialDegradeState(), th = TH): { state: DegradeState; steps: DegradeStep[] } {
  const steps: DegradeStep[] = [];
  for (const i of inputs) {
    const r = degradeStep(state, i, th);
    state = r.state;
    if (r.step) steps.push(r.step);
  }
  return { state, steps };
}

/** one sample a second from `from` to `to` seconds */
function samples(from: number, to: number, f: Partial<Extract<DegradeInput, { kind: 'sample' }>>): DegradeInput[] {
  const out: DegradeInput[] = [];
  for (let s = from; s <= to; s++) out.push({ kind: 'sample', at: s * 1000, party: 'customer', key: 'janus/video', ...f });
  return out;
}

t.test('sustained loss steps down to audio after downSeconds, not before', async (t) => {
  const early = run(samples(0, TH.downSeconds - 1, { lossPct: 30 }));
  t.same(early.steps, [], 'a bad stretch shorter than downSeconds changes nothing');
  t.equal(early.state.mode, 'video');
  const r = run(samples(0, TH.downSeconds, { lossPct: 30 }));
  t.same(r.steps, [{ from: 'video', to: 'audio', reason: 'loss', party: 'customer', at: TH.downSeconds * 1000 }]);
  t.equal(r.state.mode, 'audio');
});

t.test('a brief burst of loss interrupted by a clean sample does not step down', async (t) => {
  const r = run([...samples(0, 3, { lossPct: 30 }), ...samples(4, 4, { lossPct: 0 }), ...samples(5, 8, { lossPct: 30 })]);
  t.same(r.steps, []);
});

t.test('a bandwidth estimate under the threshold steps down; loss at the threshold does not', async (t) => {
  const r = run(samples(0, TH.downSeconds, { key: 'browser', availableKbps: TH.minKbps - 1, party: 'teller' }));
  t.same(
    r.steps.map((s) => [s.to, s.reason, s.party]),
    [['audio', 'bandwidth', 'teller']],
  );
  t.same(run(samples(0, 30, { lossPct: TH.lossPct, availableKbps: TH.minKbps })).steps, [], 'exactly at the thresholds: still video');
});

t.test('slowlink reports: a burst steps down at once, scattered ones do not', async (t) => {
  const burst = run([1000, 1500, 2000].map((at) => ({ kind: 'slowlink' as const, at, party: 'teller' as const })));
  t.same(
    burst.steps.map((s) => [s.to, s.reason, s.at]),
    [['audio', 'slowlink', 2000]],
  );
  const scattered = run([0, 10_000, 20_000, 30_000].map((at) => ({ kind: 'slowlink' as const, at, party: 'teller' as const })));
  t.same(scattered.steps, []);
});

t.test('steps back up after upSeconds of clean audio, with backoff when it falls back soon after', async (t) => {
  const down = run(samples(0, TH.downSeconds, { lossPct: 30 }));
  // in audio mode the video figures go stale; the audio stream is measured
  const cleanFrom = TH.downSeconds + 1;
  const notYet = run(samples(cleanFrom, cleanFrom + TH.upSeconds - 1, { key: 'janus/audio', lossPct: 0 }), down.state);
  t.same(notYet.steps, [], 'not before upSeconds');
  const up = run(samples(cleanFrom, cleanFrom + TH.upSeconds, { key: 'janus/audio', lossPct: 0 }), down.state);
  t.same(
    up.steps.map((s) => [s.from, s.to, s.reason]),
    [['audio', 'video', 'recovered']],
  );
  const upAt = (cleanFrom + TH.upSeconds) * 1000;
  t.equal(up.steps[0]!.at, upAt);

  // falls back 10 s later: the next step up needs twice the clean stretch
  const start = cleanFrom + TH.upSeconds + 10;
  const again = run(samples(start, start + TH.downSeconds, { lossPct: 30 }), up.state);
  t.same(
    again.steps.map((s) => s.to),
    ['audio'],
  );
  t.equal(again.state.backoff, 2);
  const c2 = start + TH.downSeconds + 1;
  t.same(run(samples(c2, c2 + TH.upSeconds + 5, { key: 'janus/audio', lossPct: 0 }), again.state).steps, [], 'one upSeconds is not enough now');
  t.same(
    run(samples(c2, c2 + 2 * TH.upSeconds, { key: 'janus/audio', lossPct: 0 }), again.state).steps.map((s) => s.to),
    ['video'],
    'twice is',
  );
});

t.test('loss on the audio stream keeps the call in audio', async (t) => {
  const down = run(samples(0, TH.downSeconds, { lossPct: 30 }));
  const r = run(samples(TH.downSeconds + 1, TH.downSeconds + 100, { key: 'janus/audio', lossPct: 20 }), down.state);
  t.same(r.steps, []);
  t.equal(r.state.mode, 'audio');
});

t.test('media lost: chat after chatAfterSeconds, back to audio when it flows, then video after recovery', async (t) => {
  const lost: DegradeInput[] = [
    { kind: 'media', at: 0, party: 'customer', flowing: false },
    { kind: 'tick', at: (TH.chatAfterSeconds - 1) * 1000 },
  ];
  t.same(run(lost).steps, [], 'a short drop is not a step');
  const r = run([...lost, { kind: 'tick', at: TH.chatAfterSeconds * 1000 }]);
  t.same(
    r.steps.map((s) => [s.from, s.to, s.reason, s.party]),
    [['video', 'chat', 'media-lost', 'customer']],
  );
  const back = run([{ kind: 'media', at: 9000, party: 'customer', flowing: true }], r.state);
  t.same(
    back.steps.map((s) => [s.from, s.to, s.reason]),
    [['chat', 'audio', 'media-back']],
  );
  const up = run(samples(10, 10 + TH.upSeconds, { key: 'janus/audio', lossPct: 0 }), back.state);
  t.same(
    up.steps.map((s) => s.to),
    ['video'],
  );
});

t.test('stale figures stop counting and the input state is never mutated', async (t) => {
  const s0 = initialDegradeState();
  const r1 = degradeStep(s0, { kind: 'sample', at: 0, party: 'teller', key: 'janus/video', lossPct: 50 }, TH);
  t.same(s0, initialDegradeState(), 'input untouched');
  // nothing heard from that stream for DEGRADE_STALE_MS: a tick no longer sees it as bad
  const r2 = degradeStep(r1.state, { kind: 'tick', at: 20_000 }, TH);
  t.same(r2.step, null);
  t.same(r2.state.figures, {});
  t.equal(r2.state.since, null);
});

t.test('a stream that stops reporting loss (no packets) does not hold the call down', async (t) => {
  const down = run(samples(0, TH.downSeconds, { lossPct: 30 }));
  // after the step down, the viewer's video stream reports no loss figure any more (nothing sent), audio is clean
  const inputs: DegradeInput[] = [];
  for (let s = TH.downSeconds + 1; s <= TH.downSeconds + 1 + TH.upSeconds + DEGRADE_STALE_MS / 1000; s++) {
    inputs.push({ kind: 'sample', at: s * 1000, party: 'customer', key: 'janus-down/video' });
    inputs.push({ kind: 'sample', at: s * 1000, party: 'customer', key: 'janus/audio', lossPct: 0 });
  }
  const r = run([{ kind: 'sample', at: TH.downSeconds * 1000 + 500, party: 'customer', key: 'janus-down/video', lossPct: 40 }, ...inputs], down.state);
  t.same(
    r.steps.map((s) => s.to),
    ['video'],
    'back to video once the last loss figure went stale and audio stayed clean',
  );
});

t.test('just after a step, transients are ignored: the first reports of resumed video do not step down again', async (t) => {
  const down = run(samples(0, TH.downSeconds, { lossPct: 30 }));
  const c = TH.downSeconds + 1;
  const up = run(samples(c, c + TH.upSeconds, { key: 'janus/audio', lossPct: 0 }), down.state);
  t.same(
    up.steps.map((s) => s.to),
    ['video'],
  );
  const upAt = up.steps[0]!.at / 1000;
  // the resumed video's first reports carry old losses for 2 s, plus a slowlink; then clean
  const r = run(
    [
      ...samples(upAt + 1, upAt + 2, { lossPct: 60 }),
      { kind: 'slowlink', at: (upAt + 1) * 1000, party: 'teller' },
      { kind: 'slowlink', at: (upAt + 1.5) * 1000, party: 'teller' },
      { kind: 'slowlink', at: (upAt + 2) * 1000, party: 'teller' },
      ...samples(upAt + 3, upAt + 20, { lossPct: 0 }),
    ],
    up.state,
  );
  t.same(r.steps, [], 'no step back down');
  // after the settling time the same losses count
  const later = run(samples(upAt + 4, upAt + 4 + TH.downSeconds, { lossPct: 60 }), up.state);
  t.same(
    later.steps.map((s) => s.to),
    ['audio'],
  );
});
