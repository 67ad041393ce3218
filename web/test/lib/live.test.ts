import t from 'tap';
import { ApiError } from '../../src/lib/api.js';
import {
  attemptsLeftOf,
  checkUpload,
  displayName,
  FILE_RULES,
  formatBytes,
  isJoinToken,
  normaliseCode,
  progressOf,
  refusalOfError,
  refusalOfStep,
  signalingUrl,
} from '../../src/lib/live.js';

t.test('join tokens are 43 base64url characters', async (t) => {
  t.ok(isJoinToken('Gn3elV-8VRnH8_T3l5Zs1mduWiozuQSsbD_9MZRUz4c'));
  t.notOk(isJoinToken('Gn3elV-8VRnH8_T3l5Zs1mduWiozuQSsbD_9MZRUz4'), '42 characters');
  t.notOk(isJoinToken('Gn3elV+8VRnH8/T3l5Zs1mduWiozuQSsbD_9MZRUz4c'), 'plain base64');
  t.notOk(isJoinToken('not-a-token'));
});

t.test('API errors map to the refusal pages', async (t) => {
  const err = (status: number, code: string, details: { field: string; code: string }[] = []) => new ApiError(status, code, 'm', details);
  t.equal(refusalOfError(err(404, 'KYC_ERR_NOT_FOUND')), 'invalid');
  t.equal(refusalOfError(err(409, 'KYC_ERR_INVITATION_IN_USE')), 'in_use');
  t.equal(refusalOfError(err(410, 'KYC_ERR_INVITATION_EXPIRED')), 'expired');
  t.equal(refusalOfError(err(410, 'KYC_ERR_INVITATION_REVOKED')), 'revoked');
  t.equal(refusalOfError(err(410, 'KYC_ERR_INVITATION_LOCKED')), 'locked');
  t.equal(refusalOfError(err(410, 'KYC_ERR_INVITATION_CLOSED')), 'closed');
  t.equal(refusalOfError(err(400, 'KYC_ERR_VALIDATION', [{ field: 'token', code: 'pattern' }])), 'invalid');
  t.equal(refusalOfError(err(0, 'KYC_ERR_NETWORK')), 'network');
  t.equal(refusalOfError(err(503, 'KYC_ERR_UNAVAILABLE')), 'server');
  t.equal(refusalOfError(new Error('boom')), 'server');
  t.equal(refusalOfError(err(400, 'KYC_ERR_CODE_INVALID')), null, 'a wrong code belongs to the form');
  t.equal(refusalOfError(err(409, 'KYC_ERR_WRONG_STEP')), null);
  t.equal(refusalOfError(err(400, 'KYC_ERR_VALIDATION', [{ field: 'code', code: 'pattern' }])), null);
});

t.test('final steps have their page, the others none', async (t) => {
  for (const step of ['expired', 'revoked', 'locked', 'declined', 'ended'] as const) t.equal(refusalOfStep(step), step);
  for (const step of ['code', 'device', 'consent', 'waiting', 'in_call'] as const) t.equal(refusalOfStep(step), null);
});

t.test('attempts left come from the error detail', async (t) => {
  t.equal(attemptsLeftOf([{ field: 'code', code: 'attempts_left:4' }]), 4);
  t.equal(attemptsLeftOf([{ field: 'code', code: 'attempts_left:0' }]), 0);
  t.equal(attemptsLeftOf([{ field: 'other', code: 'attempts_left:4' }]), null);
  t.equal(attemptsLeftOf([{ field: 'code', code: 'pattern' }]), null);
  t.equal(attemptsLeftOf([]), null);
});

t.test('codes are reduced to their digits, full-width ones included', async (t) => {
  t.equal(normaliseCode(' 123 456 '), '123456');
  t.equal(normaliseCode('１２３４５６'), '123456');
  t.equal(normaliseCode('12-34-56-78'), '123456', 'at most six digits');
  t.equal(normaliseCode('abc'), '');
});

t.test('the signaling URL follows the page origin', async (t) => {
  t.equal(signalingUrl('https://kyc.bank.local', { session: 'abc' }), 'wss://kyc.bank.local/api/signaling?session=abc');
  t.equal(signalingUrl('https://127.0.0.1:8443', { invitation: 'a_b-c' }), 'wss://127.0.0.1:8443/api/signaling?invitation=a_b-c');
  t.equal(signalingUrl('http://localhost:5173', { session: 'x y' }), 'ws://localhost:5173/api/signaling?session=x+y');
});

t.test('uploads: images and PDF up to 10 MB', async (t) => {
  t.equal(checkUpload({ name: 'a.png', type: 'image/png', size: 10 }), null);
  t.equal(checkUpload({ name: 'a.JPG', type: '', size: 10 }), null, 'no browser type: by the name');
  t.equal(checkUpload({ name: 'scan.pdf', type: 'application/pdf', size: FILE_RULES.maxBytes }), null, 'exactly the limit');
  t.equal(checkUpload({ name: 'scan.pdf', type: 'application/pdf', size: FILE_RULES.maxBytes + 1 }), 'size');
  t.equal(checkUpload({ name: 'a.gif', type: 'image/gif', size: 10 }), 'type');
  t.equal(checkUpload({ name: 'a.svg', type: 'image/svg+xml', size: 10 }), 'type', 'no SVG (scripts)');
  t.equal(checkUpload({ name: 'a.exe', type: '', size: 10 }), 'type');
  t.equal(checkUpload({ name: 'a.png', type: 'image/png', size: 0 }), 'empty');
});

t.test('file names are shown without control or direction characters', async (t) => {
  t.equal(displayName('contract\u202Efdp.exe.pdf'), 'contractfdp.exe.pdf');
  t.equal(displayName('a\u0000b\nc.png'), 'abc.png');
  t.equal(displayName('\u202E'), '—');
  t.equal(displayName('长'.repeat(100), 10), `${'长'.repeat(9)}…`);
  t.equal(displayName('😀'.repeat(5), 3), '😀😀…', 'never cuts a character in half');
});

t.test('byte sizes for people', async (t) => {
  t.equal(formatBytes(512), '512 B');
  t.equal(formatBytes(1536), '1.5 KB');
  t.equal(formatBytes(10 * 1024 * 1024), '10 MB');
  t.equal(formatBytes(2.25 * 1024 * 1024), '2.3 MB');
});

t.test("the teller's progress list", async (t) => {
  const base = { opened: false, deviceChecked: false, consent: null, sessionId: null } as const;
  t.same(progressOf({ ...base, step: 'code' }), { opened: false, code: false, device: false, consent: false, waiting: false });
  t.same(progressOf({ ...base, step: 'device', opened: true }), { opened: true, code: true, device: false, consent: false, waiting: false });
  t.same(progressOf({ ...base, step: 'waiting', opened: true, deviceChecked: true, consent: 'accepted' }), {
    opened: true,
    code: true,
    device: true,
    consent: true,
    waiting: true,
  });
  t.same(progressOf({ ...base, step: 'declined', opened: true, deviceChecked: true, consent: 'declined' }), {
    opened: true,
    code: true,
    device: true,
    consent: false,
    waiting: false,
  });
  t.equal(progressOf({ ...base, step: 'ended', opened: true, deviceChecked: true, consent: 'accepted', sessionId: 's' }).waiting, true, 'admitted once');
});
