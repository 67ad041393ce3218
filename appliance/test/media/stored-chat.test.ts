import t from 'tap';
import { randomBytes } from 'node:crypto';
import { PiiCipher } from '../../src/lib/pii-cipher.js';
import { callSessionRepository } from '../../src/repositories/call-session.repository.js';
import { storedChat } from '../../src/services/live-media.js';
import { auditedTestDatabase, insertSession } from '../helpers/recording-fixtures.js';

t.test("a session's stored chat comes back decrypted, in order, without the other events", async (t) => {
  const { pool } = await auditedTestDatabase(t, 2);
  const pii = new PiiCipher(randomBytes(32), randomBytes(32));
  const { sessionId } = await insertSession(pool, { admittedAt: new Date(), endedAt: null });
  const other = await insertSession(pool, { admittedAt: new Date(), endedAt: null });
  const chat = (id: string, party: 'teller' | 'customer', seq: number, text: string) =>
    callSessionRepository.addEvent(pool, { sessionId: id, party, kind: 'chat', data: { seq }, textEnc: pii.encrypt(id, 'chat', text) });
  await callSessionRepository.addEvent(pool, { sessionId, party: 'teller', kind: 'join', data: {} });
  await chat(sessionId, 'teller', 1, '请出示身份证');
  await chat(other.sessionId, 'teller', 1, 'another session');
  await callSessionRepository.addEvent(pool, { sessionId, party: 'customer', kind: 'media-state', data: { audio: true, video: false, screen: false } });
  await chat(sessionId, 'customer', 3, 'OK');

  const got = await storedChat(pool, pii, sessionId);
  t.same(got.messages.map((c) => [c.seq, c.from, c.text]), [[1, 'teller', '请出示身份证'], [3, 'customer', 'OK']]);
  t.equal(got.lastSeq, 3);
  t.ok(got.messages.every((c) => !Number.isNaN(Date.parse(c.at))), 'with the time each was stored');
  t.same(await storedChat(pool, pii, (await insertSession(pool, { admittedAt: new Date(), endedAt: null })).sessionId), { messages: [], lastSeq: 0 }, 'a session without chat');
  const warnings: object[] = [];
  const unreadable = await storedChat(pool, new PiiCipher(randomBytes(32), randomBytes(32)), sessionId, { warn: (o) => warnings.push(o) });
  t.same(unreadable, { messages: [], lastSeq: 3 }, 'messages another key cannot read are left out but still count for the numbering');
  t.same(warnings, [{ session: sessionId, seq: 1 }, { session: sessionId, seq: 3 }], 'logged without their content');
});
