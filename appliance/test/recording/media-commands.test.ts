import t from 'tap';
import { depacketisedExtension, ffprobeArgs, mergeArgs, mjrConvertArgs, mjrInfoArgs, parseFfprobe, parseMjrInfo, toolFailureReason } from '../../src/recording/media-commands.js';
import { groupStreams, mediaFileName, parseStreamFileName } from '../../src/recording/recording-layout.js';

t.test('janus-pp-rec arguments and header parsing', async (t) => {
  t.same(mjrInfoArgs('/r/s/teller-s01-audio-0.mjr'), ['-e', '/r/s/teller-s01-audio-0.mjr']);
  t.same(mjrConvertArgs('/r/a.mjr', '/w/a.opus'), ['-o', '-d', '3', '/r/a.mjr', '/w/a.opus']);
  t.same(parseMjrInfo('{"t":"v","c":"vp8","x":{"13":"urn:3gpp:video-orientation"},"s":1795391495146905,"u":1795391495216775,"extended":{"packets":369,"duration":6.1500000000000004}}\n'), {
    kind: 'video',
    codec: 'vp8',
    createdUs: 1795391495146905,
    firstPacketUs: 1795391495216775,
    packets: 369,
    durationMs: 6150,
  });
  t.equal(parseMjrInfo('(null)\n'), null, 'an 8-byte file prints (null)');
  t.equal(parseMjrInfo(''), null);
  t.equal(parseMjrInfo('{"t":"x","c":"opus","s":1,"u":2}'), null, 'unknown kind');
  t.equal(parseMjrInfo('{"t":"a","c":"opus","s":1,"u":2}')?.packets, 0, 'no extended part: zero packets');
  t.equal(depacketisedExtension('opus'), 'opus');
  t.equal(depacketisedExtension('VP8'), 'webm');
  t.equal(depacketisedExtension('h264'), null, 'not in the WebM profile: sealed raw');
});

t.test('the merge is a stream copy with per-stream offsets and cues at the front', async (t) => {
  const args = mergeArgs({ video: { path: '/w/v.webm', offsetUs: 29_733 }, audio: { path: '/w/a.opus', offsetUs: 0 }, out: '/w/t.partial.webm' });
  t.same(args, [
    '-nostdin', '-hide_banner', '-loglevel', 'error', '-y',
    '-itsoffset', '0.029733', '-i', '/w/v.webm',
    '-itsoffset', '0.000000', '-i', '/w/a.opus',
    '-map', '0:v:0', '-map', '1:a:0',
    '-c', 'copy', '-cues_to_front', '1', '-f', 'webm', '/w/t.partial.webm',
  ]);
  t.notOk(args.some((a) => /^(-c:v|-vcodec|libvpx|-b:v)$/.test(a)), 'no re-encoding');
  t.same(mergeArgs({ video: null, audio: { path: '/a.opus', offsetUs: 0 }, out: '/o.webm' }).filter((a) => a.includes(':')), ['0:a:0'], 'audio only');
  t.throws(() => mergeArgs({ video: null, audio: null, out: '/o.webm' }));
});

t.test('ffprobe arguments and parsing', async (t) => {
  t.match(ffprobeArgs('/x.webm'), ['-v', 'error', '-show_entries', /format=duration/, '-of', 'json', '/x.webm']);
  const p = parseFfprobe(JSON.stringify({
    streams: [{ codec_type: 'video', codec_name: 'vp8', start_time: '0.030000' }, { codec_type: 'audio', codec_name: 'opus', start_time: '0.000000' }],
    format: { format_name: 'matroska,webm', duration: '6.230000' },
  }));
  t.same(p, { formatName: 'matroska,webm', durationMs: 6230, streams: [{ type: 'video', codec: 'vp8', startMs: 30 }, { type: 'audio', codec: 'opus', startMs: 0 }] });
  t.equal(parseFfprobe('{"format":{"duration":"N/A"}}').durationMs, 0);
});

t.test('failure reasons: short, no paths, disk full named', async (t) => {
  t.equal(
    toolFailureReason('ffmpeg', 1, null, 'Input #0...\n/var/lib/kyc/recordings/abc/.seal-1/teller-s01.partial.webm: No space left on device\n'),
    'disk full: ffmpeg failed (exit code 1): teller-s01.partial.webm: No space left on device',
  );
  t.equal(toolFailureReason('janus-pp-rec', null, 'SIGKILL', ''), 'janus-pp-rec failed (killed by SIGKILL)');
});

t.test('recording folder layout', async (t) => {
  t.match(parseStreamFileName('teller-s01-audio-0.mjr'), { party: 'teller', segment: 1, kind: 'audio', open: false });
  t.match(parseStreamFileName('customer-s02-video.mjr.tmp'), { party: 'customer', segment: 2, kind: 'video', open: true });
  t.equal(parseStreamFileName('teller-s00-audio.mjr'), null);
  t.equal(parseStreamFileName('boss-s01-audio.mjr'), null);
  t.equal(parseStreamFileName('teller-s01-audio.opus'), null);
  const g = groupStreams([
    'customer-s02-audio-0.mjr', 'teller-s01-video-1.mjr', 'teller-s01-audio-0.mjr', 'customer-s01-video-1.mjr',
    'customer-s01-audio-0.mjr', 'customer-s01-audio-0.mjr.tmp', 'teller-s01-video-2.mjr', 'notes.txt',
  ]);
  t.same(g.segments.map((s) => `${s.party}-${s.segment}:${s.audio?.name ?? '-'}:${s.video?.name ?? '-'}:${s.extra.map((x) => x.name).join(',')}`), [
    'teller-1:teller-s01-audio-0.mjr:teller-s01-video-1.mjr:teller-s01-video-2.mjr',
    'customer-1:customer-s01-audio-0.mjr:customer-s01-video-1.mjr:',
    'customer-2:customer-s02-audio-0.mjr:-:',
  ], 'teller first, by segment; a closed file wins over its leftover .tmp; a second video is extra');
  t.same(g.unknown, ['notes.txt']);
  t.equal(mediaFileName('customer', 3), 'customer-s03.webm');
});
