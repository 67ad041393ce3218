#!/usr/bin/env node
// Runs the whole tap suite with TAP output and ends with the plain line "N passed, N failed[, N skipped]"
// taken from tap's own closing summaries (leaf assertions), so any CI can read the result.
//   run-tests.mjs PATH… [--long FILE…]
// Files after --long (the install test in a booted container, the crash test: many minutes each) run in a second
// tap process beside the suite, with a long timeout of their own instead of the suite's; their output follows the
// suite's, and the closing line counts both.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const LONG_TIMEOUT_S = 1800;

// Folders are expanded to their *.test.ts files: helpers and harness modules beside them are not test files.
function testFiles(path) {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((name) => (statSync(join(path, name)).isDirectory() ? testFiles(join(path, name)) : name.endsWith('.test.ts') ? [join(path, name)] : []));
}

const argv = process.argv.slice(2);
const cut = argv.indexOf('--long');
const long = cut < 0 ? [] : argv.slice(cut + 1);
const suite = (cut < 0 ? argv : argv.slice(0, cut)).flatMap(testFiles).filter((f) => !long.includes(f));

/** Runs tap on `files`; streams its output or keeps it for later; resolves with tap's summary. */
function tap(files, extraArgs, stream) {
  return new Promise((resolve) => {
    const child = spawn('npx', ['tap', '--reporter=tap', ...extraArgs, ...files], { stdio: ['ignore', 'pipe', 'inherit'] });
    let kept = '';
    let tail = '';
    child.stdout.on('data', (chunk) => {
      if (stream) process.stdout.write(chunk);
      else kept += chunk.toString('utf8');
      tail = (tail + chunk.toString('utf8')).slice(-4096);
    });
    child.on('close', (code) => {
      const m = /# \{ total: (\d+)(?:, pass: (\d+))?(?:, fail: (\d+))?(?:, skip: (\d+))?(?:, todo: (\d+))?/.exec(tail);
      const total = m ? Number(m[1]) : 0;
      const pass = m ? Number(m[2] ?? 0) : 0;
      const skip = m ? Number(m[4] ?? 0) + Number(m[5] ?? 0) : 0;
      let fail = m ? Number(m[3] ?? 0) : 0;
      if (!m || total === 0 || (code !== 0 && fail === 0)) fail = Math.max(fail, 1);
      resolve({ pass, fail, skip, kept });
    });
  });
}

const runs = [tap(suite, [], true)];
if (long.length) runs.push(tap(long, ['--timeout', String(LONG_TIMEOUT_S), '--jobs', '1'], false));
const results = await Promise.all(runs);
for (const r of results.slice(1)) process.stdout.write(`\n${r.kept}`);
const pass = results.reduce((n, r) => n + r.pass, 0);
const fail = results.reduce((n, r) => n + r.fail, 0);
const skip = results.reduce((n, r) => n + r.skip, 0);
process.stdout.write(`\n${pass} passed, ${fail} failed${skip ? `, ${skip} skipped` : ''}\n`);
process.exit(fail === 0 && pass > 0 ? 0 : 1);
