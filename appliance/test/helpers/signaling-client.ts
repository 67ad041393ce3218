// A customer brought to the waiting room through the real join API, and signaling sockets opened in-process.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type WebSocket from 'ws';
import type { LightMyRequestResponse } from 'fastify';
import pg from 'pg';
import { newCaseBody, startTestAppliance, type Teardown, type TestAppliance, type TestApplianceOptions } from './appliance.js';
import { SIGNALING_PATH, SIGNALING_SUBPROTOCOL } from '../../src/media/protocol.js';

function deviceCookie(res: LightMyRequestResponse): string {
  const c = res.cookies.find((x) => x.name === '__Host-kyc_device');
  if (!c) throw new Error('no device cookie');
  return c.value;
}

/** A case whose customer is in the waiting room: the link's token and the device cookie of the customer's browser. */
export async function waitingCustomer(a: TestAppliance, teller: Record<string, string>): Promise<{ caseId: string; token: string; cookies: Record<string, string> }> {
  const caseId = (await a.app.inject({ method: 'POST', url: '/api/cases', headers: teller, payload: newCaseBody() })).json().id as string;
  const inv = (await a.app.inject({ method: 'POST', url: `/api/cases/${caseId}/invitations`, headers: teller })).json() as { url: string; code: string };
  const token = new URL(inv.url).pathname.split('/')[2] ?? '';
  const open = await a.app.inject({ method: 'POST', url: `/api/join/${token}/open` });
  const cookies = { '__Host-kyc_device': deviceCookie(open) };
  await a.app.inject({ method: 'POST', url: `/api/join/${token}/code`, cookies, payload: { code: inv.code } });
  await a.app.inject({ method: 'POST', url: `/api/join/${token}/device-check`, cookies, payload: { camera: true, microphone: true } });
  const consent = await a.app.inject({ method: 'POST', url: `/api/join/${token}/consent`, cookies, payload: { accept: true, consentVersion: '2026-11' } });
  if (consent.json().step !== 'waiting') throw new Error(`customer not waiting: ${consent.body}`);
  return { caseId, token, cookies };
}

export interface Socket {
  ws: WebSocket;
  frames: Array<Record<string, unknown>>;
  closed: Promise<number>;
}

export async function openSignaling(a: TestAppliance, query: string, headers: Record<string, string>): Promise<Socket> {
  const frames: Array<Record<string, unknown>> = [];
  let closed!: Promise<number>;
  const ws = await (a.app as unknown as { injectWS: (path: string, ctx: object, opts: object) => Promise<WebSocket> }).injectWS(
    `${SIGNALING_PATH}?${query}`,
    { headers: { origin: a.config.publicUrl.origin, 'sec-websocket-protocol': SIGNALING_SUBPROTOCOL, ...headers } },
    {
      onInit: (w: WebSocket) => {
        w.on('message', (data) => frames.push(JSON.parse(String(data)) as Record<string, unknown>));
        closed = new Promise((resolve) => w.once('close', (code) => resolve(code)));
      },
    },
  );
  return { ws, frames, closed };
}

/**
 * An appliance whose live-call side is configured but whose Janus is not reachable: for what needs sessions,
 * sockets and files but no media. Also a superuser pool on its database.
 */
export async function applianceWithoutMedia(t: Teardown, opts: TestApplianceOptions = {}): Promise<{ a: TestAppliance; su: pg.Pool }> {
  const dir = mkdtempSync(join(tmpdir(), 'kyc-no-media-'));
  const roomKeyFile = join(dir, 'room-key');
  writeFileSync(roomKeyFile, 'room-admin-key', { mode: 0o600 });
  const a = await startTestAppliance(t, {
    ...opts,
    env: { KYC_JANUS_WS_URL: 'ws://127.0.0.1:9/', KYC_JANUS_ROOM_KEY_FILE: roomKeyFile, KYC_WORKER_IN_PROCESS: 'false', ...opts.env },
  });
  const su = new pg.Pool({ connectionString: a.db.superUrl, max: 2 });
  t.teardown(() => su.end());
  return { a, su };
}

/** A live session of the waiting customer's case, as the appliance admits one (`ago`: how long ago, an interval). */
export async function liveSessionOf(su: pg.Pool, caseId: string, ago = '0 seconds'): Promise<string> {
  const inv = (await su.query('SELECT id FROM invitations WHERE case_id = $1', [caseId])).rows[0].id as string;
  const id = (
    await su.query(
      `INSERT INTO call_sessions (id, case_id, invitation_id, teller, state, room_id, admitted_at) VALUES (gen_random_uuid(), $1, $2, 'teller1', 'live', (random() * 1e12)::bigint + 1, now() - $3::interval) RETURNING id`,
      [caseId, inv, ago],
    )
  ).rows[0].id as string;
  await su.query(`UPDATE cases SET status = 'in_session' WHERE id = $1`, [caseId]);
  return id;
}
