// The KYC evidence of a sealed recording: identity stills listed (with SHA-256) in the sealed manifest, and the
// customer's location and the call's wall-clock time burned into the signed export (R17), checked by decoding a
// frame of the real export with ffmpeg and reading it with tesseract.
import t from 'tap';
import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { startTestAppliance, type TestAppliance } from '../helpers/appliance.js';
import { exportFinished } from '../helpers/archive-cli.js';
import { fixtureCallTimes, insertSession, sealFixtureRecording } from '../helpers/recording-fixtures.js';
import { geolocationEvent, storeGeolocation } from '../../src/kyc/geolocation.js';
import { identityRepository } from '../../src/kyc/identity-repository.js';
import { callSessionRepository } from '../../src/repositories/call-session.repository.js';
import { exportLocationText } from '../../src/recording/media-commands.js';

const run = promisify(execFile);
const face = (path: string) => readFileSync(new URL(`../fixtures/faces/${path}`, import.meta.url));

/** Stores a still of the session the way the identity service does (content encrypted with the PII key). */
async function addStill(a: TestAppliance, pool: pg.Pool, s: { caseId: string; sessionId: string; kind: 'id-front' | 'face'; image: Buffer }) {
  const requestId = randomUUID();
  await identityRepository.insertRequest(pool, { id: requestId, caseId: s.caseId, sessionId: s.sessionId, purpose: s.kind, frames: 1, requestedBy: 'teller1' });
  const id = randomUUID();
  const sha256 = createHash('sha256').update(s.image).digest();
  await identityRepository.insertStill(pool, {
    id,
    case_id: s.caseId,
    session_id: s.sessionId,
    request_id: requestId,
    kind: s.kind,
    frame_index: 0,
    media_type: 'image/jpeg',
    width: 640,
    height: 480,
    size: s.image.length,
    sha256,
    contentEnc: a.runtime.ctx.pii.encrypt(id, 'identity_still', s.image),
  });
  return { id, sha256: sha256.toString('hex') };
}

/** Text that tesseract reads from a region of one decoded frame of the export (scaled up for the OCR). */
async function ocrRegion(mp4: string, dir: string, name: string, crop: string): Promise<string> {
  const png = join(dir, `${name}.png`);
  await run('/usr/bin/ffmpeg', ['-loglevel', 'error', '-y', '-ss', '2', '-i', mp4, '-frames:v', '1', '-vf', `crop=${crop},scale=iw*3:ih*3,format=gray,negate`, png]);
  return (await run('/usr/bin/tesseract', [png, '-', '--psm', '7', '-l', 'eng'])).stdout.trim();
}

t.test('location text: coordinates with consent, the refusal or its absence, never guessed', async (t) => {
  t.equal(exportLocationText(null), 'Location: not given');
  t.equal(exportLocationText({ consent: 'refused' }), 'Location: refused by the customer');
  t.equal(exportLocationText({ consent: 'unavailable' }), 'Location: unavailable');
  t.equal(
    exportLocationText({ consent: 'granted', latitude: 39.9087, longitude: -116.3975, accuracyM: 25.4, receivedAt: '2026-12-03T08:08:06.214Z' }),
    'Location: 39.90870 N, 116.39750 W +/-25 m (consented, received 2026-12-03 08:08:06 UTC)',
  );
  t.equal(exportLocationText({ consent: 'granted', latitude: null, longitude: null }), 'Location: unavailable', 'consent without coordinates shows none');
});

