import t from 'tap';
import { recordingBaseName } from '../../src/media/signaling-hub.js';
import { MAX_SEGMENT, PARTIES, parseStreamFileName } from '../../src/recording/recording-layout.js';

t.test('one segment-number rule: every name the hub gives Janus is read back by the sealer as the same segment', async (t) => {
  for (const party of PARTIES) {
    for (let segment = 1; segment <= MAX_SEGMENT; segment++) {
      const base = recordingBaseName(party, segment);
      for (const file of [`${base}-video-1.mjr`, `${base}-audio-0.mjr.tmp`, `${base}-audio.mjr`]) {
        const parsed = parseStreamFileName(file);
        if (!parsed || parsed.party !== party || parsed.segment !== segment) t.fail(`${file} read back as ${JSON.stringify(parsed)}`);
      }
    }
  }
  t.pass(`segments 1..${MAX_SEGMENT} of both parties round-trip`);
  for (const bad of [0, MAX_SEGMENT + 1, 1.5, -1]) t.throws(() => recordingBaseName('teller', bad), RangeError, `segment ${bad} has no name`);
  t.equal(parseStreamFileName('teller-s100-video-1.mjr'), null, 'three digits are not a segment');
  t.equal(parseStreamFileName('teller-s00-video-1.mjr'), null, 'nor is 00');
});
