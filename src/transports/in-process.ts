/**
 * World size 1 (cluster.transport `local`): the coordinator's own thread
 * computes every micro-batch with the same MicroBatchComputer the workers
 * use. The reference path that every other pool must match bit for bit.
 */
import type { LoadedData } from '../data/dataset.js';
import type { Normalization } from '../data/normalize.js';
import { backendLine, gpuMicroBatchNote, selectBackend } from '../worker/backend.js';
import { MicroBatchComputer, type BatchStats } from '../worker/gradient.js';
import type { ModelSpec } from '../worker/model.js';
import { refuseOversizeTasks } from '../worker/webgpu-errors.js';
import { maxTaskBatch, type MicroBatchResult, type PoolFactory, type StepHooks, type WorkerPool, type WorkerStats } from './pool.js';

export class InProcessPool implements WorkerPool {
  readonly size = 1;
  readonly sharesCores = true;
  private readonly computer: MicroBatchComputer;
  private weights: Float32Array;
  private version = -1;
  private slots: Float32Array[] = [];
  private readonly counters: WorkerStats;

  constructor(
    model: ModelSpec,
    norm: Normalization,
    private readonly data: LoadedData,
    maxMicroBatch: number,
    backendKind: string,
  ) {
    this.counters = { worker: 'local', backend: backendKind, threads: 1, microBatches: 0, examples: 0, computeMs: 0 };
    this.computer = new MicroBatchComputer(model, norm, maxMicroBatch);
    this.weights = new Float32Array(model.size);
  }

  async publish(version: number, weights: Float32Array): Promise<void> {
    this.weights.set(weights);
    this.version = version;
  }

  private checkVersion(version: number): void {
    if (version !== this.version) throw new Error(`weights version ${version} asked for, ${this.version} published`);
  }

  async runStep(step: number, microBatches: readonly Int32Array[], hooks: StepHooks): Promise<MicroBatchResult[]> {
    // On wasm and cpu the gradients below are computed synchronously, and
    // awaiting a settled promise never leaves the microtask queue: without this
    // turn of the event loop, a whole epoch runs before a Ctrl-C handler (or a
    // dashboard request) gets to run. setImmediate costs a few microseconds a step.
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.checkVersion(step);
    while (this.slots.length < microBatches.length) this.slots.push(new Float32Array(this.weights.length));
    const results: MicroBatchResult[] = [];
    for (const [m, indices] of microBatches.entries()) {
      const t0 = performance.now();
      const gradient = this.slots[m] as Float32Array;
      const stats = await this.computer.gradientAsync(this.weights, this.data.train, indices, gradient);
      this.counters.microBatches++;
      this.counters.examples += indices.length;
      this.counters.computeMs += performance.now() - t0;
      const result = { ...stats, gradient, worker: 'local' };
      hooks.onResult(m, result);
      results.push(result);
    }
    return results;
  }

  async evaluate(version: number, split: 'train' | 'val', chunks: readonly Int32Array[]): Promise<BatchStats[]> {
    this.checkVersion(version);
    const data = split === 'train' ? this.data.train : this.data.val;
    const out: BatchStats[] = [];
    for (const indices of chunks) {
      // As in runStep: a Ctrl-C during a long evaluation is heard (and said) at once.
      await new Promise<void>((resolve) => setImmediate(resolve));
      out.push(await this.computer.evaluateAsync(this.weights, data, indices));
    }
    return out;
  }

  stats(): WorkerStats[] {
    return [{ ...this.counters }];
  }

  async close(): Promise<void> {}
}

export const createInProcessPool: PoolFactory = async ({ config, model, data, normalization, log }) => {
  const b = await selectBackend(config.backend, config.gpu);
  log(backendLine(b));
  const microBatch = Math.ceil(config.train.batchSize / config.train.microBatches);
  const note = b.gpu ? gpuMicroBatchNote(microBatch) : null;
  if (note) log(`note: ${note}`);
  refuseOversizeTasks(model, { microBatch, maxBatch: maxTaskBatch(config) });
  return new InProcessPool(model, normalization, data, maxTaskBatch(config), b.kind);
};
