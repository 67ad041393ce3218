import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import pg from 'pg';
import { newCaseBody, startTestAppliance, type TestAppliance } from '../helpers/appliance.js';
import { admitCustomer } from '../helpers/kyc-session.js';
import { pickChallenges } from '../../src/kyc/identity-service.js';

const run = promisify(execFile);
const FIXTURES = new URL('../fixtures/faces/', import.meta.url);
const fixture = (path: string) => readFileSync(new URL(path, FIXTURES));
const LISA = [1, 2, 3, 4].map((i) => fixture(`people/lisa/webcam-${i}.jpg`));

/** A product whose script is just the identity steps, so that this test needs no confirmations first. */
const IDV = {
  code: 'TEST-IDV',
  nameZh: '身份核验测试',
  nameEn: 'Identity test',
  retentionYears: 5,
  steps: [
    { id: 'id-capture', kind: 'id-capture', required: true, title: { 'zh-CN': '拍证件', en: 'ID' } },
    { id: 'face-match', kind: 'face-match', required: true, title: { 'zh-CN': '人脸', en: 'Face' } },
    { id: 'liveness', kind: 'liveness', required: true, title: { 'zh-CN': '活体', en: 'Liveness' } },
  ],
};

/** multipart/form-data with one `frame` part per image */
function frames(images: Buffer[], type = 'image/jpeg'): { payload: Buffer; headers: Record<string, string> } {
  const boundary = '----kyc-identity-test';
  const parts = images.map((img, i) =>
    Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="frame"; filename="f${i}.jpg"\r\nContent-Type: ${type}\r\n\r\n`), img, Buffer.from('\r\n')]),
  );
  return { payload: Buffer.concat([...parts, Buffer.from(`--${boundary}--\r\n`)]), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

/** Images made with ffmpeg for the refusals: no face, two faces side by side, too many pixels. */
async function badImages(): Promise<{ noFace: Buffer; twoFaces: Buffer; huge: Buffer }> {
  const dir = await mkdtemp(join(tmpdir(), 'kyc-identity-'));
  try {
    const ff = (args: string[]) => run('/usr/bin/ffmpeg', ['-loglevel', 'error', '-y', ...args]);
    await ff(['-f', 'lavfi', '-i', 'color=c=gray:s=640x480', '-frames:v', '1', join(dir, 'gray.jpg')]);
    const a = new URL('people/lisa/webcam-1.jpg', FIXTURES).pathname;
    const b = new URL('people/london-001/neutral.jpg', FIXTURES).pathname;
    await ff(['-i', a, '-i', b, '-filter_complex', '[0]scale=480:480[l];[1]scale=480:480[r];[l][r]hstack', '-frames:v', '1', join(dir, 'two.jpg')]);
    await ff(['-f', 'lavfi', '-i', 'color=c=white:s=5000x200', '-frames:v', '1', join(dir, 'huge.jpg')]);
    return { noFace: await readFile(join(dir, 'gray.jpg')), twoFaces: await readFile(join(dir, 'two.jpg')), huge: await readFile(join(dir, 'huge.jpg')) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function headers(a: TestAppliance, user: string) {
  return { authorization: `Bearer ${await a.tokenFor(user)}` };
}

t.test('liveness challenges: 2–3 different kinds, random per session (R6)', async (t) => {
  const seen = new Set<string>();
  for (let i = 0; i < 40; i++) {
    const c = pickChallenges();
    t.ok(c.length >= 2 && c.length <= 3, 'two or three');
    t.equal(new Set(c.map((x) => x.kind)).size, c.length, 'no kind twice');
    for (const x of c) if (x.kind === 'read-digits') t.match(x.digits, /^[1-9][0-9]{3,5}$/);
    seen.add(c.map((x) => x.kind).join(','));
  }
  t.ok(seen.size > 5, `sequences vary (${seen.size} different in 40 sessions)`);
});

t.test('ID capture, face match, override and liveness in a live session; bad stills refused, nothing stored', async (t) => {
  const a = await startTestAppliance(t);
  const su = new pg.Pool({ connectionString: a.db.superUrl, max: 1 });
  t.teardown(() => su.end());
  const [admin, teller, teller2, auditor] = [await headers(a, 'admin1'), await headers(a, 'teller1'), await headers(a, 'teller2'), await headers(a, 'auditor1')];
  t.equal((await a.app.inject({ method: 'POST', url: '/api/admin/products', headers: admin, payload: IDV })).statusCode, 201);
  const created = await a.app.inject({ method: 'POST', url: '/api/cases', headers: teller, payload: newCaseBody({ product: 'TEST-IDV' }) });
  t.equal(created.statusCode, 201, created.body);
  const caseId = created.json().id as string;
  const { sessionId, token, cookies } = await admitCustomer(a, teller, caseId);
  const base = `/api/sessions/${sessionId}/identity`;
  const stillCount = async () => Number((await su.query('SELECT count(*) FROM identity_stills WHERE case_id = $1', [caseId])).rows[0].count);
  const ask = (purpose: string, who = teller) => a.app.inject({ method: 'POST', url: `${base}/captures`, headers: who, payload: { purpose } });
  const send = (requestId: string, images: Buffer[], type?: string) => {
    const body = frames(images, type);
    return a.app.inject({ method: 'POST', url: `${base}/captures/${requestId}?invitation=${token}`, cookies, headers: body.headers, payload: body.payload });
  };
  const detail = async () => (await a.app.inject({ method: 'GET', url: `/api/cases/${caseId}/identity`, headers: teller })).json();

  await t.test('refusals before anything is captured', async (t) => {
    const early = await ask('face');
    t.equal(early.statusCode, 409, 'no face match before an accepted ID front');
    t.equal((await ask('id-front', teller2)).statusCode, 404, 'another teller cannot ask in this session');
    t.equal((await ask('id-front', auditor)).statusCode, 403, 'auditors do not act');
    t.equal((await ask('selfie')).statusCode, 400, 'unknown purpose');
    const live = await a.app.inject({ method: 'POST', url: `${base}/liveness`, headers: teller });
    t.equal(live.statusCode, 409, 'no liveness before a face match');
  });

  const front = await ask('id-front');
  t.equal(front.statusCode, 201, front.body);
  t.match(front.json(), { type: 'capture-request', purpose: 'id-front', frames: 1 });
  const frontId = front.json().requestId as string;
  const pending = await a.app.inject({ method: 'GET', url: `${base}/pending?invitation=${token}`, cookies });
  t.equal(pending.json().request.requestId, frontId, "the customer's browser can ask what is pending");

  await t.test('bad stills: clear 4xx, nothing stored, the request stays open', async (t) => {
    const bad = await badImages();
    const cases: Array<[string, Buffer[], number, string, string?]> = [
      ['not an image', [Buffer.from('<html><script>alert(1)</script></html>')], 400, 'KYC_ERR_IMAGE_INVALID'],
      ['a JPEG header and nothing else', [Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16])], 400, 'KYC_ERR_IMAGE_INVALID'],
      ['no face on the card', [bad.noFace], 400, 'KYC_ERR_NO_FACE'],
      ['two faces', [bad.twoFaces], 400, 'KYC_ERR_MULTIPLE_FACES'],
      ['too many pixels', [bad.huge], 413, 'KYC_ERR_IMAGE_TOO_LARGE'],
      ['too many bytes', [Buffer.concat([LISA[0] as Buffer, Buffer.alloc(9 * 1024 * 1024)])], 413, 'KYC_ERR_IMAGE_TOO_LARGE'],
      ['more images than asked for', [LISA[0] as Buffer, LISA[1] as Buffer], 400, 'KYC_ERR_VALIDATION'],
    ];
    for (const [why, images, status, code] of cases) {
      const res = await send(frontId, images);
      t.equal(res.statusCode, status, `${why}: ${res.body}`);
      t.equal(res.json().error.code, code, why);
    }
    const noLink = frames([LISA[0] as Buffer]);
    t.equal(
      (await a.app.inject({ method: 'POST', url: `${base}/captures/${frontId}?invitation=${token}`, headers: noLink.headers, payload: noLink.payload })).statusCode,
      404,
      'the link without its browser',
    );
    t.equal(
      (await a.app.inject({ method: 'POST', url: `${base}/captures/${frontId}`, headers: { ...teller, ...noLink.headers }, payload: noLink.payload })).statusCode,
      403,
      "stills come from the customer's camera only",
    );
    t.equal(await stillCount(), 0, 'nothing stored');
    t.equal((await su.query('SELECT status FROM identity_capture_requests WHERE id = $1', [frontId])).rows[0].status, 'pending');
  });

  // The ID front: a still with one face (the card fixtures replace this photo once the set has them).
  const sentFront = await send(frontId, [LISA[0] as Buffer]);
  t.equal(sentFront.statusCode, 201, sentFront.body);
  t.match(sentFront.json(), { kind: 'id-front', stillIds: [/^[0-9a-f-]{36}$/], idNumberMatches: false });
  t.equal((await send(frontId, [LISA[0] as Buffer])).statusCode, 409, 'a request is answered once');
  let d = await detail();
  const firstFront = d.sides['id-front'].latest;
  t.match(firstFront, { decision: null, width: 480, height: 640, sha256: /^[0-9a-f]{64}$/ }, 'stored at the size sent (480×640 webcam still)');
  t.match(d.ocr, { stillId: firstFront.id, idNumberMatches: false }, 'the number flag is shown, the case is untouched');

  t.equal((await a.app.inject({ method: 'POST', url: `/api/identity/stills/${firstFront.id}/accept`, headers: teller2 })).statusCode, 404, 'not your case');
  const retake = await a.app.inject({ method: 'POST', url: `/api/identity/stills/${firstFront.id}/retake`, headers: teller });
  t.equal(retake.statusCode, 200);
  t.equal(retake.json().decision, 'retake');
  t.equal((await a.app.inject({ method: 'POST', url: `/api/identity/stills/${firstFront.id}/accept`, headers: teller })).statusCode, 409, 'decided once');

  const front2 = (await ask('id-front')).json().requestId as string;
  t.equal((await send(front2, [LISA[1] as Buffer])).statusCode, 201);
  d = await detail();
  const acceptFront = await a.app.inject({ method: 'POST', url: `/api/identity/stills/${d.sides['id-front'].latest.id}/accept`, headers: teller });
  t.equal(acceptFront.statusCode, 200);

  const back = (await ask('id-back')).json().requestId as string;
  const sentBack = await send(back, [LISA[2] as Buffer]);
  t.equal(sentBack.statusCode, 201, sentBack.body);
  d = await detail();
  t.equal((await a.app.inject({ method: 'POST', url: `/api/identity/stills/${d.sides['id-back'].latest.id}/accept`, headers: teller })).statusCode, 200);

  d = await detail();
  let kyc = (await a.app.inject({ method: 'GET', url: `/api/cases/${caseId}/kyc`, headers: teller })).json();
  t.equal(kyc.steps.find((s: { id: string }) => s.id === 'id-capture').status, 'done', 'both sides accepted: the id-capture step is done');
  t.match(kyc.idDocument, { front: { fileId: d.sides['id-front'].accepted.id, sha256: /^[0-9a-f]{64}$/ }, back: { fileId: d.sides['id-back'].accepted.id } });
  t.equal(kyc.steps.find((s: { id: string }) => s.id === 'face-match').status, 'pending');

  // Face match: live frames of the same person against the accepted front.
  const face = await ask('face');
  t.equal(face.statusCode, 201);
  t.equal(face.json().frames, 5);
  const matched = await send(face.json().requestId, [LISA[2] as Buffer, LISA[3] as Buffer, LISA[0] as Buffer]);
  t.equal(matched.statusCode, 201, matched.body);
  t.equal(matched.json().decision, 'match', `same person matches (score ${matched.json().score})`);
  kyc = (await a.app.inject({ method: 'GET', url: `/api/cases/${caseId}/kyc`, headers: teller })).json();
  t.match(kyc.faceMatch, { decision: 'match', engine: 'builtin-face-api', threshold: Number });
  t.equal(kyc.steps.find((s: { id: string }) => s.id === 'face-match').status, 'done');

  await t.test('who may see the stills', async (t) => {
    const stillId = (await detail()).faceCheck.probeStillId as string;
    const byAuditor = await a.app.inject({ method: 'GET', url: `/api/identity/stills/${stillId}`, headers: auditor });
    t.equal(byAuditor.statusCode, 200);
    t.equal(byAuditor.headers['content-type'], 'image/jpeg');
    t.ok(byAuditor.rawPayload.equals(LISA[0] as Buffer) || byAuditor.rawPayload.equals(LISA[2] as Buffer) || byAuditor.rawPayload.equals(LISA[3] as Buffer), 'the bytes sent');
    t.equal((await a.app.inject({ method: 'GET', url: `/api/identity/stills/${stillId}`, headers: admin })).statusCode, 403, 'no admin path to customer media');
    t.equal((await a.app.inject({ method: 'GET', url: `/api/identity/stills/${stillId}`, headers: teller2 })).statusCode, 404);
    t.equal((await a.app.inject({ method: 'GET', url: `/api/cases/${caseId}/identity`, headers: admin })).statusCode, 403);
    const stored = (await su.query('SELECT content_enc FROM identity_stills WHERE id = $1', [stillId])).rows[0].content_enc as Buffer;
    t.notOk(stored.includes((LISA[0] as Buffer).subarray(0, 64)), 'stored encrypted');
  });

  await t.test('liveness: a photo held still fails every challenge (R5)', async (t) => {
    const started = await a.app.inject({ method: 'POST', url: `${base}/liveness`, headers: teller });
    t.equal(started.statusCode, 201, started.body);
    const { challenges } = started.json() as { challenges: Array<{ kind: string }> };
    t.ok(challenges.length >= 2 && challenges.length <= 3);
    const p = (await a.app.inject({ method: 'GET', url: `${base}/pending?invitation=${token}`, cookies })).json().request;
    t.match(p, { purpose: 'liveness', challenge: { kind: challenges[0]?.kind, position: 0, of: challenges.length } });
    const res = await send(p.requestId, [LISA[0] as Buffer, LISA[0] as Buffer, LISA[0] as Buffer]);
    t.equal(res.statusCode, 201, res.body);
    t.match(res.json(), { kind: 'liveness', passed: false, finished: 'failed' });
    kyc = (await a.app.inject({ method: 'GET', url: `/api/cases/${caseId}/kyc`, headers: teller })).json();
    t.match(kyc.liveness, { passed: false, challenges: [{ kind: challenges[0]?.kind, passed: false }] });
  });

  await t.test('asking the customer for something else ends a liveness check under way (the teller is never stuck)', async (t) => {
    t.equal((await a.app.inject({ method: 'POST', url: `${base}/liveness`, headers: teller })).statusCode, 201);
    t.equal((await detail()).liveness.status, 'running');
    t.equal((await ask('face')).statusCode, 201);
    t.equal((await detail()).liveness.status, 'failed');
    t.equal((await a.app.inject({ method: 'GET', url: `${base}/pending?invitation=${token}`, cookies })).json().request.purpose, 'face', 'only the new request is pending');
  });

  const actions = (await a.auditEvents()).map((e) => e.action);
  for (const action of [
    'kyc.capture.requested',
    'kyc.capture.received',
    'kyc.ocr.checked',
    'kyc.id.retake',
    'kyc.id.accepted',
    'kyc.face.compared',
    'kyc.step.completed',
    'kyc.still.viewed',
    'kyc.liveness.started',
    'kyc.liveness.challenge',
    'kyc.liveness.finished',
  ]) {
    t.ok(actions.includes(action), `audited: ${action}`);
  }
  const frontHash = createHash('sha256')
    .update(LISA[0] as Buffer)
    .digest('hex');
  const received = (await a.auditEvents()).filter((e) => e.action === 'kyc.capture.received' && e.details?.['purpose'] === 'id-front');
  t.ok(
    received.some((e) => e.details?.['sha256'] === frontHash),
    "the still's hash is in its audit event",
  );
});

t.test("override: person A's card bearing person B's photo does not match A's face; the officer may override with a reason", async (t) => {
  const a = await startTestAppliance(t);
  const [admin, teller] = [await headers(a, 'admin1'), await headers(a, 'teller1')];
  await a.app.inject({ method: 'POST', url: '/api/admin/products', headers: admin, payload: IDV });
  const caseId = (await a.app.inject({ method: 'POST', url: '/api/cases', headers: teller, payload: newCaseBody({ product: 'TEST-IDV' }) })).json().id as string;
  const { sessionId, token, cookies } = await admitCustomer(a, teller, caseId);
  const base = `/api/sessions/${sessionId}/identity`;
  const capture = async (purpose: string, images: Buffer[]) => {
    const requestId = (await a.app.inject({ method: 'POST', url: `${base}/captures`, headers: teller, payload: { purpose } })).json().requestId as string;
    const body = frames(images);
    return a.app.inject({ method: 'POST', url: `${base}/captures/${requestId}?invitation=${token}`, cookies, headers: body.headers, payload: body.payload });
  };
  const accept = async (side: string) => {
    const d = (await a.app.inject({ method: 'GET', url: `/api/cases/${caseId}/identity`, headers: teller })).json();
    return a.app.inject({ method: 'POST', url: `/api/identity/stills/${d.sides[side].latest.id}/accept`, headers: teller });
  };
  t.equal((await capture('id-front', [fixture('id-cards/person-a-data-person-b-photo-front.jpg')])).statusCode, 201);
  t.equal((await accept('id-front')).statusCode, 200);
  t.equal((await capture('id-back', [fixture('id-cards/person-a-back.jpg')])).statusCode, 201);
  t.equal((await accept('id-back')).statusCode, 200);
  const res = await capture('face', [fixture('people/london-005/smiling.jpg'), fixture('people/london-005/neutral.jpg')]);
  t.equal(res.statusCode, 201, res.body);
  t.equal(res.json().decision, 'no_match', `another person does not match (score ${res.json().score})`);
  const kyc = async () => (await a.app.inject({ method: 'GET', url: `/api/cases/${caseId}/kyc`, headers: teller })).json();
  t.equal((await kyc()).steps.find((s: { id: string }) => s.id === 'face-match').status, 'pending', 'no_match leaves the step open');
  t.equal((await a.app.inject({ method: 'POST', url: `${base}/liveness`, headers: teller })).statusCode, 409, 'no liveness against a face that did not match');

  const checkId = res.json().faceCheckId as string;
  const noReason = await a.app.inject({ method: 'POST', url: `/api/face-checks/${checkId}/override`, headers: teller, payload: { decision: 'match', reason: '   ' } });
  t.equal(noReason.statusCode, 400, 'a reason is required');
  const same = await a.app.inject({ method: 'POST', url: `/api/face-checks/${checkId}/override`, headers: teller, payload: { decision: 'no_match', reason: 'agree with the engine' } });
  t.equal(same.statusCode, 409, 'an override changes the decision');
  const over = await a.app.inject({
    method: 'POST',
    url: `/api/face-checks/${checkId}/override`,
    headers: teller,
    payload: { decision: 'match', reason: 'ID photo is 15 years old; compared ear shape and scar' },
  });
  t.equal(over.statusCode, 200, over.body);
  t.match(over.json(), { decision: 'no_match', effectiveDecision: 'match' });
  const k = await kyc();
  t.equal(k.faceMatch.decision, 'no_match', "the engine's decision is kept");
  const step = k.steps.find((s: { id: string }) => s.id === 'face-match');
  t.equal(step.status, 'done', 'the override completes the step');
  t.match(step.attempts.at(-1).result, { override: true });
  const ev = (await a.auditEvents()).find((e) => e.action === 'kyc.face.override');
  t.match(ev, { reason: /15 years/, details: { engineDecision: 'no_match', decision: 'match' } });
});

/** Head turns made from a frontal photo: a perspective warp shifts the nose off the eyes' midpoint, a mirror the other way. */
async function turnedFrames(photo: string): Promise<{ left: Buffer; right: Buffer }> {
  const dir = await mkdtemp(join(tmpdir(), 'kyc-turn-'));
  try {
    const src = new URL(photo, FIXTURES).pathname;
    const warp = 'perspective=x0=0:y0=0:x1=W:y1=H*0.35:x2=0:y2=H:x3=W:y3=H*0.65:sense=destination';
    await run('/usr/bin/ffmpeg', ['-loglevel', 'error', '-y', '-i', src, '-vf', warp, join(dir, 'a.jpg')]);
    await run('/usr/bin/ffmpeg', ['-loglevel', 'error', '-y', '-i', src, '-vf', `${warp},hflip`, join(dir, 'b.jpg')]);
    return { left: await readFile(join(dir, 'a.jpg')), right: await readFile(join(dir, 'b.jpg')) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

t.test("person A's card: the number on it matches the case, A's live face matches, A turning left and right passes liveness", async (t) => {
  const a = await startTestAppliance(t, { env: { KYC_LIVENESS_CHALLENGES: 'turn-left,turn-right' } });
  const [admin, teller] = [await headers(a, 'admin1'), await headers(a, 'teller1')];
  await a.app.inject({ method: 'POST', url: '/api/admin/products', headers: admin, payload: IDV });
  const personA = JSON.parse(fixture('id-cards/person-a.json').toString('utf8')) as { idNumber: string };
  const caseId = (await a.app.inject({ method: 'POST', url: '/api/cases', headers: teller, payload: newCaseBody({ product: 'TEST-IDV', customerIdNumber: personA.idNumber }) })).json()
    .id as string;
  const { sessionId, token, cookies } = await admitCustomer(a, teller, caseId);
  const base = `/api/sessions/${sessionId}/identity`;
  const send = async (requestId: string, images: Buffer[]) => {
    const body = frames(images);
    return a.app.inject({ method: 'POST', url: `${base}/captures/${requestId}?invitation=${token}`, cookies, headers: body.headers, payload: body.payload });
  };
  const capture = async (purpose: string, images: Buffer[]) =>
    send((await a.app.inject({ method: 'POST', url: `${base}/captures`, headers: teller, payload: { purpose } })).json().requestId, images);
  const identity = async () => (await a.app.inject({ method: 'GET', url: `/api/cases/${caseId}/identity`, headers: teller })).json();
  const front = await capture('id-front', [fixture('id-cards/person-a-front.jpg')]);
  t.equal(front.statusCode, 201, front.body);
  t.equal(front.json().idNumberMatches, true, "the 18-digit number read from the card is valid and the same as the case's");
  for (const side of ['id-front', 'id-back']) {
    if (side === 'id-back') t.equal((await capture('id-back', [fixture('id-cards/person-a-back.jpg')])).statusCode, 201);
    const still = (await identity()).sides[side].latest;
    t.equal((await a.app.inject({ method: 'POST', url: `/api/identity/stills/${still.id}/accept`, headers: teller })).statusCode, 200);
  }
  const smiling = fixture('people/london-005/smiling.jpg');
  const face = await capture('face', [smiling]);
  t.equal(face.json().decision, 'match', `A's live face matches A's card (score ${face.json().score})`);

  const started = await a.app.inject({ method: 'POST', url: `${base}/liveness`, headers: teller });
  t.equal(started.statusCode, 201, started.body);
  t.same(
    started
      .json()
      .challenges.map((c: { kind: string }) => c.kind)
      .sort(),
    ['turn-left', 'turn-right'],
    'drawn from the configured kinds',
  );
  const turns = await turnedFrames('people/london-005/smiling.jpg');
  for (let i = 0; i < 2; i++) {
    const p = (await a.app.inject({ method: 'GET', url: `${base}/pending?invitation=${token}`, cookies })).json().request;
    t.equal(p.challenge.position, i, 'the next challenge is asked only after the previous one passed');
    const res = await send(p.requestId, [smiling, turns.left, smiling, turns.right]);
    t.equal(res.statusCode, 201, res.body);
    t.match(res.json(), { passed: true, finished: i === 1 ? 'passed' : null }, `${p.challenge.kind} passed`);
  }
  const kyc = (await a.app.inject({ method: 'GET', url: `/api/cases/${caseId}/kyc`, headers: teller })).json();
  t.match(kyc, { ocr: { idNumberMatches: true }, faceMatch: { decision: 'match' }, liveness: { passed: true, challenges: [{ passed: true }, { passed: true }] } });
  for (const id of ['id-capture', 'face-match', 'liveness']) t.equal(kyc.steps.find((s: { id: string }) => s.id === id).status, 'done', `${id} done`);
  const markers = kyc.steps.find((s: { id: string }) => s.id === 'liveness').attempts;
  t.equal(markers.length, 2, 'each challenge is a marker of the liveness step');
});
