import t from 'tap';
import { redactUrl } from '../../src/http/logging.js';

t.test('URLs in logs carry no tokens', async (t) => {
  t.equal(redactUrl('/join/abcDEF123?x=1'), '/join/[redacted]');
  t.equal(redactUrl('/api/join/abcDEF123/code'), '/api/join/[redacted]/code');
  t.equal(redactUrl('/auth/callback?code=secret&state=s'), '/auth/callback');
  t.equal(redactUrl('/api/cases'), '/api/cases');
});
