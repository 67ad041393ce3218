import { timingSafeEqual, createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { OpsMetrics } from '../services/ops-metrics.js';
import { JANUS_EVENTS_MAX_BYTES, JanusEventError } from '../services/janus-events.js';

/** The user name Janus's event handler sends (backend_user). */
export const JANUS_EVENTS_USER = 'janus';
export const JANUS_EVENTS_PATH = '/internal/janus-events';

export interface MetricsListenerDeps {
  metrics: Pick<OpsMetrics, 'scrape'>;
  /** Janus's event handler feed; null: refused (no secret configured) */
  janusEvents: { ingest(body: string): number; password: string } | null;
}

function plain(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers }).end(`${text}\n`);
}

const digest = (s: string) => createHash('sha256').update(s).digest();

function authorized(req: IncomingMessage, password: string): boolean {
  const m = /^Basic ([A-Za-z0-9+/=]{1,1024})$/.exec(req.headers.authorization ?? '');
  if (!m?.[1]) return false;
  return timingSafeEqual(digest(Buffer.from(m[1], 'base64').toString('utf8')), digest(`${JANUS_EVENTS_USER}:${password}`));
}

/** Reads the body up to `limit` bytes; null when larger (the rest is drained). */
function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) over = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve(over ? null : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function janusEvents(req: IncomingMessage, res: ServerResponse, feed: MetricsListenerDeps['janusEvents']): Promise<void> {
  if (!feed) return plain(res, 404, 'not found');
  if (req.method !== 'POST') return plain(res, 405, 'method not allowed', { allow: 'POST' });
  if (!authorized(req, feed.password)) return plain(res, 401, 'KYC_ERR_UNAUTHENTICATED', { 'www-authenticate': 'Basic realm="janus-events"' });
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > JANUS_EVENTS_MAX_BYTES) {
    res.setHeader('connection', 'close');
    return plain(res, 413, 'KYC_ERR_TOO_LARGE');
  }
  const body = await readBody(req, JANUS_EVENTS_MAX_BYTES);
  if (body === null) return plain(res, 413, 'KYC_ERR_TOO_LARGE');
  try {
    feed.ingest(body);
  } catch (err) {
    if (err instanceof JanusEventError) return plain(res, 400, 'KYC_ERR_VALIDATION');
    throw err;
  }
  plain(res, 200, 'ok');
}

/**
 * The operators' plain-HTTP listener (KYC_METRICS_LISTEN), apart from the HTTPS API: `GET /metrics` for Prometheus,
 * and `POST /internal/janus-events` for Janus's event handler (basic auth). Anything else 404; a failure is a 500
 * without details.
 */
export async function startMetricsListener(deps: MetricsListenerDeps, listen: { host: string; port: number }, onError: (err: unknown) => void = () => undefined): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    const work =
      path === JANUS_EVENTS_PATH
        ? janusEvents(req, res, deps.janusEvents)
        : path !== '/metrics'
          ? Promise.resolve(plain(res, 404, 'not found'))
          : req.method !== 'GET' && req.method !== 'HEAD'
            ? Promise.resolve(plain(res, 405, 'method not allowed', { allow: 'GET, HEAD' }))
            : deps.metrics.scrape().then(({ contentType, body }) => {
                res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
                res.end(req.method === 'HEAD' ? undefined : body);
              });
    work.catch((err: unknown) => {
      onError(err);
      if (!res.headersSent) plain(res, 500, 'internal error');
      else res.destroy();
    });
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
