import { join } from 'node:path';
import type { CallMetrics } from './ops-metrics.js';
import type pg from 'pg';
import type { AppConfig } from '../config/load.js';
import { withTransaction, type Queryable } from '../db/database.js';
import type { PiiCipher } from '../lib/pii-cipher.js';
import { readSecretText } from '../lib/secret-files.js';
import { JanusGateway } from '../media/janus-gateway.js';
import { DEFAULT_CONNECTION_LIMITS, SignalingHub, type ChatEntry, type SignalingEvent, type SignalingIdentity, type StoredChat } from '../media/signaling-hub.js';
import { callSessionRepository } from '../repositories/call-session.repository.js';
import { CallQuality } from './call-quality.js';
import type { HandleRole, MediaSample } from './janus-events.js';
import { auditEvent, type AuditActor, type AuditSink } from './audit.js';
import type { CallSessionService } from './call-session.service.js';
import type { InvitationService } from './invitation.service.js';
import { CUSTOMER_ACTOR, type SessionCaller } from './session-access.js';

/** Audit action of each signaling event. Every one is persisted and audited in one transaction. */
const ACTIONS: Record<SignalingEvent['type'], string> = {
  join: 'session.join',
  reconnect: 'session.reconnect',
  publish: 'recording.segment',
  'media-up': 'session.media_up',
  chat: 'chat.send',
  'media-state': 'session.media_state',
  'screen-share-start': 'session.screen_share_start',
  'screen-share-stop': 'session.screen_share_stop',
  leave: 'session.leave',
  disconnect: 'session.disconnect',
  timeout: 'session.timeout',
  'call-mode': 'session.call_mode',
};

function scalars(data: Record<string, unknown>): Record<string, string | number | boolean | null> {
  const out: Record<string, string | number | boolean | null> = {};
  for (const [k, v] of Object.entries(data)) {
    if (k === 'text') continue;
    if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = typeof v === 'string' ? v.slice(0, 200) : v;
  }
  return out;
}

function actorFor(identity: Record<string, string>): AuditActor {
  if (identity['kind'] === 'system') return { username: 'system', roles: [], auth: 'system' };
  return identity['kind'] === 'teller' && identity['username'] ? { username: identity['username'], roles: ['teller'], auth: 'session' } : CUSTOMER_ACTOR;
}

export interface LiveMediaDeps {
  config: AppConfig;
  pool: pg.Pool;
  audit: AuditSink;
  pii: PiiCipher;
  invitations: InvitationService;
  calls: CallSessionService;
  /** join funnel and slowlink counts (the operators' metrics) */
  metrics?: CallMetrics;
  log: { info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void; debug?(o: object, m: string): void };
}

/** The signaling socket's caller: as for a session's other routes, plus the teller's `?session=` it names. */
export interface SignalingCaller extends SessionCaller {
  session: string | undefined;
}

/**
 * The live part of a session: the Janus gateway, the signaling hub, who may join which session, and what every
 * signaling event leaves in the database and the audit log.
 */
/** The encryption context of a chat message's text: its session (the record) and its own event row. */
export function chatTextField(eventId: string): string {
  return `chat/${eventId}`;
}

/**
 * A stored message's text. Messages written before texts were bound to their rows used the session-wide field
 * `chat`; those are still read (a ciphertext bound to its row never decrypts under it).
 */
export function decryptChatText(pii: PiiCipher, sessionId: string, c: { id: string; textEnc: Buffer }): string {
  try {
    return pii.decrypt(sessionId, chatTextField(c.id), c.textEnc);
  } catch (err) {
    try {
      return pii.decrypt(sessionId, 'chat', c.textEnc);
    } catch {
      throw err;
    }
  }
}

/**
 * A session's chat as stored with its signaling events (decrypted), for parties that join after a restart. A message
 * that cannot be decrypted is left out (and logged without its content) but still counts for the numbering.
 */
export async function storedChat(db: Queryable, pii: PiiCipher, sessionId: string, log?: { warn(o: object, msg: string): void }): Promise<StoredChat> {
  const messages: ChatEntry[] = [];
  let lastSeq = 0;
  for (const c of await callSessionRepository.chatMessages(db, sessionId)) {
    lastSeq = Math.max(lastSeq, c.seq);
    try {
      messages.push({ seq: c.seq, from: c.party, text: decryptChatText(pii, sessionId, c), at: c.at.toISOString() });
    } catch {
      log?.warn({ session: sessionId, seq: c.seq }, 'stored chat message cannot be decrypted');
    }
  }
  return { messages, lastSeq };
}

export class LiveMedia {
  readonly gateway: JanusGateway;
  readonly hub: SignalingHub;
  /** per-call quality samples and the degrade decision */
  readonly quality: CallQuality;
  private sweepTimer: NodeJS.Timeout | null = null;
  private sweeping: Promise<unknown> | null = null;

  constructor(
    private readonly deps: LiveMediaDeps,
    wsUrl: URL,
    roomAdminKey: string,
  ) {
    const log = deps.log as never;
    this.gateway = new JanusGateway({ url: wsUrl.href, roomAdminKey, log });
    this.quality = new CallQuality({
      pool: deps.pool,
      thresholds: deps.config.degrade,
      onStep: (sessionId, step) => this.hub.setCallMode(sessionId, step.to, step.reason, step.party ? { party: step.party } : {}),
      log: deps.log,
    });
    this.hub = new SignalingHub({
      gateway: this.gateway,
      recordingDir: (sessionId) => join(deps.config.recording.dir, sessionId),
      recordingGroupAccess: deps.config.recording.groupAccess,
      onEvent: (e) => this.persist(e),
      onAbandoned: (sessionId) => this.endAbandoned(sessionId, 'abandoned: both parties left'),
      chatHistory: (sessionId) => storedChat(deps.pool, deps.pii, sessionId, deps.log),
      iceServers: [],
      connectionLimits: { perParty: DEFAULT_CONNECTION_LIMITS.perParty, perAddress: deps.config.janus.socketsPerAddress },
      log,
      metrics: deps.metrics,
      quality: this.quality,
    });
  }

