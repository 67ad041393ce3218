import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../app-context.js';
import { archiveCaseRoutes } from './archive-cases.js';
import { archiveReplayRoutes } from './archive-replay.js';
import { archiveReviewRoutes } from './archive-review.js';

export { TIMELINE_MAX_AUDIT_EVENTS, TIMELINE_MAX_SESSION_EVENTS } from '../services/case-timeline.js';

/**
 * The auditor's archive, one file per URL family: search, a case's timeline and quality (archive-cases.ts); replay
 * of sealed recordings, ranges decrypted on the fly (archive-replay.ts); maker-checker review and revealing one
 * masked field (archive-review.ts).
 */
export async function archiveRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  await archiveCaseRoutes(app, ctx);
  await archiveReplayRoutes(app, ctx);
  await archiveReviewRoutes(app, ctx);
}
