import t from 'tap';
import { PNG } from 'pngjs';
import { createFaceServices, FaceImageError, type FaceServices } from '../../src/face/index.js';
import { faceFixture, personA, testFaceConfig } from './fixtures.js';

function blankPng(width: number, height: number): Buffer {
  const png = new PNG({ width, height });
  png.data.fill(200);
  return PNG.sync.write(png);
}

let face: FaceServices;
t.before(async () => {
  face = createFaceServices(testFaceConfig());
  const ready = await face.ready();
  t.ok(ready.loadMs > 0, 'the model loads from the package files');
});
t.teardown(() => face.close());

t.test('same person matches, another person does not; scores are 0..1, higher = more alike', async (t) => {
  const same = await face.engine.compare(faceFixture('people/london-005/neutral.jpg'), faceFixture('people/london-005/smiling.jpg'));
  t.equal(same.decision, 'match');
  t.equal(same.engine, 'builtin-face-api');
  t.same(same.faces, { reference: 1, probe: 1 });
  t.same(same.thresholds, { match: 0.5, review: 0.4 });
  const other = await face.engine.compare(faceFixture('people/london-005/neutral.jpg'), faceFixture('people/london-024/neutral.jpg'));
  t.equal(other.decision, 'no_match');
  t.ok(same.score > other.score, `same ${same.score} > other ${other.score}`);
  for (const s of [same.score, other.score]) t.ok(s >= 0 && s <= 1);
});

t.test('ID card photo vs live webcam-like frames: the best frame wins', async (t) => {
  const card = faceFixture('id-cards/person-a-front.jpg');
  const best = await face.engine.compareBest(card, [faceFixture('people/london-024/smiling.jpg'), faceFixture('people/london-005/smiling.jpg')]);
  t.equal(best.probeIndex, 1, 'the frame showing the card holder');
  t.equal(best.decision, 'match');
  const swapped = await face.engine.compare(faceFixture('id-cards/person-a-data-person-b-photo-front.jpg'), faceFixture('people/london-005/smiling.jpg'));
  t.not(swapped.decision, 'match', "a card bearing another person's photo does not match");
});

t.test('bad images are refused with stable codes', async (t) => {
  const refuse = async (ref: Buffer, probe: Buffer, code: string, which: string) => {
    const err = await face.engine.compare(ref, probe).then(
      () => null,
      (e: unknown) => e,
    );
    t.ok(err instanceof FaceImageError, `${code} is a FaceImageError`);
    t.equal((err as FaceImageError).code, code);
    t.equal((err as FaceImageError).which, which);
  };
  const good = faceFixture('people/lisa/webcam-1.jpg');
  await refuse(Buffer.from('not an image at all, just text'), good, 'KYC_ERR_IMAGE_INVALID', 'reference');
  await refuse(good, blankPng(320, 240), 'KYC_ERR_NO_FACE', 'probe');
  const truncated = good.subarray(0, 2000);
  await refuse(truncated, good, 'KYC_ERR_IMAGE_INVALID', 'reference');
  await refuse(good, blankPng(5000, 100), 'KYC_ERR_IMAGE_TOO_LARGE', 'probe');
});

t.test('two faces side by side are refused as KYC_ERR_MULTIPLE_FACES', async (t) => {
  const jpeg = await import('jpeg-js');
  const left = jpeg.default.decode(faceFixture('people/london-005/neutral.jpg'), { formatAsRGBA: true });
  const right = jpeg.default.decode(faceFixture('people/london-024/neutral.jpg'), { formatAsRGBA: true });
  const both = new PNG({ width: 800, height: 400 });
  for (let y = 0; y < 400; y++) {
    for (let x = 0; x < 400; x++) {
      for (let c = 0; c < 4; c++) {
        both.data[(y * 800 + x) * 4 + c] = left.data[(y * 400 + x) * 4 + c] as number;
        both.data[(y * 800 + x + 400) * 4 + c] = right.data[(y * 400 + x) * 4 + c] as number;
      }
    }
  }
  const err = await face.engine.compare(PNG.sync.write(both), faceFixture('people/lisa/webcam-1.jpg')).then(
    () => null,
    (e: unknown) => e,
  );
  t.equal((err as FaceImageError)?.code, 'KYC_ERR_MULTIPLE_FACES');
});

t.test('liveness: no face fails; a still photo repeated fails every challenge; another face is not the same face', async (t) => {
  const still = faceFixture('people/lisa/webcam-1.jpg');
  const noFace = await face.liveness.checkChallenge('blink', [still, blankPng(320, 240)]);
  t.equal(noFace.passed, false);
  t.equal(noFace.reason, 'no_face');
  for (const kind of ['turn-left', 'turn-right', 'blink', 'open-mouth', 'read-digits'] as const) {
    const r = await face.liveness.checkChallenge(kind, [still, still, still], faceFixture('people/lisa/webcam-4.jpg'));
    t.equal(r.passed, false, `${kind}: a photo held still does not pass`);
    t.equal(r.sameFace, true, `${kind}: but it is the reference's face`);
    t.ok(Object.keys(r.measurements).length > 1, `${kind}: measurements are reported`);
  }
  const other = await face.liveness.checkChallenge('turn-left', [still, still], faceFixture('people/london-024/neutral.jpg'));
  t.equal(other.sameFace, false);
});

