import t from 'tap';
import {
  compositeClockText,
  compositeExportArgs,
  depacketisedExtension,
  ffprobeArgs,
  progressFraction,
  mergeArgs,
  mjrConvertArgs,
  mjrInfoArgs,
  parseFfprobe,
  parseMjrInfo,
  toolFailureReason,
} from '../../src/recording/media-commands.js';
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
    '-nostdin',
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-itsoffset',
    '0.029733',
    '-i',
    '/w/v.webm',
    '-itsoffset',
    '0.000000',
    '-i',
    '/w/a.opus',
    '-map',
    '0:v:0',
    '-map',
    '1:a:0',
    '-c',
    'copy',
    '-cues_to_front',
    '1',
    '-f',
    'webm',
    '/w/t.partial.webm',
  ]);
  t.notOk(
    args.some((a) => /^(-c:v|-vcodec|libvpx|-b:v)$/.test(a)),
    'no re-encoding',
  );
  t.same(
    mergeArgs({ video: null, audio: { path: '/a.opus', offsetUs: 0 }, out: '/o.webm' }).filter((a) => a.includes(':')),
    ['0:a:0'],
    'audio only',
  );
  t.throws(() => mergeArgs({ video: null, audio: null, out: '/o.webm' }));
});

t.test('ffprobe arguments and parsing', async (t) => {
  t.match(ffprobeArgs('/x.webm'), ['-v', 'error', '-show_entries', /format=duration/, '-of', 'json', '/x.webm']);
  const p = parseFfprobe(
    JSON.stringify({
      streams: [
        { codec_type: 'video', codec_name: 'vp8', start_time: '0.030000' },
        { codec_type: 'audio', codec_name: 'opus', start_time: '0.000000' },
      ],
      format: { format_name: 'matroska,webm', duration: '6.230000' },
    }),
  );
  t.same(p, {
    formatName: 'matroska,webm',
    durationMs: 6230,
    streams: [
      { type: 'video', codec: 'vp8', startMs: 30 },
      { type: 'audio', codec: 'opus', startMs: 0 },
    ],
  });
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
    'customer-s02-audio-0.mjr',
    'teller-s01-video-1.mjr',
    'teller-s01-audio-0.mjr',
    'customer-s01-video-1.mjr',
    'customer-s01-audio-0.mjr',
    'customer-s01-audio-0.mjr.tmp',
    'teller-s01-video-2.mjr',
    'notes.txt',
  ]);
  t.same(
    g.segments.map((s) => `${s.party}-${s.segment}:${s.audio?.name ?? '-'}:${s.video?.name ?? '-'}:${s.extra.map((x) => x.name).join(',')}`),
    [
      'teller-1:teller-s01-audio-0.mjr:teller-s01-video-1.mjr:teller-s01-video-2.mjr',
      'customer-1:customer-s01-audio-0.mjr:customer-s01-video-1.mjr:',
      'customer-2:customer-s02-audio-0.mjr:-:',
    ],
    'teller first, by segment; a closed file wins over its leftover .tmp; a second video is extra',
  );
  t.same(g.unknown, ['notes.txt']);
  t.equal(mediaFileName('customer', 3), 'customer-s03.webm');
});

