import t from 'tap';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CaseKeyStore, PiiCipher } from '../../src/lib/pii-cipher.js';
import { callSessionRepository } from '../../src/repositories/call-session.repository.js';
import { chatTextField, storedChat } from '../../src/services/live-media.js';
import { auditedTestDatabase, insertSession } from '../helpers/recording-fixtures.js';

/** A cipher with its own keys (the case key folder is not used: chat here is under the appliance-wide key). */
function newCipher(): PiiCipher {
  const key = randomBytes(32);
  return new PiiCipher(key, randomBytes(32), new CaseKeyStore(mkdtempSync(join(tmpdir(), 'kyc-case-keys-')), key));
}

t.test("a session's stored chat comes back decrypted, in order, without the other events", async (t) => {
  const { pool } = await auditedTestDatabase(t, 2);
  const pii = newCipher();
  const { sessionId } = await insertSession(pool, { admittedAt: new Date(), endedAt: null });
  const other = await insertSession(pool, { admittedAt: new Date(), endedAt: null });
  const chat = async (id: string, party: 'teller' | 'customer', seq: number, text: string) => {
    const eventId = await callSessionRepository.nextEventId(pool);
    return callSessionRepository.addEvent(pool, { id: eventId, sessionId: id, party, kind: 'chat', data: { seq }, textEnc: pii.encrypt(id, chatTextField(eventId), text) });
  };
  await callSessionRepository.addEvent(pool, { sessionId, party: 'teller', kind: 'join', data: {} });
  await chat(sessionId, 'teller', 1, '请出示身份证');
  await chat(other.sessionId, 'teller', 1, 'another session');
  await callSessionRepository.addEvent(pool, { sessionId, party: 'customer', kind: 'media-state', data: { audio: true, video: false, screen: false } });
  await chat(sessionId, 'customer', 3, 'OK');

  const got = await storedChat(pool, pii, sessionId);
  t.same(
    got.messages.map((c) => [c.seq, c.from, c.text]),
    [
      [1, 'teller', '请出示身份证'],
      [3, 'customer', 'OK'],
    ],
  );
  t.equal(got.lastSeq, 3);
  t.ok(
    got.messages.every((c) => !Number.isNaN(Date.parse(c.at))),
    'with the time each was stored',
  );
  t.same(await storedChat(pool, pii, (await insertSession(pool, { admittedAt: new Date(), endedAt: null })).sessionId), { messages: [], lastSeq: 0 }, 'a session without chat');
  const warnings: object[] = [];
  const unreadable = await storedChat(pool, newCipher(), sessionId, { warn: (o) => warnings.push(o) });
  t.same(unreadable, { messages: [], lastSeq: 3 }, 'messages another key cannot read are left out but still count for the numbering');
  t.same(
    warnings,
    [
      { session: sessionId, seq: 1 },
      { session: sessionId, seq: 3 },
    ],
    'logged without their content',
  );
});

t.test('each chat message is bound to its own row: texts swapped between rows of one session no longer read', async (t) => {
  const { pool, db } = await auditedTestDatabase(t, 2);
  const pii = newCipher();
  const { sessionId } = await insertSession(pool, { admittedAt: new Date(), endedAt: null });
  const ids: string[] = [];
  for (const [seq, party, text] of [
    [1, 'teller', '请确认您已阅读风险提示'],
    [2, 'customer', '我不同意'],
  ] as const) {
    const id = await callSessionRepository.nextEventId(pool);
    ids.push(await callSessionRepository.addEvent(pool, { id, sessionId, party, kind: 'chat', data: { seq }, textEnc: pii.encrypt(sessionId, chatTextField(id), text) }));
  }
  t.same(
    (await storedChat(pool, pii, sessionId)).messages.map((c) => c.text),
    ['请确认您已阅读风险提示', '我不同意'],
  );
  const su = new pg.Client({ connectionString: db.superUrl });
  await su.connect();
  t.teardown(() => su.end());
  await su.query(
    `UPDATE session_events a SET text_enc = b.text_enc FROM session_events b
      WHERE (a.id, b.id) IN (($1::bigint, $2::bigint), ($2::bigint, $1::bigint))`,
    [ids[0], ids[1]],
  );
  const warnings: object[] = [];
  const got = await storedChat(pool, pii, sessionId, { warn: (o) => warnings.push(o) });
  t.same(got.messages, [], 'neither swapped text is served as the other message');
  t.equal(warnings.length, 2, 'both are reported');
});
