// A small pool of face-model worker threads. Requests queue and go to the next idle worker; a worker that dies is
// replaced and its request fails (the caller's HTTP request gets a 5xx, never a made-up result).
import { Worker } from 'node:worker_threads';
import { FaceImageError } from './types.js';
import type { WorkerFace, WorkerRequest, WorkerResponse } from './worker-protocol.js';
import { WORKER_SOURCE, workerSetup } from './worker.js';
import { checkStill } from './image.js';

export interface Analysis {
  width: number;
  height: number;
  faces: WorkerFace[];
}

interface Job {
  id: number;
  which: WorkerRequest['which'];
  image: Buffer;
  resolve(a: Analysis): void;
  reject(e: Error): void;
}

interface Slot {
  worker: Worker;
  ready: Promise<{ loadMs: number; version: string }>;
  job: Job | null;
}

// Under tsx (tests, benchmarks) this module is TypeScript and so is its worker; built, both are .js.
export class FaceModelPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly size: number,
    private readonly modelDir: string | null,
  ) {}

  /** whether the workers were started (they start on first use, so an appliance that never compares loads nothing) */
  get started(): boolean {
    return this.slots.length > 0;
  }

  private start(): void {
    if (this.started || this.closed) return;
    for (let i = 0; i < this.size; i++) this.slots.push(this.spawn());
  }

  /** Starts the workers if needed; resolves when every one has loaded the models: the slowest load time and the version. */
  async ready(): Promise<{ loadMs: number; version: string }> {
    this.start();
    const all = await Promise.all(this.slots.map((s) => s.ready));
    return { loadMs: Math.max(...all.map((r) => r.loadMs)), version: all[0]?.version ?? 'unknown' };
  }

  analyze(image: Buffer, which: WorkerRequest['which']): Promise<Analysis> {
    if (this.closed) return Promise.reject(new Error('face engine closed'));
    try {
      checkStill(image, which);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    this.start();
    return new Promise<Analysis>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, which, image, resolve, reject });
      this.pump();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new Error('face engine closed'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: workerSetup(this.modelDir) });
    worker.unref();
    const slot: Slot = { worker, job: null, ready: Promise.resolve({ loadMs: 0, version: '' }) };
    slot.ready = new Promise((resolve, reject) => {
      worker.on('message', (msg: WorkerResponse) => {
        if (msg.kind === 'ready') {
          resolve({ loadMs: msg.loadMs, version: msg.version });
          this.pump();
          return;
        }
        if (msg.kind === 'failed') {
          reject(new Error(`face model failed to load: ${msg.message}`));
          return;
        }
        const job = slot.job;
        if (!job || job.id !== msg.id) return;
        slot.job = null;
        if (msg.kind === 'result') job.resolve({ width: msg.width, height: msg.height, faces: msg.faces });
        else if (msg.code) job.reject(new FaceImageError(msg.code, msg.message, job.which));
        else job.reject(new Error(`face analysis failed: ${msg.message}`));
        this.pump();
      });
      worker.on('error', (err) => {
        reject(err);
        slot.job?.reject(new Error(`face worker failed: ${err.message}`));
        slot.job = null;
      });
      worker.on('exit', () => {
        if (this.closed) return;
        const i = this.slots.indexOf(slot);
        if (i >= 0) this.slots[i] = this.spawn();
        slot.job?.reject(new Error('face worker exited'));
        slot.job = null;
      });
    });
    slot.ready.catch(() => undefined);
    return slot;
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.job) continue;
      const job = this.queue.shift() as Job;
      slot.job = job;
      slot.ready.then(
        () => {
          const copy = new Uint8Array(job.image);
          slot.worker.postMessage({ id: job.id, which: job.which, image: copy } satisfies WorkerRequest, [copy.buffer]);
        },
        (err: Error) => {
          slot.job = null;
          job.reject(err);
        },
      );
    }
  }
}
