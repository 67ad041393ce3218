import { fileURLToPath } from 'node:url';
import type { MigrationSource } from './migrate.js';

/** The compliance package's own migrations (the audit log schema). Applied before the appliance's. */
export const complianceMigrations: MigrationSource = {
  scope: 'compliance',
  dir: fileURLToPath(new URL('../../migrations/', import.meta.url)),
};
