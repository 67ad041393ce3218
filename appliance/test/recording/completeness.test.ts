import t from 'tap';
import { checkCompleteness, isComplete, type InspectedSegment, type InspectedStream } from '../../src/recording/completeness.js';
import type { Party } from '../../src/recording/recording-layout.js';

const T0 = Date.UTC(2026, 10, 22, 10, 0, 0) * 1000;
const stream = (
  party: Party,
  segment: number,
  kind: 'audio' | 'video',
  startMs: number,
  durationMs: number,
  o: { packets?: number; open?: boolean; bytes?: number; noHeader?: boolean } = {},
): InspectedStream => ({
  file: { party, segment, kind, name: `${party}-s0${segment}-${kind}.mjr${o.open ? '.tmp' : ''}`, open: o.open ?? false },
  bytes: o.bytes ?? 100_000,
  info: o.noHeader ? null : { kind, codec: kind === 'audio' ? 'opus' : 'vp8', createdUs: T0, firstPacketUs: T0 + startMs * 1000, packets: o.packets ?? 100, durationMs },
});
const seg = (party: Party, segment: number, startMs: number, durationMs: number, over: Partial<InspectedSegment> = {}): InspectedSegment => ({
  party,
  segment,
  audio: stream(party, segment, 'audio', startMs, durationMs),
  video: stream(party, segment, 'video', startMs + 40, durationMs - 40),
  extra: [],
  ...over,
});
const session = { sessionStart: new Date(T0 / 1000 - 1000), sessionEnd: new Date(T0 / 1000 + 600_000) };
const codes = (segments: InspectedSegment[], unknownFiles: string[] = []) => checkCompleteness({ ...session, segments, unknownFiles }).map((i) => `${i.code}${i.party ? `:${i.party}` : ''}`);

t.test('a whole 10-minute call of both parties is complete', async (t) => {
  const issues = checkCompleteness({ ...session, segments: [seg('teller', 1, 0, 600_000), seg('customer', 1, 2000, 598_000)], unknownFiles: [] });
  t.same(issues, []);
  t.ok(isComplete(issues));
});

t.test('missing and empty streams, missing parties', async (t) => {
  t.same(codes([seg('teller', 1, 0, 600_000)]), ['party_missing:customer']);
  t.same(codes([seg('teller', 1, 0, 600_000, { video: null }), seg('customer', 1, 0, 600_000)]), ['stream_missing:teller']);
  const headerOnly = seg('customer', 1, 0, 600_000, { video: stream('customer', 1, 'video', 0, 0, { noHeader: true, bytes: 8 }) });
  const issues = checkCompleteness({ ...session, segments: [seg('teller', 1, 0, 600_000), headerOnly], unknownFiles: [] });
  t.match(issues, [{ code: 'stream_empty', party: 'customer', severity: 'error', message: /8 bytes, header only/ }]);
  t.notOk(isComplete(issues));
  t.same(codes([seg('teller', 1, 0, 600_000), seg('customer', 1, 0, 600_000, { audio: stream('customer', 1, 'audio', 0, 0, { packets: 0 }) })]), ['stream_empty:customer']);
});

t.test('durations, offsets, unclosed files, reconnect segments, unknown files', async (t) => {
  t.same(codes([seg('teller', 1, 0, 500_000), seg('customer', 1, 0, 600_000)]), ['duration_short:teller'], '100 s missing of 601 s');
  t.same(codes([seg('teller', 1, 0, 580_000), seg('customer', 1, 0, 600_000)]), [], '21 s short is within 5 % of the session');
  t.same(codes([seg('teller', 1, 0, 700_000), seg('customer', 1, 0, 600_000)]), ['duration_long:teller']);
  const av = seg('teller', 1, 0, 600_000, { video: stream('teller', 1, 'video', 2500, 597_500) });
  t.same(codes([av, seg('customer', 1, 0, 600_000)]), ['av_offset:teller']);
  t.same(codes([seg('teller', 1, 0, 600_000), seg('customer', 1, 20_000, 580_000)]), ['party_offset']);
  const open = seg('teller', 1, 0, 600_000, { audio: stream('teller', 1, 'audio', 0, 600_000, { open: true }) });
  t.same(codes([open, seg('customer', 1, 0, 600_000)]), ['stream_unclosed:teller']);
  const reconnect = [seg('teller', 1, 0, 600_000), seg('customer', 1, 0, 300_000), seg('customer', 2, 302_000, 298_000)];
  const issues = checkCompleteness({ ...session, segments: reconnect, unknownFiles: ['x.txt'] });
  t.same(
    issues.map((i) => `${i.code}:${i.severity}`),
    ['segment_break:info', 'unknown_file:warning'],
  );
  t.notOk(isComplete(issues), 'an unknown file is worth a look');
  t.ok(isComplete(issues.filter((i) => i.code === 'segment_break')), 'a reconnect alone is information');
});

t.test('media modes: a voice-only customer records no video, a text-only customer nothing', async (t) => {
  const check = (customerMedia: 'video' | 'audio' | 'chat', segments: InspectedSegment[]) =>
    checkCompleteness({ ...session, segments, unknownFiles: [], customerMedia }).map((i) => `${i.code}:${i.severity}${i.party ? `:${i.party}` : ''}`);
  const teller = seg('teller', 1, 0, 600_000);
  // audio: no customer video file, or the header-only file of an empty video section, is what was asked for
  t.same(check('audio', [teller, seg('customer', 1, 0, 600_000, { video: null })]), []);
  t.same(check('audio', [teller, seg('customer', 1, 0, 600_000, { video: stream('customer', 1, 'video', 0, 0, { noHeader: true, bytes: 8 }) })]), []);
  t.same(check('audio', [teller, seg('customer', 1, 0, 600_000)]), ['stream_unexpected:warning:customer'], 'video recorded though voice only: kept, flagged');
  t.same(
    check('audio', [teller, seg('customer', 1, 0, 600_000, { audio: null, video: null })]),
    ['stream_missing:error:customer', 'duration_short:error:customer'],
    'the voice itself must be there',
  );
  t.same(check('audio', [teller, seg('customer', 1, 0, 300_000, { video: null })]), ['duration_short:error:customer'], 'and last the session');
  t.same(
    check('audio', [seg('teller', 1, 0, 600_000, { video: null }), seg('customer', 1, 0, 600_000, { video: null })]),
    ['stream_missing:error:teller'],
    'the teller always records video',
  );
  // chat: the customer publishes nothing
  const chatOnly = checkCompleteness({ ...session, segments: [teller], unknownFiles: [], customerMedia: 'chat' });
  t.same(
    chatOnly.map((i) => `${i.code}:${i.severity}`),
    ['customer_chat_only:info'],
  );
  t.ok(isComplete(chatOnly), 'a text-only session with the whole teller recording is complete');
  t.same(check('chat', [teller, seg('customer', 1, 0, 600_000)]), ['stream_unexpected:warning:customer', 'stream_unexpected:warning:customer']);
  t.same(check('chat', []), ['party_missing:error:teller', 'customer_chat_only:info:customer']);
  // video (and a manifest from before the modes): as always
  t.same(check('video', [teller, seg('customer', 1, 0, 600_000, { video: null })]), ['stream_missing:error:customer']);
  t.same(codes([teller]), ['party_missing:customer'], 'no mode given reads as video');
});
