// The retention shredder in a process of its own, for the crash test: `shred-child.ts <json options>`.
// With `killAfterSteps` it kills itself with SIGKILL right after that many recorded steps (a real crash: no
// cleanup, no finally blocks, the database connections dropped mid-flight).
import pg from 'pg';
import { AuditLog } from '@kyc/compliance';
import { RetentionShredder } from '../../src/recording/shred-job.js';

interface ChildOptions {
  dbUrl: string;
  archiveDir: string;
  recordingsDir: string;
  exportsDir: string;
  asOf: string;
  killAfterSteps?: number;
}

const o = JSON.parse(process.argv[2] ?? '{}') as ChildOptions;
const pool = new pg.Pool({ connectionString: o.dbUrl, max: 3 });
const audit = new AuditLog({ pool });
const shredder = new RetentionShredder({
  pool,
  audit,
  archiveDir: o.archiveDir,
  recordingsDir: o.recordingsDir,
  exportsDir: o.exportsDir,
  onStep: (n) => {
    if (o.killAfterSteps !== undefined && n >= o.killAfterSteps) process.kill(process.pid, 'SIGKILL');
  },
});
const r = await shredder.run(new Date(o.asOf), 'crash-test');
process.stdout.write(`${JSON.stringify(r)}\n`);
await audit.close();
await pool.end();
