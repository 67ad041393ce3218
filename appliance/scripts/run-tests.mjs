#!/usr/bin/env node
// Runs the whole tap suite with TAP output and ends with the plain line "N passed, N failed[, N skipped]"
// taken from tap's own closing summary (leaf assertions), so any CI can read the result.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

// Folders are expanded to their *.test.ts files: helpers and harness modules beside them are not test files.
function testFiles(path) {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((name) => (statSync(join(path, name)).isDirectory() ? testFiles(join(path, name)) : name.endsWith('.test.ts') ? [join(path, name)] : []));
}

const args = ['tap', '--reporter=tap', ...process.argv.slice(2).flatMap(testFiles)];
const child = spawn('npx', args, { stdio: ['ignore', 'pipe', 'inherit'] });
let tail = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  tail = (tail + chunk.toString('utf8')).slice(-4096);
});
child.on('close', (code) => {
  const m = /# \{ total: (\d+)(?:, pass: (\d+))?(?:, fail: (\d+))?(?:, skip: (\d+))?(?:, todo: (\d+))?/.exec(tail);
  const total = m ? Number(m[1]) : 0;
  const pass = m ? Number(m[2] ?? 0) : 0;
  const skip = m ? Number(m[4] ?? 0) + Number(m[5] ?? 0) : 0;
  let fail = m ? Number(m[3] ?? 0) : 0;
  if (!m || total === 0 || (code !== 0 && fail === 0)) fail = Math.max(fail, 1);
  process.stdout.write(`\n${pass} passed, ${fail} failed${skip ? `, ${skip} skipped` : ''}\n`);
  process.exit(code === 0 && fail === 0 && total > 0 ? 0 : 1);
});
