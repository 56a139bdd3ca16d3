/**
 * What a worker process keeps across its connections (worker.ts): the
 * backend, the dataset (from the cache or the wire), the MicroBatchComputer
 * (or, with --threads N, the compute threads) for the run its welcome named,
 * and the gradient frame it computes into. A session (worker-session.ts)
 * asks it to prepare, to hold a dataset, and to compute tasks.
 */
import type { Normalization } from '../../data/normalize.js';
import type { BackendName } from '../../shared/config.js';
import { TrainerError } from '../../shared/errors.js';
import { plural } from '../../shared/plural.js';
import { backendLine, checkGpuBackends, checkWebGpuForThreads, gpuMicroBatchNote, selectBackend, type SelectedBackend } from '../../worker/backend.js';
import { MicroBatchComputer, type BatchStats } from '../../worker/gradient.js';
import { getModel, type ModelSpec } from '../../worker/model.js';
import { microBatchSizes, warmUp } from '../../worker/warm-up.js';
import { ThreadEngine } from '../threads/engine.js';
import { readCachedBlob, writeCachedBlob } from './dataset-cache.js';
import { ArrayFrame, encodeMessage } from './encode.js';
import { LARGE_FRAME_BYTES, tuneHeapGrowthForStreaming } from './heap-growth.js';
import type { MessageOf } from './protocol.js';
import { datasetProof, parseDatasetBlob, type WireDatasets } from './wire-dataset.js';

export interface ComputeOptions {
  /** Backend to compute on; undefined takes the run's (from the coordinator). */
  backend?: BackendName;
  gpu: number | null;
  /** Compute threads behind this one connection (`--threads N`); 1 computes in this thread. */
  threads: number;
  cacheDir: string;
  log: (line: string) => void;
}

export type WorkTask = MessageOf<'task'> | MessageOf<'evalTask'>;

/** The run a worker prepares for: what its welcome said. */
interface RunSpec {
  key: string;
  model: ModelSpec;
  norm: Normalization;
  backend: BackendName;
  maxBatch: number;
  /** The training micro-batch size, to warm up with. */
  microBatch: number;
}

export class WorkerCompute {
  private backend: SelectedBackend | null = null;
  private data: { sha256: string; blob: Uint8Array; sets: WireDatasets } | null = null;
  private run: RunSpec | null = null;
  /** With one thread: this thread's computer. */
  private computer: MicroBatchComputer | null = null;
  /** With several: the threads, for the run and dataset they were started for. */
  private engine: { engine: ThreadEngine; key: string } | null = null;
  /** Threads being started: a session that dropped meanwhile and came back waits for them (it started a second set). */
  private engineStart: { key: string; started: Promise<void> } | null = null;
  /** The run key and dataset this thread's computer has warmed up on. */
  private warmedUp = '';
  /** The gradient frame: computed into in place, its buffer reused once the socket has sent the last one. */
  private gradientFrame: ArrayFrame | null = null;

  constructor(private readonly o: ComputeOptions) {}

  /** The backend in use, once a welcome has been prepared for. */
  get backendName(): string {
    return this.backend?.name ?? this.engine?.engine.backendKind.split(' ')[0] ?? '?';
  }

  /** What the coordinator compares for parity: the backend and, on a GPU, the device (at most 64 characters). */
  get backendKind(): string {
    return (this.engine?.engine.backendKind ?? this.backend?.kind ?? '?').slice(0, 64);
  }

  /** Tasks computed at once. */
  get parallelism(): number {
    return this.engine?.engine.threads ?? 1;
  }

