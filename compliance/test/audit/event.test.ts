import t from 'tap';
import { AUDIT_TEXT_MAX_CHARS, AUDIT_TEXT_PATTERN, encodeEvent, normalizeEvent, canonicalJson } from '../../src/audit/event.js';

const base = {
  actor: { username: 'u-42', roles: ['teller'], auth: 'session' as const },
  action: 'case.create',
  object: { type: 'case', id: 'c-1' },
  result: 'success' as const,
};

t.test('canonical JSON is RFC 8785: sorted keys, no spaces, fixed number forms', async (t) => {
  t.equal(canonicalJson({ b: 1, a: [true, null, 'x'], c: { z: 1e21, y: 0.1 } }), '{"a":[true,null,"x"],"b":1,"c":{"y":0.1,"z":1e+21}}');
  const { json, event } = encodeEvent({ ...base, time: '2026-11-22T10:00:00.000Z', requestId: 'r-1' });
  t.equal(
    json,
    '{"action":"case.create","actor":{"auth":"session","roles":["teller"],"username":"u-42"},"object":{"id":"c-1","type":"case"},"requestId":"r-1","result":"success","time":"2026-11-22T10:00:00.000Z","v":1}',
  );
  t.equal(event.v, 1);
});

t.test('fills time from the clock and accepts Dates', async (t) => {
  const fixed = new Date('2026-01-02T03:04:05.678Z');
  t.equal(normalizeEvent(base, () => fixed).time, '2026-01-02T03:04:05.678Z');
  t.equal(normalizeEvent({ ...base, time: fixed }).time, '2026-01-02T03:04:05.678Z');
});

t.test('rejects malformed events with KYC_ERR_AUDIT_EVENT_INVALID', async (t) => {
  const bad: unknown[] = [
    { ...base, action: 'Case.Create' },
    { ...base, action: 'login' },
    { ...base, result: 'ok' },
    { ...base, actor: { ...base.actor, auth: 'magic' } },
    { ...base, actor: { ...base.actor, email: 'a@b' } },
    { ...base, object: { type: 'case' } },
    { ...base, time: '2026-11-22 10:00:00' },
    { ...base, time: '2026-02-30T00:00:00.000Z' },
    { ...base, details: { nested: { a: 1 } } },
    { ...base, details: { n: Number.NaN } },
    { ...base, reason: 'bell\u0007' },
    { ...base, reason: 'line\r\nbreak' },
    { ...base, reason: 'c1\u0085' },
    { ...base, reason: '😀'.repeat(1025) },
    { ...base, reason: '\ud800' },
    { ...base, extra: 1 },
    { ...base, reason: 'x'.repeat(2000) },
  ];
  for (const input of bad) {
    t.throws(() => encodeEvent(input as never), { code: 'KYC_ERR_AUDIT_EVENT_INVALID' }, JSON.stringify(input).slice(0, 80));
  }
});

t.test('free text (reason, string details): newlines and tabs allowed, length counted in code points, same rule as the exported JSON-Schema pattern', async (t) => {
  const { event } = encodeEvent({ ...base, reason: 'line 1\nline 2\tend', details: { notes: 'a\nb' } });
  t.equal(event.reason, 'line 1\nline 2\tend');
  t.equal(encodeEvent({ ...base, reason: '😀'.repeat(AUDIT_TEXT_MAX_CHARS) }).event.reason?.length, 2 * AUDIT_TEXT_MAX_CHARS, 'the maximum in code points fits');
  const rule = new RegExp(AUDIT_TEXT_PATTERN, 'u');
  for (const s of ['ok', 'a\nb', '风险', 'x\u0001', 'x\r', '\ud800', 'x\u007f']) {
    let accepted = true;
    try {
      encodeEvent({ ...base, reason: s });
    } catch {
      accepted = false;
    }
    t.equal(accepted, rule.test(s), `${JSON.stringify(s)}: the event and the schema pattern agree`);
  }
});
