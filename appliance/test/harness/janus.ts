// Our Janus for a test: the project's templates rendered into the namespace's folder, candidates gathered on
// the namespace's media interface, the WebSocket API reached from this process through a relay.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { loadJanusTemplates, renderJanusConfig, type JanusConfigOptions } from '../../src/media/janus-config.js';
import { listJanusModules, startJanus, writeJanusConfig, type JanusProcess } from '../../src/media/janus-process.js';
import type { Netns } from './netns.js';

export interface TestJanus {
  /** ws+unix URL of the Janus API, usable from this process */
  url: string;
  roomAdminKey: string;
  adminSecret: string;
  logFile: string;
  /** the running process (throws while stopped) */
  process(): JanusProcess;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function startTestJanus(ns: Netns, opts: { eventHandler?: JanusConfigOptions['eventHandler'] } = {}): Promise<TestJanus> {
  const configDir = join(ns.dir, 'janus');
  const logFile = join(ns.dir, 'janus.log');
  const roomAdminKey = randomBytes(18).toString('base64url');
  const adminSecret = randomBytes(18).toString('base64url');
  const rendered = renderJanusConfig(
    { configDir, logFile, adminSecret, videoroomAdminKey: roomAdminKey, mediaInterface: ns.mediaInterface, modules: await listJanusModules(), eventHandler: opts.eventHandler ?? null },
    await loadJanusTemplates(),
  );
  await writeJanusConfig(configDir, rendered);
  // The default port (8288) is free in a namespace of our own.
  const url = `ws+unix:${await ns.forward(8288)}:/`;
  let running: JanusProcess | null = null;
  const start = async () => {
    running = await startJanus({ args: rendered.args, probeUrl: url, netns: ns.name });
  };
  await start();
  return {
    url,
    roomAdminKey,
    adminSecret,
    logFile,
    process: () => {
      if (!running) throw new Error('Janus is not running');
      return running;
    },
    stop: async () => {
      await running?.stop();
      running = null;
    },
    start,
  };
}
