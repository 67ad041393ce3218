#!/usr/bin/env node
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import pino from 'pino';
import { buildApp } from './app.js';
import { createRuntime } from './bootstrap.js';
import { loadConfigOrExit } from './config/load.js';
import { applianceNames, ensureOwnTls, loadAdminTls } from './pki/certificate-authority.js';

const SHUTDOWN_GRACE_MS = 10_000;

async function main(): Promise<void> {
  const config = loadConfigOrExit({ allowMissingGeneratedSecrets: true });
  const tls = config.tls.certFile && config.tls.keyFile ? loadAdminTls(config.tls.certFile, config.tls.keyFile) : ensureOwnTls(config.dataDir, applianceNames(config));
  const log = pino({ level: config.logLevel, base: { service: 'kyc-appliance' } });
  const runtime = await createRuntime(config, (what, err) => log.error({ what, err: err instanceof Error ? err.message : String(err) }, 'background task failed'), {
    info: (obj, msg) => log.info(obj, msg),
    warn: (obj, msg) => log.warn(obj, msg),
    error: (obj, msg) => log.error(obj, msg),
  });
  const bundledWeb = fileURLToPath(new URL('../../web/build/', import.meta.url));
  const webRoot = config.webRoot ?? (existsSync(bundledWeb) ? bundledWeb : null);
  const app = await buildApp(runtime.ctx, { https: { cert: tls.cert, key: tls.key }, webRoot });
  app.addHook('onClose', async () => runtime.close());

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      app.log.error('shutdown grace period exceeded; exiting');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS);
    force.unref();
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        app.log.error({ err }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  await app.listen({ host: config.listen.host, port: config.listen.port });
  app.log.info(
    { url: config.publicUrl.origin, caCertificate: tls.caCertPath, webRoot: webRoot ?? 'none' },
    tls.caCertPath ? `appliance CA certificate: ${tls.caCertPath}` : 'serving the configured certificate',
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`appliance failed to start: ${(err as Error).message}\n`);
  process.exit(1);
});
