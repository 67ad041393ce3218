import type pg from 'pg';
import type { AuditLog, KeyWrapper } from '@kyc/compliance';
import type { AppConfig } from './config/load.js';
import type { AuditSink } from './services/audit.js';
import type { SignInSessions } from './services/sign-in-sessions.js';
import type { CallSessionService } from './services/call-session.service.js';
import type { CaseService } from './services/case.service.js';
import type { InvitationService } from './services/invitation.service.js';
import type { OidcService } from './services/oidc.js';
import type { PiiCipher } from './lib/pii-cipher.js';
import type { LiveMedia } from './services/live-media.js';
import type { FaceServices } from './face/index.js';
import type { Queryable } from './db/database.js';
import type { OpsMetrics } from './services/ops-metrics.js';
import type { OpsDashboard } from './services/ops-dashboard.js';
import type { KnowledgeBase } from './services/kb.service.js';
import type { ServiceDesk } from './services/service-desk.js';
import type { ArchiveReplay } from './services/replay.service.js';
import type { ArchiveMedia } from './services/archive.service.js';
import type { ExportService } from './services/export.service.js';

export type ComponentStatus = { status: 'up' | 'down' | 'not_configured'; detail?: string };

/** A component /readyz reports; `required` ones make the appliance not ready when down. */
export interface ReadinessProbe {
  name: string;
  required: boolean;
  check(): Promise<ComponentStatus>;
}

/** Everything the HTTP layer needs, built once by the entry point (or a test) and passed in. */
export interface AppContext {
  config: AppConfig;
  pool: pg.Pool;
  audit: AuditSink;
  /** the same log, for its read side (checkpoints, proofs, listing) */
  auditLog: AuditLog;
  oidc: OidcService;
  cases: CaseService;
  pii: PiiCipher;
  invitations: InvitationService;
  calls: CallSessionService;
  /** after a session ended in the database: tell both parties and close the media room */
  onSessionEnded(sessionId: string, reason: string): Promise<void>;
  sessionKey: Buffer;
  /** browser sign-in sessions as the auth hook reads them (sign-out forgets them) */
  signInSessions: SignInSessions;
  /** Janus and the signaling hub; null when KYC_JANUS_WS_URL is not set (live calls not configured) */
  live: LiveMedia | null;
  probes: ReadinessProbe[];
  /** face verification (built-in or hook), liveness re-check and ID-number OCR: one instance each */
  face: FaceServices;
  /** the KEKs, one keyring for replay, exports and the in-process worker; it follows rotation (LiveKeyring) */
  keyring: KeyWrapper;
  /** queues a retention run inside the caller's transaction (null: one is already waiting) */
  enqueueRetentionRun(db: Queryable, requestedBy: string): Promise<string | null>;
  /** the process's Prometheus registry and the operators' figures (admin dashboard) */
  metrics: OpsMetrics;
  /** the admin dashboard's figures: current values, a short history, warnings */
  ops: OpsDashboard;
  /** the service assistant's knowledge base (admin-managed) and its offline retrieval */
  kb: KnowledgeBase;
  /** customer-initiated service: visits, queue, routing, presence, ratings */
  desk: ServiceDesk;
  /** replay of sealed recordings: grants, the archive's media reader and its caches (one for the process) */
  replay: ArchiveReplay;
  /** the reader of sealed media (its readers cached): one for replay and exports */
  archiveMedia: ArchiveMedia;
  /** signed composite exports: requests, downloads, and the pg-boss jobs that make them */
  exports: ExportService;
}