  /** Backend (once, in this thread when it computes here), computer for the run's model and normalisation, dataset from the cache. */
  async prepare(w: MessageOf<'welcome'>): Promise<void> {
    const key = JSON.stringify([w.model, w.mean, w.std, w.maxBatch, w.microBatch, w.backend]);
    if (this.run?.key !== key) {
      const model = getModel(w.model);
      if (model.size !== w.modelSize) throw new TrainerError('E_PROTOCOL', `model ${w.model} has ${model.size} parameters here, ${w.modelSize} at the coordinator`);
      if (model.size * 4 >= LARGE_FRAME_BYTES) tuneHeapGrowthForStreaming();
      this.run = { key, model, norm: { mean: w.mean, std: w.std }, backend: this.o.backend ?? w.backend, maxBatch: w.maxBatch, microBatch: w.microBatch };
      this.computer = null;
    }
    if (this.o.threads === 1) {
      if (!this.backend) await this.loadBackend(this.run.backend);
      this.computer ??= new MicroBatchComputer(this.run.model, this.run.norm, this.run.maxBatch);
    }
    if (this.data?.sha256 !== w.dataset.sha256) {
      const cached = await readCachedBlob(this.o.cacheDir, w.dataset.sha256);
      if (cached && 'corrupt' in cached) {
        this.o.log(`dataset ${w.dataset.sha256.slice(0, 12)}: the cached copy ${cached.corrupt} does not match its sha256; fetching it again (it replaces the file)`);
      } else if (cached) {
        this.data = { sha256: w.dataset.sha256, blob: cached.blob, sets: parseDatasetBlob(cached.blob) };
        this.o.log(`dataset ${w.dataset.sha256.slice(0, 12)} from the cache`);
      }
    }
  }

  /**
   * A backend given by the worker's own flag (--backend), loaded at start where it computes in this
   * thread: one that cannot load (no libtensorflow, no such GPU) is said before any coordinator is
   * looked for. It was said once a coordinator answered: a worker a scheduler started before its
   * coordinator retried for minutes, then failed in its join. With several threads (each loads its
   * own once welcomed) webgpu is checked as far as it can be without taking a GPU here: Dawn loads,
   * and --gpu N is an adapter it sees. --gpu N without --backend is checked too (checkGpuBackends):
   * whatever GPU backend the run names, one must be able to take GPU N.
   */
  async loadGivenBackend(): Promise<void> {
    if (this.backend) return;
    if (this.o.backend === undefined) {
      if (this.o.gpu !== null) await checkGpuBackends(this.o.gpu);
      return;
    }
    if (this.o.threads === 1) await this.loadBackend(this.o.backend);
    else if (this.o.backend === 'webgpu') await checkWebGpuForThreads(this.o.gpu);
  }

  private async loadBackend(name: BackendName): Promise<void> {
    this.backend = await selectBackend(name, this.o.gpu);
    this.o.log(backendLine(this.backend));
  }

  /** Before saying ready: with several threads, they start (once per run and dataset) and load their backend. */
  async beforeReady(): Promise<void> {
    const { run, data } = this;
    if (!run || !data) return;
    const key = `${run.key} ${data.sha256}`;
    if (this.o.threads === 1) {
      // Once per run and dataset, as the threads do (worker/warm-up.ts): the first epoch at full speed.
      if (this.computer && this.warmedUp !== key) {
        // The run's micro-batch size is known from here on: a GPU given small ones is told once a run.
        const note = this.backend?.gpu ? gpuMicroBatchNote(run.microBatch) : null;
        if (note) this.o.log(`note: ${note}`);
        const t0 = performance.now();
        const cpu0 = process.cpuUsage();
        const n = warmUp(this.computer, data.sets.train, microBatchSizes(run.microBatch, 1, run.maxBatch), run.maxBatch);
        this.warmedUp = key;
        // The process's CPU time beside the wall time: a worker stopped (SIGSTOP, Ctrl-Z, a debugger)
        // or starved by other processes meanwhile said that time as its warm-up's. (Process-wide:
        // V8's compiler threads work for the warm-up too; getrusage, a few microseconds.)
        const { user, system } = process.cpuUsage(cpu0);
        if (n > 0) this.o.log(`warmed up: ${plural(n, 'gradient')} of ${run.microBatch} examples in ${Math.round(performance.now() - t0)} ms (${Math.round((user + system) / 1000)} ms of CPU)`);
      }
      return;
    }
    if (this.engine?.key === key) return;
    if (this.engineStart?.key === key) return this.engineStart.started;
    const started = this.startEngine(key, run, data.sets);
    this.engineStart = { key, started };
    try {
      await started;
    } finally {
      if (this.engineStart?.started === started) this.engineStart = null;
    }
  }