  /** Janus's media statistics of a handle of one of this process's calls (from its event handler). */
  janusSample(role: HandleRole, s: MediaSample): void {
    if (!role.sessionId) return;
    this.quality.janus(role.sessionId, role.party, role.direction, s.media, { bitrateBps: s.bitrateBps, lossRatio: s.lossRatio, rttMs: s.rttMs, jitterMs: s.jitterMs });
  }

  static fromConfig(deps: LiveMediaDeps): LiveMedia | null {
    const { wsUrl, roomKeyFile } = deps.config.janus;
    if (!wsUrl || !roomKeyFile) return null;
    return new LiveMedia(deps, wsUrl, readSecretText(roomKeyFile));
  }

  start(): void {
    this.gateway.start();
    this.quality.start();
    // After a restart the hub knows no session: a live one that nobody rejoins within the grace ends like any other.
    const sweep = () => {
      this.sweeping ??= this.endOrphaned()
        .catch((err: unknown) => this.deps.log.error({ err: err instanceof Error ? err.message : String(err) }, 'orphaned sessions not ended'))
        .finally(() => (this.sweeping = null));
    };
    sweep();
    this.sweepTimer = setInterval(sweep, Math.max(1000, this.hub.reconnectGraceMs / 2));
    this.sweepTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    await this.sweeping;
    await this.hub.shutdown();
    await this.quality.stop();
    await this.gateway.stop();
  }

  /**
   * Live sessions this process does not hold and in which nothing happened for the reconnect grace (the appliance
   * restarted mid-call and nobody came back): ended, their recordings sealed. Returns the ids it ended.
   */
  async endOrphaned(): Promise<string[]> {
    const ended: string[] = [];
    for (const s of await callSessionRepository.listLiveIdle(this.deps.pool, Math.ceil(this.hub.reconnectGraceMs / 1000))) {
      if (this.hub.describe(s.id)) continue;
      await this.endAbandoned(s.id, 'abandoned: no party came back after an appliance restart');
      ended.push(s.id);
    }
    return ended;
  }

  /**
   * The signaling socket's credentials: a signed-in teller naming their live session (`?session=`), or the customer
   * of a live session (`?invitation=` from the browser the link is bound to).
   */
  async authenticate(caller: SignalingCaller): Promise<SignalingIdentity | null> {
    const { invitation, session: sessionId } = caller;
    if (typeof invitation === 'string' && /^[A-Za-z0-9_-]{43}$/.test(invitation)) {
      const live = await this.deps.invitations.liveSessionForCustomer(this.deps.pool, invitation, caller.device);
      return live ? { sessionId: live.session.id, party: 'customer', actor: { kind: 'customer', invitationId: live.invitation.id } } : null;
    }
    const p = caller.principal;
    if (!p || !p.roles.includes('teller') || typeof sessionId !== 'string' || !/^[0-9a-f-]{36}$/.test(sessionId)) return null;
    const session = await callSessionRepository.findById(this.deps.pool, sessionId);
    if (!session || session.state !== 'live' || session.teller !== p.username) return null;
    return { sessionId: session.id, party: 'teller', actor: { kind: 'teller', username: p.username }, ...(p.sessionIdHash ? { signIn: p.sessionIdHash.toString('base64') } : {}) };
  }

  /** Persists and audits a signaling event in one transaction; a failure refuses the action (fail closed). */
  private async persist(e: SignalingEvent): Promise<void> {
    const actor = actorFor(e.actor);
    const text = typeof e.data['text'] === 'string' ? e.data['text'] : null;
    await withTransaction(this.deps.pool, async (client) => {
      // a message's text is bound to its own event row: rows of one session cannot be swapped or replayed
      const id = text !== null ? await callSessionRepository.nextEventId(client) : undefined;
      const caseId = id !== undefined ? (await callSessionRepository.findById(client, e.sessionId))?.case_id : undefined;
      await callSessionRepository.addEvent(client, {
        ...(id !== undefined ? { id } : {}),
        sessionId: e.sessionId,
        party: e.party,
        kind: e.type,
        data: scalars(e.data),
        textEnc: id !== undefined && caseId !== undefined && text !== null ? this.deps.pii.encryptForCase(caseId, e.sessionId, chatTextField(id), text) : null,
      });
      await this.deps.audit.appendInTx(
        client,
        auditEvent(
          null,
          {
            action: ACTIONS[e.type],
            object: { type: 'session', id: e.sessionId },
            result: 'success',
            details: { party: e.party, ...scalars(e.data), ...(text !== null ? { textLength: text.length } : {}) },
          },
          actor,
        ),
      );
    });
  }

  /** Nobody is in the session any more: it ends (and its recording is sealed), unless somebody came back meanwhile. */
  private async endAbandoned(sessionId: string, reason: string): Promise<void> {
    const state = this.hub.describe(sessionId);
    if (state && (state.parties.teller.connected || state.parties.customer.connected)) return;
    await withTransaction(this.deps.pool, (client) =>
      this.deps.calls.end(
        client,
        async (rec) => {
          await this.deps.audit.appendInTx(client, auditEvent(null, { ...rec, action: rec.action ?? 'session.hangup', result: rec.result ?? 'success' }));
        },
        sessionId,
        { party: 'system', username: 'system' },
        reason,
      ),
    );
    await this.hub.endSession(sessionId, 'abandoned');
  }
}
