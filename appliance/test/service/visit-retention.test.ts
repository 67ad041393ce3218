import t from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { startTestAppliance } from '../helpers/appliance.js';
import { destroyExpiredVisitKeys } from '../../src/services/case-keys.js';
import { PiiCipher } from '../../src/lib/pii-cipher.js';
import { asVisitor, seedKb, startVisit } from './helpers.js';

// A service visit's personal data (name, phone, conversation) is encrypted under the visit's own key; the retention
// period after the visit ended destroys it (audited). A visit still going on, or ended recently, is untouched.

const DAY = 86_400_000;

t.test("a finished visit's personal data is crypto-shredded after KYC_SERVICE_VISIT_RETENTION_DAYS", async (t) => {
  const a = await startTestAppliance(t, { env: { KYC_SERVICE_VISITS_PER_MINUTE: '1000', KYC_SERVICE_VISIT_RETENTION_DAYS: '30' } });
  const su = new pg.Pool({ connectionString: a.db.superUrl, max: 1 });
  t.teardown(() => su.end());
  await seedKb(a);
  const gone = await startVisit(a, { phone: '13800000000' });
  t.equal((await a.app.inject(asVisitor(gone, 'POST', '/messages', { text: '我的信用卡丢了怎么办' }))).statusCode, 200);
  t.equal((await a.app.inject(asVisitor(gone, 'POST', '/leave'))).statusCode < 300, true, 'the customer leaves');
  const waiting = await startVisit(a);
  const row = async (id: string) =>
    (await su.query<{ name_enc: Buffer; phone_enc: Buffer | null; state: string }>('SELECT name_enc, phone_enc, state FROM service_visits WHERE id = $1', [id])).rows[0]!;
  const messages = async (id: string) => (await su.query<{ id: string; text_enc: Buffer }>('SELECT id::text, text_enc FROM service_messages WHERE visit_id = $1', [id])).rows;
  const pii = a.runtime.ctx.pii;
  const keyFile = (id: string) => join(a.config.pii.caseKeyDir, `${id}.key`);
  const goneRow = await row(gone.id);
  t.equal(PiiCipher.caseOf(goneRow.name_enc), gone.id, "the name is under the visit's own key");
  t.equal(pii.decrypt(gone.id, 'visitor_name', goneRow.name_enc).length > 0, true, 'and reads while kept');
  t.ok((await messages(gone.id)).length >= 2, 'the conversation is stored');

  t.equal(await destroyExpiredVisitKeys(a.runtime.ctx, 30), 0, 'nothing before the retention period ends');
  t.ok(existsSync(keyFile(gone.id)));
  t.equal(await destroyExpiredVisitKeys(a.runtime.ctx, 30, new Date(Date.now() + 31 * DAY)), 1, 'the finished visit, 31 days on');
  t.notOk(existsSync(keyFile(gone.id)), 'its key is gone');
  t.ok(existsSync(keyFile(waiting.id)), 'a visit still going on keeps its key');
  t.throws(() => pii.decrypt(gone.id, 'visitor_name', goneRow.name_enc), { code: 'KYC_ERR_SHREDDED' }, 'the name no longer decrypts');
  t.throws(() => pii.decrypt(gone.id, 'visitor_phone', goneRow.phone_enc!), { code: 'KYC_ERR_SHREDDED' }, 'nor the phone');
  for (const m of await messages(gone.id)) t.throws(() => pii.decrypt(gone.id, `visit_message:${m.id}`, m.text_enc), { code: 'KYC_ERR_SHREDDED' }, 'nor the conversation');
  t.equal(pii.decrypt(waiting.id, 'visitor_name', (await row(waiting.id)).name_enc).length > 0, true, 'the waiting visit still reads');
  const events = (await a.auditEvents()).filter((e) => e.action === 'service.visit_key_destroyed');
  t.match(events, [{ object: { type: 'service_visit', id: gone.id }, details: { keyFile: true, retentionDays: 30 } }], 'audited once');
  t.equal(await destroyExpiredVisitKeys(a.runtime.ctx, 30, new Date(Date.now() + 31 * DAY)), 0, 'and only once');
  const report = await a.app.inject({ method: 'GET', url: '/api/admin/service/report', headers: { authorization: `Bearer ${await a.tokenFor('admin1')}` } });
  t.equal(report.statusCode, 200, "the report's figures stay");
});