  private async startEngine(key: string, run: RunSpec, sets: WireDatasets): Promise<void> {
    await this.engine?.engine.close();
    this.engine = null;
    const engine = await ThreadEngine.start({ threads: this.o.threads, backend: run.backend, gpu: this.o.gpu, model: run.model, normalization: run.norm, data: sets, maxBatch: run.maxBatch, microBatch: run.microBatch });
    this.engine = { engine, key };
    const cores = engine.cores();
    this.o.log(`${engine.threads} compute threads, backend ${engine.backendKind}${cores.length > 0 ? `, pinned to cores ${cores.join(', ')}` : ''}`);
    const note = engine.onGpu() ? gpuMicroBatchNote(run.microBatch) : null;
    if (note) this.o.log(`note: ${note}`);
  }

  holdsDataset(sha256: string): boolean {
    return this.data?.sha256 === sha256;
  }

  /** Proof of holding the dataset's bytes, for the coordinator's `nonce` (wire-dataset.ts). */
  datasetProof(nonce: Uint8Array): Uint8Array {
    if (!this.data) throw new TrainerError('E_INTERNAL', 'dataset proof asked for before the dataset is held');
    return datasetProof(this.data.blob, nonce);
  }

  /** A dataset received whole and checked: kept, and cached for the next run. */
  async acceptDataset(sha256: string, blob: Buffer): Promise<void> {
    this.data = { sha256, blob, sets: parseDatasetBlob(blob) };
    await writeCachedBlob(this.o.cacheDir, sha256, blob).catch((err: Error) => this.o.log(`cannot cache the dataset: ${err.message}`));
    this.o.log(`dataset ${sha256.slice(0, 12)} received (${blob.length} bytes)`);
  }

  /** How prefetched inputs fared so far, once there is a computer. */
  staging(): { used: number; dropped: number } | null {
    return this.computer ? { ...this.computer.staging } : null;
  }

  /** Loads the examples of a task expected next; a hint only, so a bad one is just dropped (threads load their own). */
  prefetch(indices: Int32Array): void {
    const train = this.data?.sets.train;
    if (!this.computer || !train) return;
    try {
      this.computer.stage(train, indices); // checks the indices; on failure nothing is staged
    } catch (err) {
      this.o.log(`cannot prefetch: ${(err as Error).message}`);
    }
  }

  /**
   * The result frame of a task; `reuse`: the socket holds no unsent bytes, so
   * the last gradient frame's buffer is free. Synchronous on backends that
   * read back synchronously in this thread (the frame leaves at once), a
   * promise on webgpu and with compute threads.
   */
  compute(m: WorkTask, weights: Float32Array, reuse: boolean): Uint8Array | Promise<Uint8Array> {
    const { run, data } = this;
    if (!run || !data) throw new TrainerError('E_PROTOCOL', `task ${m.taskId} before the worker joined`);
    const set = m.type === 'task' || m.split === 'train' ? data.sets.train : data.sets.val;
    for (const i of m.indices) if (i >= set.count) throw new TrainerError('E_PROTOCOL', `index ${i} past the dataset (${set.count})`);
    const t0 = performance.now();
    const engine = this.engine?.engine;
    if (m.type === 'evalTask') {
      const evalFrame = (s: BatchStats) => encodeMessage({ type: 'evalResult', taskId: m.taskId, version: m.version, ...s });
      if (engine) return engine.evaluate(m.version, weights, m.split, m.indices).then(evalFrame);
      const computer = this.computer as MicroBatchComputer;
      return computer.readsBackSync ? evalFrame(computer.evaluate(weights, set, m.indices)) : computer.evaluateAsync(weights, set, m.indices).then(evalFrame);
    }
    // Several tasks compute at once with threads: each result gets a frame of its own.
    if (engine || this.gradientFrame?.length !== run.model.size) this.gradientFrame = new ArrayFrame('gradient', run.model.size);
    const frame = this.gradientFrame;
    const out = frame.floats(reuse && !engine);
    const gradientFrame = (s: BatchStats) => frame.finish({ type: 'gradient', taskId: m.taskId, step: m.step, version: m.version, ...s, computeMs: performance.now() - t0, startedAt: performance.timeOrigin + t0 });
    if (engine) return engine.gradient(m.version, weights, m.indices, out).then(gradientFrame);
    const computer = this.computer as MicroBatchComputer;
    return computer.readsBackSync ? gradientFrame(computer.gradient(weights, set, m.indices, out)) : computer.gradientAsync(weights, set, m.indices, out).then(gradientFrame);
  }

  async close(): Promise<void> {
    await this.engine?.engine.close();
    this.engine = null;
  }
}