t.test('identity stills sealed by hash in the manifest; location and time burned into the signed export', async (t) => {
  const a = await startTestAppliance(t, { env: { KYC_WORKER_IN_PROCESS: 'false' } });
  const pool = new pg.Pool({ connectionString: a.db.appUrl, max: 4 });
  t.teardown(() => pool.end());
  const times = await fixtureCallTimes();
  const { caseId, sessionId } = await insertSession(pool, times);
  const invitationId = (await pool.query<{ invitation_id: string }>('SELECT invitation_id FROM call_sessions WHERE id = $1', [sessionId])).rows[0]!.invitation_id;

  // the customer's location, stored and marked as the geolocation route does
  const g = { consent: 'granted' as const, latitude: 39.9087, longitude: 116.3975, accuracy: 25 };
  const stored = await storeGeolocation(pool, a.runtime.ctx.pii, caseId, invitationId, g);
  const ev = geolocationEvent(a.runtime.ctx.pii, caseId, sessionId, g, stored);
  await callSessionRepository.addEvent(pool, { sessionId, party: 'customer', kind: 'geolocation', data: { ...ev.data }, textEnc: ev.textEnc });
  // stills of the session: the ID front and a live face frame, compared by a face check
  const front = await addStill(a, pool, { caseId, sessionId, kind: 'id-front', image: face('people/lisa/webcam-1.jpg') });
  const probe = await addStill(a, pool, { caseId, sessionId, kind: 'face', image: face('people/lisa/webcam-2.jpg') });
  await identityRepository.insertFaceCheck(pool, {
    id: randomUUID(),
    case_id: caseId,
    session_id: sessionId,
    reference_id: front.id,
    probe_id: probe.id,
    probe_count: 1,
    score: 0.9,
    decision: 'match',
    engine: 'builtin',
    model_version: 'test',
    threshold_match: 0.6,
    threshold_review: 0.45,
    faces_reference: 1,
    faces_probe: 1,
  });

  const sealed = await sealFixtureRecording(a, pool, { caseId, sessionId });
  t.equal(sealed.status, 'sealed');
  const manifest = (await pool.query('SELECT manifest FROM recordings WHERE id = $1', [sealed.recordingId])).rows[0].manifest;
  t.match(
    manifest.identityStills,
    [
      { id: front.id, kind: 'id-front', sha256: front.sha256, usedFor: ['face-reference'], mediaType: 'image/jpeg', bytes: Number, offsetMs: Number },
      { id: probe.id, kind: 'face', sha256: probe.sha256, usedFor: ['face-probe'] },
    ],
    'the stills of the session, each with the SHA-256 of its image, sealed in the manifest',
  );
  const marker = manifest.markers.find((m: { kind: string }) => m.kind === 'geolocation');
  t.match(marker.data, { consent: 'granted', geolocationId: stored.id });
  t.notOk(JSON.stringify(manifest).includes('39.9087'), 'the manifest (also kept in the database) holds no coordinates');

  // the auditor's replay shows the location marker decrypted
  const auditor = { authorization: `Bearer ${await a.tokenFor('auditor1')}` };
  const replay = await a.app.inject({ method: 'POST', url: `/api/recordings/${sealed.recordingId}/replay`, headers: auditor });
  t.equal(replay.statusCode, 200, 'replay opened');
  t.match(replay.json().markers.find((m: { kind: string }) => m.kind === 'geolocation').data, { latitude: 39.9087, longitude: 116.3975 }, 'decrypted for the auditor');

  let res = await a.app.inject({ method: 'POST', url: `/api/recordings/${sealed.recordingId}/exports`, headers: auditor, payload: { reason: 'regulator request 7' } });
  t.equal(res.statusCode, 202, 'export requested');
  const id = res.json().id as string;
  const v = await exportFinished(a, id, auditor);
  t.equal(v.status, 'done', v.failureReason ?? 'done');
  res = await a.app.inject({ method: 'GET', url: `/api/exports/${id}/file`, headers: auditor });
  t.equal(res.statusCode, 200);
  const dir = await mkdtemp(join(tmpdir(), 'kyc-export-evidence-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const mp4 = join(dir, 'export.mp4');
  await writeFile(mp4, res.rawPayload);

  // the evidence file: every still of the manifest, its bytes and hash, signed like the video
  const evidence = await a.app.inject({ method: 'GET', url: `/api/exports/${id}/evidence`, headers: auditor });
  t.equal(evidence.statusCode, 200, 'evidence file downloaded');
  const sig = await a.app.inject({ method: 'GET', url: `/api/exports/${id}/evidence/signature`, headers: auditor });
  t.equal(sig.statusCode, 200);
  await writeFile(join(dir, 'evidence.json'), evidence.rawPayload);
  await writeFile(join(dir, 'evidence.json.p7s'), sig.rawPayload);
  const caFile = join(a.config.dataDir, 'pki', 'ca.crt');
  const verify = (content: string) =>
    run('openssl', [
      'cms',
      '-verify',
      '-purpose',
      'any',
      '-binary',
      '-inform',
      'DER',
      '-in',
      join(dir, 'evidence.json.p7s'),
      '-content',
      content,
      '-CAfile',
      caFile,
      '-out',
      '/dev/null',
    ]).then(
      () => 0,
      () => 1,
    );
  t.equal(await verify(join(dir, 'evidence.json')), 0, 'openssl cms -verify accepts the evidence signature');
  const doc = JSON.parse(evidence.rawPayload.toString('utf8')) as {
    format: string;
    manifestSha256: string;
    video: { sha256: string; bytes: number };
    stills: Array<{ id: string; sha256: string; content: string; usedFor: string[] }>;
  };
  const sealedSha = (await pool.query('SELECT manifest_sha256 FROM recordings WHERE id = $1', [sealed.recordingId])).rows[0].manifest_sha256.toString('hex');
  t.equal(doc.format, 'kyc-export-evidence/1');
  t.equal(doc.manifestSha256, sealedSha, "names the sealed manifest (whose hash the audit log's recording.sealed event holds)");
  t.equal(doc.video.sha256, createHash('sha256').update(res.rawPayload).digest('hex'), "and the video's hash");
  t.same(
    doc.stills.map((x) => x.id),
    manifest.identityStills.map((x: { id: string }) => x.id),
    'every still of the manifest',
  );
  for (const still of doc.stills) {
    const bytes = Buffer.from(still.content, 'base64');
    const listed = manifest.identityStills.find((x: { id: string }) => x.id === still.id);
    t.equal(createHash('sha256').update(bytes).digest('hex'), listed.sha256, `still ${still.usedFor.join(',')}: its bytes hash to the sealed manifest's SHA-256`);
  }
  t.ok(Buffer.from(doc.stills[0]!.content, 'base64').equals(face('people/lisa/webcam-1.jpg')), 'the ID still as captured');
  const forged = Buffer.from(evidence.rawPayload.toString('utf8').replace(doc.stills[1]!.sha256, doc.stills[0]!.sha256));
  await writeFile(join(dir, 'forged.json'), forged);
  t.equal(await verify(join(dir, 'forged.json')), 1, 'an altered evidence file fails the signature');
  t.equal(
    (await a.app.inject({ method: 'GET', url: `/api/exports/${id}/evidence`, headers: { authorization: `Bearer ${await a.tokenFor('admin1')}` } })).statusCode,
    403,
    'no admin path to the stills',
  );
  const at = await pool.query(`SELECT count(*)::int AS n FROM identity_stills`);
  t.equal(at.rows[0].n, 2, 'the export stored no copy of the stills in the database');
  const downloads = (await a.auditEvents()).filter((e) => e.action === 'recording.export_download').map((e) => (e.details as { part: string }).part);
  t.same(downloads.sort(), ['evidence', 'evidence-signature', 'file'], 'each download audited');

  // 2 s into the call: the clock shows the call's wall-clock time (the fixture's), the location line the coordinates
  const clock = await ocrRegion(mp4, dir, 'clock', '360:40:0:4');
  t.match(clock, new RegExp(times.admittedAt.toISOString().slice(0, 10)), `the call's date is burned in (read: ${clock})`);
  t.match(clock, /UTC/);
  const location = await ocrRegion(mp4, dir, 'location', '900:40:0:76');
  t.match(location, /39[.,]908/, `the latitude is burned in (read: ${location})`);
  t.match(location, /116[.,]397/, 'and the longitude');
  t.match(location, /consented/i);
});
