/**
 * Where the browser goes after sign-in: a path on this origin, or `/`.
 *
 * The value is parsed the way a browser parses a Location header (WHATWG URL: tabs and newlines dropped, backslashes
 * read as slashes, dot segments resolved, percent-encoding kept), and the answer is that parse serialised again, so the
 * browser follows exactly what was checked. String tests on the raw value cannot do this: `/\t/evil.example` passes
 * "starts with one slash" and a browser reads it as `//evil.example`.
 */
const BASE = new URL('https://return-to.invalid');
const MAX_LENGTH = 500;

export function safeReturnTo(value: string | undefined): string {
  const home = '/';
  if (!value || value.length > MAX_LENGTH || !value.startsWith('/')) return home;
  let url: URL;
  try {
    url = new URL(value, BASE);
  } catch {
    return home;
  }
  if (url.origin !== BASE.origin || url.username !== '' || url.password !== '') return home;
  const path = `${url.pathname}${url.search}${url.hash}`;
  // an empty first segment ('//host/…') is another host to a browser
  if (!path.startsWith('/') || path.startsWith('//') || path.length > MAX_LENGTH) return home;
  return path;
}
