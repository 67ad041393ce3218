// ID number reading with Debian's tesseract (tesseract-ocr + tesseract-ocr-chi-sim): the still goes in on stdin, text
// comes out on stdout; no network, no temporary files. Digits of the number strip read best with the digit
// whitelist; every result is validated (GB 11643 check digit), which rejects the usual misreads.
import { spawn } from 'node:child_process';
import { checkStill } from '../face/image.js';
import type { IdNumberReader } from '../face/types.js';
import { findIdNumber } from './gb11643.js';

export interface TesseractOptions {
  binary: string;
  timeoutMs: number;
}

function run(binary: string, args: string[], input: Buffer, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { OMP_THREAD_LIMIT: '1', PATH: '/usr/bin:/bin' } });
    const out: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.resume();
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`OCR unavailable: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else reject(new Error(`OCR failed (${signal ?? `exit ${code}`})`));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

export class TesseractIdNumberReader implements IdNumberReader {
  constructor(private readonly opts: TesseractOptions) {}

  async read(image: Buffer): Promise<{ idNumber: string | null; checksumValid: boolean }> {
    checkStill(image, 'reference');
    // sparse text (psm 11) finds the number wherever it is on the card; a second pass reads the whole card as a block
    for (const psm of ['11', '6']) {
      const text = await run(this.opts.binary, ['stdin', 'stdout', '-l', 'eng', '--psm', psm, '-c', 'tessedit_char_whitelist=0123456789X'], image, this.opts.timeoutMs);
      const found = findIdNumber(text);
      if (found.checksumValid) return found;
      if (psm === '6') return found;
    }
    return { idNumber: null, checksumValid: false };
  }
}
