import { fileURLToPath } from 'node:url';
import { complianceMigrations, type MigrationSource } from '@kyc/compliance';

/** All schema migrations, in the order they apply: the compliance core's, then the appliance's. */
export const applianceMigrations: MigrationSource = {
  scope: 'appliance',
  dir: fileURLToPath(new URL('../migrations/', import.meta.url)),
};

export const allMigrations: MigrationSource[] = [complianceMigrations, applianceMigrations];
