import t from 'tap';
import { safeReturnTo } from '../../src/http/return-to.js';

const APPLIANCE = 'https://appliance.example:8443';

/** Where a browser lands when the appliance answers `Location: <path>` (the WHATWG URL parser, as Chromium uses). */
const landing = (path: string): URL => new URL(path, `${APPLIANCE}/auth/callback?code=x`);

t.test('sign-in return paths: what a browser would follow stays on this origin', async (t) => {
  // Values as they arrive after query decoding (`/%09/evil.example` arrives as `/\t/evil.example`).
  const hostile = [
    '/\t/evil.example',
    '/\t\t/evil.example',
    '/\n/evil.example',
    '/\r/evil.example',
    '/\r\n/evil.example',
    '\t//evil.example',
    '//evil.example/x',
    '///evil.example',
    '/\\evil.example',
    '/\\/evil.example',
    '\\\\evil.example',
    '/\t\\evil.example',
    '/./\\evil.example',
    '/.//evil.example',
    '/..//evil.example',
    '/%2e//evil.example',
    'https://evil.example',
    'https:evil.example',
    'javascript:alert(1)',
    ' /\t/evil.example',
    '/\u0000/evil.example',
  ];
  for (const value of hostile) {
    const out = safeReturnTo(value);
    t.equal(landing(out).origin, APPLIANCE, `${JSON.stringify(value)} → ${JSON.stringify(out)} stays on the appliance`);
  }
  t.equal(safeReturnTo(undefined), '/');
  t.equal(safeReturnTo(''), '/');
  t.equal(safeReturnTo(`/${'a'.repeat(600)}`), '/', 'too long');
});

t.test('same-origin paths come back as the browser would read them', async (t) => {
  t.equal(safeReturnTo('/cases/1'), '/cases/1');
  t.equal(safeReturnTo('/cases/new?x=1#top'), '/cases/new?x=1#top');
  t.equal(safeReturnTo('/archive/cases/a b'), '/archive/cases/a%20b');
  t.equal(safeReturnTo('/a/../cases'), '/cases');
  t.equal(safeReturnTo('/cases/%2F%2Fevil.example'), '/cases/%2F%2Fevil.example', 'encoded slashes stay encoded (a path on this origin)');
  for (const p of ['/cases/1', '/cases/new?x=1#top', '/archive/cases/a%20b']) {
    t.equal(safeReturnTo(safeReturnTo(p)), safeReturnTo(p), `${p}: stable`);
    t.equal(landing(safeReturnTo(p)).origin, APPLIANCE);
  }
});
