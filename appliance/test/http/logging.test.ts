import t from 'tap';
import { redactUrl } from '../../src/http/logging.js';
import { safeReturnTo } from '../../src/routes/auth.js';

t.test('URLs in logs carry no tokens', async (t) => {
  t.equal(redactUrl('/join/abcDEF123?x=1'), '/join/[redacted]');
  t.equal(redactUrl('/api/join/abcDEF123/code'), '/api/join/[redacted]/code');
  t.equal(redactUrl('/auth/callback?code=secret&state=s'), '/auth/callback');
  t.equal(redactUrl('/api/cases'), '/api/cases');
});

t.test('sign-in return paths stay on this origin', async (t) => {
  t.equal(safeReturnTo('/cases/1'), '/cases/1');
  t.equal(safeReturnTo('//evil.example/x'), '/');
  t.equal(safeReturnTo('/\\evil.example'), '/');
  t.equal(safeReturnTo('https://evil.example'), '/');
  t.equal(safeReturnTo(undefined), '/');
});
