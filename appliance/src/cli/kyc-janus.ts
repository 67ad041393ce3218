#!/usr/bin/env node
// kyc-janus: renders the appliance's Janus configuration (for systemd/Ansible) or renders it and runs Janus in
// the foreground (make dev). Never Debian's /etc/janus: the files go into their own folder.
//
//   kyc-janus render --config-dir DIR [options]
//   kyc-janus run    --config-dir DIR [options]      (Ctrl-C stops Janus)
//
// Options: --log-file F (default DIR/janus.log), --admin-secret-file F, --room-key-file F (both created 0600
// when missing; the appliance reads the room key to create rooms), --api-secret-file F, --ws-port N (8288),
// --admin-port N (8289), --media-interface IF, --rtp-ports MIN-MAX, --nat-1-1 IP[,IP], --stun HOST[:PORT],
// --turn HOST[:PORT] --turn-type udp|tcp|tls --turn-user U --turn-password-file F.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readSecretText, writeNewSecretFile } from '../lib/secret-files.js';
import { checkJanusConfigOptions, loadJanusTemplates, renderJanusConfig, type JanusConfigOptions } from '../media/janus-config.js';
import { listJanusModules, startJanus, writeJanusConfig } from '../media/janus-process.js';

const USAGE =
  'usage: kyc-janus render|run --config-dir DIR [--log-file F] [--admin-secret-file F] [--room-key-file F] [--api-secret-file F] [--ws-port N] [--admin-port N] [--media-interface IF] [--rtp-ports MIN-MAX] [--nat-1-1 IP,...] [--stun HOST[:PORT]] [--turn HOST[:PORT] --turn-type T --turn-user U --turn-password-file F] [--events-url http://HOST:PORT/internal/janus-events --events-secret-file F]';

function secretFrom(path: string): string {
  if (!existsSync(path)) writeNewSecretFile(path, `${randomBytes(24).toString('base64url')}\n`);
  return readSecretText(path);
}

function hostPort(value: string, problems: string[], name: string): { host: string; port?: number } {
  const m = /^([^:]+)(?::(\d{1,5}))?$/.exec(value);
  if (!m?.[1]) {
    problems.push(`${name}: HOST or HOST:PORT`);
    return { host: value };
  }
  return m[2] ? { host: m[1], port: Number(m[2]) } : { host: m[1] };
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      'config-dir': { type: 'string' },
      'log-file': { type: 'string' },
      'admin-secret-file': { type: 'string' },
      'room-key-file': { type: 'string' },
      'api-secret-file': { type: 'string' },
      'ws-port': { type: 'string' },
      'admin-port': { type: 'string' },
      'media-interface': { type: 'string' },
      'rtp-ports': { type: 'string' },
      'nat-1-1': { type: 'string' },
      stun: { type: 'string' },
      turn: { type: 'string' },
      'turn-type': { type: 'string' },
      'turn-user': { type: 'string' },
      'turn-password-file': { type: 'string' },
      'events-url': { type: 'string' },
      'events-secret-file': { type: 'string' },
    },
  });
  const command = positionals[0];
  if ((command !== 'render' && command !== 'run') || positionals.length !== 1 || !values['config-dir']) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const configDir = resolve(values['config-dir']);
  const problems: string[] = [];
  const int = (name: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v)) problems.push(`--${name}: a number`);
    return Number(v);
  };
  const wsPort = int('ws-port', values['ws-port']) ?? 8288;
  const adminPort = int('admin-port', values['admin-port']);
  let rtpPortRange: JanusConfigOptions['rtpPortRange'];
  if (values['rtp-ports']) {
    const m = /^(\d+)-(\d+)$/.exec(values['rtp-ports']);
    if (m) rtpPortRange = { min: Number(m[1]), max: Number(m[2]) };
    else problems.push('--rtp-ports: MIN-MAX');
  }
  const turn = values.turn ? hostPort(values.turn, problems, '--turn') : null;

  const options: JanusConfigOptions = {
    configDir,
    logFile: resolve(values['log-file'] ?? join(configDir, 'janus.log')),
    adminSecret: secretFrom(resolve(values['admin-secret-file'] ?? join(configDir, 'secrets', 'admin-secret'))),
    videoroomAdminKey: secretFrom(resolve(values['room-key-file'] ?? join(configDir, 'secrets', 'room-key'))),
    apiSecret: values['api-secret-file'] ? secretFrom(resolve(values['api-secret-file'])) : null,
    ws: { port: wsPort },
    ...(adminPort !== undefined ? { admin: { port: adminPort } } : {}),
    ...(rtpPortRange ? { rtpPortRange } : {}),
    mediaInterface: values['media-interface'] ?? null,
    ...(values['nat-1-1'] ? { natOneToOneMapping: values['nat-1-1'].split(',') } : {}),
    stunServer: values.stun ? hostPort(values.stun, problems, '--stun') : null,
    turnServer: turn
      ? {
          ...turn,
          ...(values['turn-type'] ? { type: values['turn-type'] as 'udp' | 'tcp' | 'tls' } : {}),
          ...(values['turn-user'] ? { user: values['turn-user'] } : {}),
          ...(values['turn-password-file'] ? { password: readSecretText(resolve(values['turn-password-file'])) } : {}),
        }
      : null,
    modules: await listJanusModules(),
    // media statistics for the appliance's metrics (KYC_METRICS_LISTEN, KYC_JANUS_EVENTS_SECRET_FILE: the same file)
    eventHandler: values['events-url']
      ? { backend: values['events-url'], user: 'janus', password: secretFrom(resolve(values['events-secret-file'] ?? join(configDir, 'secrets', 'events-secret'))) }
      : null,
  };
  // Every problem at once: the command line's and the configuration's.
  problems.push(...checkJanusConfigOptions(options));
  if (problems.length > 0) {
    process.stderr.write(`kyc-janus: ${problems.join('; ')}\n`);
    return 2;
  }
  const rendered = renderJanusConfig(options, await loadJanusTemplates());
  await writeJanusConfig(configDir, rendered);
  if (command === 'render') {
    process.stdout.write(`${JSON.stringify({ configDir, command: ['janus', ...rendered.args] })}\n`);
    return 0;
  }

  const janus = await startJanus({ args: rendered.args, probeUrl: `ws://127.0.0.1:${wsPort}`, apiSecret: options.apiSecret ?? null });
  process.stdout.write(`${JSON.stringify({ janus: janus.info.versionString, pid: janus.pid, ws: `ws://127.0.0.1:${wsPort}`, log: options.logFile })}\n`);
  const stop = () => void janus.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const { code, signal } = await janus.exited;
  return signal === 'SIGTERM' || code === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`kyc-janus failed: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