t.test('composite export arguments: parties on the timeline, gaps, mix, faststart, progress', async (t) => {
  const args = compositeExportArgs({
    left: {
      label: 'Teller',
      segments: [
        { path: '/w/t2.webm', startMs: 3000, durationMs: 1000, videoDelayMs: 0, audioDelayMs: 40 },
        { path: '/w/t1.webm', startMs: 0, durationMs: 2000, videoDelayMs: 20, audioDelayMs: 0 },
      ],
    },
    right: { label: 'Customer', segments: [{ path: '/w/c1.webm', startMs: 500, durationMs: 3500, videoDelayMs: 0, audioDelayMs: null }] },
    totalMs: 4000,
    epochSeconds: 1795391495.2,
    clockTextFile: '/w/clock.txt',
    watermarkTextFile: '/w/wm.txt',
    fontFile: '/f.ttf',
    out: '/w/out.mp4',
  });
  const inputs = args.flatMap((a, i) => (a === '-i' ? [args[i + 1]] : []));
  t.same(inputs, ['/w/t1.webm', '/w/t2.webm', '/w/c1.webm'], 'segments in timeline order, left party first');
  const graph = args[args.indexOf('-filter_complex') + 1]!;
  t.match(graph, /\[0:v:0\]setpts=PTS-STARTPTS,fps=15,scale=640:480.*tpad=start_duration=0\.020:color=black\[v0_0\]/, 'first teller segment delayed by its video start');
  t.match(graph, /\[1:v:0\][^;]*tpad=start_duration=1\.000:/, 'the gap before the reconnect is black');
  t.match(graph, /\[1:a:0\][^;]*adelay=delays=1040:all=1\[a0_1\]/, 'the gap before the reconnect is silent');
  t.match(graph, /\[v0_0\]\[v0_1\]concat=n=2:v=1:a=0,tpad=stop=-1:color=black,trim=duration=4\.000,drawtext=fontfile=\/f\.ttf:text=Teller/);
  t.match(graph, /\[2:v:0\][^;]*tpad=start_duration=0\.500:/, 'the customer starts 500 ms later');
  t.notMatch(graph, /\[2:a/, 'a segment without audio adds no audio input');
  t.match(graph, /\[tile0\]\[tile1\]hstack=inputs=2,drawtext=fontfile=\/f\.ttf:textfile=\/w\/clock\.txt:expansion=normal[^;]*,drawtext=[^;]*textfile=\/w\/wm\.txt:expansion=none/);
  t.match(graph, /\[aud0\]apad,atrim=duration=4\.000\[aout\]/, 'one party with audio: no mix');
  t.same(args.slice(args.indexOf('-movflags'), args.indexOf('-movflags') + 2), ['-movflags', '+faststart']);
  t.ok(args.includes('libx264') && args.includes('aac'));
  t.same(args.slice(args.indexOf('-progress'), args.indexOf('-progress') + 2), ['-progress', 'pipe:1']);
  t.equal(args.at(-1), '/w/out.mp4');
  t.throws(
    () =>
      compositeExportArgs({
        left: { label: 'x:y', segments: [] },
        right: { label: 'C', segments: [] },
        totalMs: 1,
        epochSeconds: 0,
        clockTextFile: 'a',
        watermarkTextFile: 'b',
        fontFile: 'f',
        out: 'o',
      }),
    'labels cannot carry filter syntax',
  );

  const both = compositeExportArgs({
    left: { label: 'Teller', segments: [{ path: '/a', startMs: 0, durationMs: 1000, videoDelayMs: 0, audioDelayMs: 0 }] },
    right: { label: 'Customer', segments: [{ path: '/b', startMs: 0, durationMs: 1000, videoDelayMs: null, audioDelayMs: 0 }] },
    totalMs: 1000,
    epochSeconds: 0,
    clockTextFile: 'c',
    watermarkTextFile: 'w',
    fontFile: 'f',
    out: 'o',
  });
  const g2 = both[both.indexOf('-filter_complex') + 1]!;
  t.match(g2, /\[aud0\]\[aud1\]amix=inputs=2:normalize=0/);
  t.match(g2, /color=c=black:s=640x480:r=15:d=1\.000,format=yuv420p,drawtext=[^;]*text=Customer[^;]*\[tile1\]/, 'a party without video is a black tile');

  t.equal(compositeClockText(1795391495.2), '%{pts:gmtime:1795391495.200:%Y-%m-%d %H\\:%M\\:%S} UTC');
  t.equal(progressFraction('out_time_ms=2000000', 4000), 0.5);
  t.equal(progressFraction('out_time_us=8000000', 4000), 1, 'clamped');
  t.equal(progressFraction('progress=continue', 4000), null);
});
