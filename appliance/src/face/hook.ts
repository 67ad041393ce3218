// The institution's face-verification engine behind an HTTPS hook. The appliance POSTs
// {"requestId","caseId","reference","probe"} (base64 JPEGs) signed with HMAC-SHA256 over "<timestamp>.<body>" and
// expects {"score":0..1,"decision":"match"|"no_match"|"review","engine":"…"}. Timeouts, network errors and 5xx are
// retried a bounded number of times; any failure gives "review", never "match". Images are checked locally first
// (the built-in detector counts faces) so bad input is refused the same way with either engine.
import { createHmac, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import type { BuiltinFaceEngine } from './builtin.js';
import { asJpeg } from './image.js';
import { FaceImageError, type CompareOptions, type FaceComparison, type FaceDecision, type FaceEngine } from './types.js';

export interface HookOptions {
  url: URL;
  secret: Buffer;
  /** PEM CA bundle the hook's certificate must chain to; null = system trust */
  ca: string | null;
  timeoutMs: number;
  retries: number;
}

export const HOOK_ENGINE_NAME = 'hook';
const DECISIONS: readonly FaceDecision[] = ['match', 'no_match', 'review'];

/** The signature header value for a body sent at `timestamp` (unix seconds). */
export function signHookBody(secret: Buffer, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

class HookFailure extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

type HookAnswer = { score: number; decision: FaceDecision; engine: string };

export class HookFaceEngine implements FaceEngine {
  readonly name = HOOK_ENGINE_NAME;

  constructor(
    private readonly opts: HookOptions,
    /** used to check the images (one face each) before they leave the appliance */
    private readonly local: BuiltinFaceEngine,
    private readonly onFailure: (reason: string) => void = () => undefined,
  ) {}

  static fromFiles(
    o: { url: URL; secretFile: string; caFile: string | null; timeoutMs: number; retries: number },
    local: BuiltinFaceEngine,
    onFailure?: (reason: string) => void,
  ): HookFaceEngine {
    return new HookFaceEngine(
      { url: o.url, secret: readFileSync(o.secretFile), ca: o.caFile ? readFileSync(o.caFile, 'utf8') : null, timeoutMs: o.timeoutMs, retries: o.retries },
      local,
      onFailure,
    );
  }

  private post(body: string): Promise<HookAnswer> {
    const timestamp = String(Math.floor(Date.now() / 1000));
    return new Promise<HookAnswer>((resolve, reject) => {
      const req = httpsRequest(
        this.opts.url,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            'x-kyc-timestamp': timestamp,
            'x-kyc-signature': signHookBody(this.opts.secret, timestamp, body),
          },
          ...(this.opts.ca ? { ca: this.opts.ca } : {}),
          timeout: this.opts.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > 64 * 1024) req.destroy(new HookFailure('answer too large', false));
            else chunks.push(c);
          });
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (status >= 500 || status === 429) return reject(new HookFailure(`HTTP ${status}`, true));
            if (status !== 200) return reject(new HookFailure(`HTTP ${status}`, false));
            let parsed: unknown;
            try {
              parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch {
              return reject(new HookFailure('answer is not JSON', false));
            }
            const a = parsed as Partial<HookAnswer> | null;
            if (
              !a ||
              typeof a.score !== 'number' ||
              !(a.score >= 0 && a.score <= 1) ||
              !DECISIONS.includes(a.decision as FaceDecision) ||
              typeof a.engine !== 'string' ||
              a.engine.length === 0 ||
              a.engine.length > 100
            ) {
              return reject(new HookFailure('answer does not follow the contract', false));
            }
            resolve({ score: a.score, decision: a.decision as FaceDecision, engine: a.engine });
          });
          res.on('error', (e) => reject(new HookFailure(e.message, true)));
        },
      );
      // the deadline covers the whole exchange, not only idle time
      const deadline = setTimeout(() => req.destroy(new HookFailure('timeout', true)), this.opts.timeoutMs);
      req.on('timeout', () => req.destroy(new HookFailure('timeout', true)));
      req.on('error', (e) => reject(e instanceof HookFailure ? e : new HookFailure(e.message, true)));
      req.on('close', () => clearTimeout(deadline));
      req.end(body);
    });
  }

  /** Asks the hook, retrying; resolves with its answer or with the reason it failed. */
  async ask(reference: Buffer, probe: Buffer, opts: CompareOptions = {}): Promise<HookAnswer | { failure: string }> {
    const body = JSON.stringify({
      requestId: opts.requestId ?? randomUUID(),
      caseId: opts.caseId ?? null,
      reference: asJpeg(reference, 'reference').toString('base64'),
      probe: asJpeg(probe, 'probe').toString('base64'),
    });
    let last = 'no attempt';
    for (let attempt = 0; attempt <= this.opts.retries; attempt++) {
      try {
        return await this.post(body);
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
        if (err instanceof HookFailure && !err.retryable) break;
        if (attempt < this.opts.retries) await new Promise((r) => setTimeout(r, Math.min(1000, 100 * 2 ** attempt)));
      }
    }
    this.onFailure(last);
    return { failure: last };
  }

  private fromAnswer(answer: HookAnswer | { failure: string }, faces: { reference: number; probe: number }): FaceComparison {
    const thresholds = this.local.scoreThresholds;
    if ('failure' in answer) return { score: 0, decision: 'review', engine: HOOK_ENGINE_NAME, modelVersion: 'unavailable', thresholds, faces };
    return { score: answer.score, decision: answer.decision, engine: `${HOOK_ENGINE_NAME}:${answer.engine}`, modelVersion: answer.engine, thresholds, faces };
  }

  async compare(reference: Buffer, probe: Buffer, opts?: CompareOptions): Promise<FaceComparison> {
    const [r, p] = await Promise.all([this.local.describe(reference, 'reference'), this.local.describe(probe, 'probe')]);
    return this.fromAnswer(await this.ask(reference, probe, opts), { reference: r.count, probe: p.count });
  }

  /** The locally best frame (by the built-in descriptor distance) is the one sent to the hook. */
  async compareBest(reference: Buffer, probes: Buffer[], opts?: CompareOptions): Promise<FaceComparison & { probeIndex: number }> {
    if (probes.length === 0) throw new FaceImageError('KYC_ERR_IMAGE_INVALID', 'probe: at least one frame is needed.', 'probe');
    const local = await this.local.compareBest(reference, probes, opts);
    const answer = await this.ask(reference, probes[local.probeIndex] as Buffer, opts);
    return { ...this.fromAnswer(answer, local.faces), probeIndex: local.probeIndex };
  }

  /** the built-in engine it borrows is closed by its owner (createFaceServices) */
  async close(): Promise<void> {}
}
