// Files sent in a session are bounded (count and bytes per session): past the bound an upload is refused with a
// stable code, nothing is stored, and the refusal is audited.
import t from 'tap';
import { multipartFile, PNG } from '../helpers/appliance.js';
import { applianceWithoutMedia, liveSessionOf, waitingCustomer } from '../helpers/signaling-client.js';
import { MAX_SESSION_FILES } from '../../src/domain/file-types.js';

t.test('a session holds at most MAX_SESSION_FILES files; the next upload is refused and changes nothing', async (t) => {
  const { a, su } = await applianceWithoutMedia(t);
  const teller = { authorization: `Bearer ${await a.tokenFor('teller1')}` };
  const c = await waitingCustomer(a, teller);
  const sessionId = await liveSessionOf(su, c.caseId);
  const upload = (i: number) => {
    const f = multipartFile(`photo-${i}.png`, PNG);
    return a.app.inject({ method: 'POST', url: `/api/sessions/${sessionId}/files?invitation=${c.token}`, cookies: c.cookies, headers: f.headers, payload: f.payload });
  };
  // concurrently, in batches: the count is taken with the session locked, so none slips past the bound
  const codes: number[] = [];
  for (let i = 0; i < MAX_SESSION_FILES + 6; i += 8) {
    codes.push(...(await Promise.all(Array.from({ length: 8 }, (_, j) => upload(i + j)))).map((r) => r.statusCode));
  }
  t.equal(codes.filter((c) => c === 201).length, MAX_SESSION_FILES, `${MAX_SESSION_FILES} accepted`);
  t.ok(codes.slice(MAX_SESSION_FILES).length > 0 && codes.filter((c) => c !== 201).every((c) => c === 409), 'the rest refused with 409');
  const refused = await upload(999);
  t.equal(refused.statusCode, 409);
  t.equal(refused.json().error.code, 'KYC_ERR_SESSION_FILES_LIMIT');
  t.match(refused.json().error.message, new RegExp(`at most ${MAX_SESSION_FILES} files`));
  t.equal((await su.query('SELECT count(*)::int AS n FROM case_files WHERE session_id = $1', [sessionId])).rows[0].n, MAX_SESSION_FILES, 'nothing stored past the bound');
  const events = await a.auditEvents();
  t.equal(events.filter((e) => e.action === 'file.upload' && e.result === 'success').length, MAX_SESSION_FILES, 'an audit event for each stored file, none for the refused');
});
