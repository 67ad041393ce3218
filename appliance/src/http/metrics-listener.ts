import { createServer, type Server } from 'node:http';
import type { OpsMetrics } from '../services/ops-metrics.js';

/**
 * The Prometheus endpoint on its own plain-HTTP listener (KYC_METRICS_LISTEN), apart from the HTTPS API: `GET
 * /metrics` only; anything else 404/405. A failed scrape is a 500 without details.
 */
export async function startMetricsListener(
  metrics: Pick<OpsMetrics, 'scrape'>,
  listen: { host: string; port: number },
  onError: (err: unknown) => void = () => undefined,
): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    metrics.scrape().then(
      ({ contentType, body }) => {
        res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (err: unknown) => {
        onError(err);
        res.writeHead(500, { 'content-type': 'text/plain' }).end('scrape failed\n');
      },
    );
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
