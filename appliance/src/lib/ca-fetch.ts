import { request as httpsRequest } from 'node:https';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';

/** The system's trusted roots plus the PEM bundle in `caFile` (an institution's internal CA). */
export function trustedCas(caFile: string): string[] {
  const pem = readFileSync(caFile, 'utf8');
  const extra = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (extra.length === 0) throw new Error(`${caFile} holds no PEM certificate`);
  return [...rootCertificates, ...extra];
}

function bodyBytes(body: unknown): Buffer | null {
  if (body === undefined || body === null) return null;
  if (typeof body === 'string') return Buffer.from(body);
  if (body instanceof URLSearchParams) return Buffer.from(body.toString());
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw new TypeError('unsupported request body for the CA-pinned fetch');
}

/**
 * A fetch for the identity provider that trusts `ca` (system roots plus the institution's CA) over HTTPS, for
 * openid-client's and jose's `customFetch`. Redirects are returned, never followed (both libraries ask for that).
 */
export function fetchTrusting(ca: string[]): (input: string | URL | Request, init?: RequestInit) => Promise<Response> {
  return (input, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined));
      const body = bodyBytes(init.body);
      if (body) headers.set('content-length', String(body.length));
      const options = { method: init.method ?? 'GET', headers: Object.fromEntries(headers.entries()), signal: init.signal ?? undefined };
      const onResponse = (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const out = new Headers();
          for (const [k, v] of Object.entries(res.headers)) {
            if (Array.isArray(v)) for (const one of v) out.append(k, one);
            else if (v !== undefined) out.set(k, v);
          }
          const status = res.statusCode ?? 502;
          const nullBody = status === 204 || status === 304 || options.method === 'HEAD';
          resolve(new Response(nullBody ? null : Buffer.concat(chunks), { status, statusText: res.statusMessage ?? '', headers: out }));
        });
      };
      const req = url.protocol === 'https:' ? httpsRequest(url, { ...options, ca }, onResponse) : httpRequest(url, options, onResponse);
      req.on('error', reject);
      req.end(body ?? undefined);
    });
}