t.test('liveness: prepared frames of a turn, an open mouth and a blink pass, the wrong way or another face does not', async (t) => {
  const frame = (n: string) => faceFixture(`liveness/${n}.jpg`);
  const card = faceFixture('id-cards/person-a-front.jpg');
  for (const kind of ['turn-left', 'turn-right'] as const) {
    const r = await face.liveness.checkChallenge(kind, [frame('frontal'), frame(kind === 'turn-left' ? 'turned-left' : 'turned-right')], card);
    t.equal(r.passed, true, `${kind} passes: ${JSON.stringify(r.measurements)}`);
    t.equal(r.sameFace, true, `${kind}: the card holder's face`);
  }
  const wrongWay = await face.liveness.checkChallenge('turn-left', [frame('frontal'), frame('turned-right')], card);
  t.equal(wrongWay.passed, false);
  t.equal(wrongWay.reason, 'no_turn');
  const mouth = await face.liveness.checkChallenge('open-mouth', [frame('frontal'), frame('mouth-open')], card);
  t.equal(mouth.passed, true, `open-mouth passes: ${JSON.stringify(mouth.measurements)}`);
  t.equal((await face.liveness.checkChallenge('read-digits', [frame('frontal'), frame('mouth-open'), frame('frontal')], card)).passed, true);
  const turnAsBlink = await face.liveness.checkChallenge('blink', [frame('turned-left'), frame('frontal'), frame('turned-left')], card);
  t.equal(turnAsBlink.passed, false, `a head turn is not a blink (the eyes' outline narrows on a turn): ${JSON.stringify(turnAsBlink.measurements)}`);
  t.equal(turnAsBlink.reason, 'head_moved');
  const blink = await face.liveness.checkChallenge('blink', [frame('frontal'), frame('eyes-closed'), frame('frontal')], card);
  t.equal(blink.passed, true, `eyes open, closed, open again: a blink: ${JSON.stringify(blink.measurements)}`);
  t.equal(blink.sameFace, true);
  const closedOnly = await face.liveness.checkChallenge('blink', [frame('eyes-closed'), frame('eyes-closed')], card);
  t.equal(closedOnly.passed, false, `eyes closed in every frame (a photo with closed eyes): no blink: ${JSON.stringify(closedOnly.measurements)}`);
  t.equal(closedOnly.reason, 'no_blink');
  const openOnly = await face.liveness.checkChallenge('blink', [frame('frontal'), faceFixture('people/london-005/smiling.jpg'), frame('frontal')], card);
  t.equal(openOnly.passed, false, `open eyes in every frame: no blink: ${JSON.stringify(openOnly.measurements)}`);
  t.equal(openOnly.reason, 'no_blink');
  const impostor = await face.liveness.checkChallenge('open-mouth', [frame('frontal'), frame('mouth-open')], faceFixture('id-cards/person-a-data-person-b-photo-front.jpg'));
  t.equal(impostor.passed, false, 'frames of A against a card bearing B');
  t.equal(impostor.reason, 'different_face');
  t.equal(impostor.sameFace, false);
});

t.test('OCR reads the 18-digit number from the card front and validates its check digit', async (t) => {
  const r = await face.idReader.read(faceFixture('id-cards/person-a-front.jpg'));
  t.equal(r.idNumber, personA.idNumber);
  t.equal(r.checksumValid, true);
  const back = await face.idReader.read(faceFixture('id-cards/person-a-back.jpg'));
  t.equal(back.checksumValid, false, 'the back carries no valid number (digits of its dates do not pass the check digit)');
});

t.test("blink's measure: every open-eyed photo of the labelled set reads open, the closed-eye frame reads closed", async (t) => {
  const labels = JSON.parse(faceFixture('labels.json').toString('utf8')) as { photos: Array<{ file: string }> };
  const open: number[] = [];
  for (const p of labels.photos) open.push((await face.builtin.describe(faceFixture(p.file), 'frame')).face.eyes);
  const closed = (await face.builtin.describe(faceFixture('liveness/eyes-closed.jpg'), 'frame')).face.eyes;
  const lowest = Math.min(...open);
  t.ok(open.length >= 20, `${open.length} photos`);
  t.ok(lowest >= 0.3, `open eyes read at least the appliance's openEye 0.3 (lowest ${lowest.toFixed(3)})`);
  t.ok(closed <= lowest * 0.5, `closed eyes ${closed.toFixed(3)} at most half the lowest open ${lowest.toFixed(3)}`);
});
