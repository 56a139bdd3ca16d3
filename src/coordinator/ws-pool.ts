/**
 * A WorkerPool of WebSocket workers (remote machines, or local child
 * processes): membership, dispatch, deadlines and reassignment.
 *
 * The math never depends on who computes: a task is (step, version, indices),
 * results land in the slot of their micro-batch and go back to the loop in
 * micro-batch order. A worker that closes, stays silent, overruns
 * stepTimeoutMs or sends a result that does not fit its task is evicted and
 * its tasks go back to the queue within the same call. A worker that becomes
 * ready mid-call is admitted at the next call (immediately if nobody is left).
 */
import { randomBytes } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { Config } from '../shared/config.js';
import type { LoadedData } from '../shared/data/dataset.js';
import type { Normalization } from '../shared/data/normalize.js';
import { TrainerError } from '../shared/errors.js';
import type { BatchStats } from '../shared/gradient.js';
import type { ModelSpec } from '../shared/model.js';
import { CLOSE, FRAME_OVERHEAD_BYTES, encodeMessage, type Message, type MessageOf, type Split } from '../shared/protocol.js';
import { datasetBlob, sha256Hex } from '../shared/wire-dataset.js';
import type { MicroBatchResult, WorkerPool, WorkerStats } from './pool.js';
import { WorkerConn, type ConnHost, type ConnLimits } from './ws-connection.js';
import { listen, type Listening } from './ws-server.js';

export interface WsPoolOptions {
  config: Config;
  model: ModelSpec;
  data: LoadedData;
  normalization: Normalization;
  log: (line: string) => void;
  /** The shared secret (already resolved from cluster.token / TRAINER_TOKEN); null on loopback only. */
  token: string | null;
  /** Frames per second one worker may send; default 1000. */
  maxMessagesPerSec?: number;
  /** Unread bytes queued to one worker before it is dropped; default 4 weights frames + 2 data chunks. */
  maxPendingBytes?: number;
  /** Dataset chunk size on the wire; default 1 MiB. */
  dataChunkBytes?: number;
  /** Tasks sent ahead to one worker (hides the round trip); default 2. */
  tasksInFlight?: number;
  /** Observer for tests and metrics. */
  onEvent?: (e: PoolEvent) => void;
  /** Runs after the pool closed (e.g. reaps local worker processes). */
  onClose?: () => Promise<void>;
}

export type PoolEvent =
  | { kind: 'ready'; worker: string; name: string }
  | { kind: 'task'; worker: string; step: number; index: number }
  | { kind: 'evicted'; worker: string; code: number; reason: string };

interface Task {
  id: number;
  index: number;
  indices: Int32Array;
}

interface Job {
  kind: 'grad' | 'eval';
  step: number;
  version: number;
  split: Split;
  queue: Task[];
  results: (MicroBatchResult | BatchStats | undefined)[];
  remaining: number;
  /** When the pool ran out of workers during this job (performance.now()), else null. */
  waitingSinceMs: number | null;
  resolve(): void;
  reject(err: Error): void;
}

interface Member {
  conn: WorkerConn;
  inflight: Map<number, Task>;
  /** Weights version this worker holds. */
  version: number;
  /** Last time it was given work while idle or returned a result. */
  progressMs: number;
  stats: WorkerStats;
}

export class WsPool implements WorkerPool, ConnHost {
  readonly token: string | null;
  readonly limits: ConnLimits;
  private readonly members = new Map<WorkerConn, Member>();
  /** Ready workers not yet taking part (they join at the next call). */
  private readonly joiners: WorkerConn[] = [];
  private readonly conns = new Set<WorkerConn>();
  private readonly blob: Buffer;
  private readonly welcomeMsg: ReturnType<ConnHost['welcome']>;
  private readonly chunkBytes: number;
  private readonly depth: number;
  private weights: Float32Array;
  private version = -1;
  private weightsFrame: { version: number; frame: Uint8Array } | null = null;
  private job: Job | null = null;
  private nextTaskId = 1;
  private nextConnId = 1;
  private readonly timer: NodeJS.Timeout;
  private readonly readyWaiters: (() => void)[] = [];
  private closing = false;
  private readonly cluster: Config['cluster'];
  /** Totals, for bytes-per-step figures. */
  bytesIn = 0;
  bytesOut = 0;

  private constructor(
    private readonly o: WsPoolOptions,
    readonly listening: Listening,
  ) {
    this.cluster = o.config.cluster;
    this.token = o.token;
    this.weights = new Float32Array(o.model.size);
    this.blob = datasetBlob(o.data);
    this.chunkBytes = o.dataChunkBytes ?? 1 << 20;
    this.depth = o.tasksInFlight ?? 2;
    const weightsFrameBytes = o.model.size * 4 + FRAME_OVERHEAD_BYTES;
    this.limits = {
      handshakeTimeoutMs: this.cluster.handshakeTimeoutMs,
      maxMessagesPerSec: o.maxMessagesPerSec ?? 1000,
      maxPendingBytes: o.maxPendingBytes ?? 4 * weightsFrameBytes + 2 * (this.chunkBytes + FRAME_OVERHEAD_BYTES),
    };
    const maxBatch = Math.max(Math.ceil(o.config.train.batchSize / o.config.train.microBatches), o.config.eval.batchSize);
    this.welcomeMsg = {
      model: o.model.name,
      modelSize: o.model.size,
      mean: [...o.normalization.mean],
      std: [...o.normalization.std],
      backend: o.config.backend,
      maxBatch,
      heartbeatMs: this.cluster.heartbeatMs,
      dataset: {
        sha256: sha256Hex(this.blob),
        bytes: this.blob.length,
        trainCount: o.data.train.count,
        valCount: o.data.val.count,
        chunks: Math.ceil(this.blob.length / this.chunkBytes),
      },
    };
    listening.wss.on('connection', (ws: WebSocket) => this.accept(ws));
    const c = this.cluster;
    const tick = Math.max(10, Math.min(1000, c.heartbeatMs, c.stepTimeoutMs, c.noWorkerTimeoutMs, c.handshakeTimeoutMs) / 4);
    this.timer = setInterval(() => this.onTick(), tick);
  }

  /** Largest frame a worker legitimately sends: a gradient. */
  static maxPayloadFor(model: ModelSpec, configured: number): number {
    return configured > 0 ? configured : model.size * 4 + FRAME_OVERHEAD_BYTES;
  }

  static async start(o: WsPoolOptions, host: string, port: number): Promise<WsPool> {
    const l = await listen({
      host,
      port,
      maxPayloadBytes: WsPool.maxPayloadFor(o.model, o.config.cluster.maxPayloadBytes),
      tls: o.config.cluster.tls,
    });
    return new WsPool(o, l);
  }

  get size(): number {
    return this.members.size + this.joiners.length;
  }

  /** Resolves once `n` workers are ready. */
  async waitForWorkers(n: number, signal?: AbortSignal): Promise<void> {
    while (this.size < n) {
      if (signal?.aborted) throw new TrainerError('E_NO_WORKERS', `stopped while waiting for ${n} workers (${this.size} ready)`);
      await new Promise<void>((resolve) => {
        this.readyWaiters.push(resolve);
        signal?.addEventListener('abort', () => resolve(), { once: true });
      });
    }
  }

  // ------------------------------------------------------------ ConnHost

  welcome() {
    return this.welcomeMsg;
  }

  datasetChunk(index: number): Uint8Array {
    return this.blob.subarray(index * this.chunkBytes, Math.min(this.blob.length, (index + 1) * this.chunkBytes));
  }

  log(line: string): void {
    this.o.log(line);
  }

  onReady(conn: WorkerConn): void {
    this.o.log(`worker ${conn.id} (${conn.name}, backend ${conn.backend}) ready; ${this.size + 1} workers`);
    if (conn.backend !== this.o.config.backend && this.o.config.backend !== 'auto') {
      this.o.log(`warning: worker ${conn.id} runs backend ${conn.backend}, the run asks for ${this.o.config.backend}: results are bit-exact only within one backend`);
    }
    this.o.onEvent?.({ kind: 'ready', worker: conn.id, name: conn.name });
    this.joiners.push(conn);
    for (const w of this.readyWaiters.splice(0)) w();
    if (this.job && this.members.size === 0) {
      this.admitJoiners();
      this.pump();
    }
  }

  onMessage(conn: WorkerConn, m: Message): void {
    const member = this.members.get(conn);
    if (m.type === 'pong') return;
    if (!member) return conn.close(CLOSE.protocolError, `${m.type} before any task`);
    switch (m.type) {
      case 'gradient':
      case 'evalResult':
        return this.onResult(member, m);
      default:
        return conn.close(CLOSE.protocolError, `unexpected ${m.type}`);
    }
  }

  onClosed(conn: WorkerConn, code: number, reason: string): void {
    this.conns.delete(conn);
    this.bytesIn += conn.bytesIn;
    this.bytesOut += conn.bytesOut;
    const i = this.joiners.indexOf(conn);
    if (i >= 0) this.joiners.splice(i, 1);
    const member = this.members.get(conn);
    if (member || i >= 0) this.o.log(`worker ${conn.id} (${conn.name}) gone (${code} ${reason}); ${this.size - (member ? 1 : 0)} workers left`);
    this.o.onEvent?.({ kind: 'evicted', worker: conn.id, code, reason });
    if (!member) return;
    this.members.delete(conn);
    const job = this.job;
    if (job && member.inflight.size > 0) {
      job.queue.push(...member.inflight.values());
      job.queue.sort((a, b) => a.index - b.index);
    }
    member.inflight.clear();
    if (job) {
      if (this.members.size === 0) this.admitJoiners();
      this.pump();
    }
  }

  // ------------------------------------------------------------ WorkerPool

  async publish(version: number, weights: Float32Array): Promise<void> {
    this.weights.set(weights);
    this.version = version;
    this.weightsFrame = null;
  }

  async runStep(step: number, version: number, microBatches: readonly Int32Array[]): Promise<MicroBatchResult[]> {
    const results = await this.run('grad', step, version, 'train', microBatches);
    return results as MicroBatchResult[];
  }

  async evaluate(version: number, split: Split, chunks: readonly Int32Array[]): Promise<BatchStats[]> {
    return (await this.run('eval', -1, version, split, chunks)) as BatchStats[];
  }

  /** Bytes received from and sent to workers so far, closed connections included. */
  wireBytes(): { in: number; out: number } {
    let bytesIn = this.bytesIn;
    let bytesOut = this.bytesOut;
    for (const c of this.conns) {
      bytesIn += c.bytesIn;
      bytesOut += c.bytesOut;
    }
    return { in: bytesIn, out: bytesOut };
  }

  stats(): WorkerStats[] {
    return [...this.members.values()].map((m) => ({ ...m.stats }));
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.timer);
    for (const c of [...this.conns]) {
      c.send({ type: 'leave', reason: 'coordinator done' });
      c.close(CLOSE.shutdown, 'coordinator done');
    }
    // Let the close frames leave before the sockets are cut.
    await new Promise((r) => setTimeout(r, 50));
    await this.listening.close();
    await this.o.onClose?.();
    this.job?.reject(new TrainerError('E_NO_WORKERS', 'pool closed'));
  }

  // ------------------------------------------------------------ scheduling

  private accept(ws: WebSocket): void {
    if (this.closing) return ws.close(CLOSE.shutdown, 'coordinator closing');
    const conn = new WorkerConn(`w${this.nextConnId++}-${randomBytes(2).toString('hex')}`, ws, this);
    this.conns.add(conn);
  }

  private admitJoiners(): void {
    for (const conn of this.joiners.splice(0)) {
      if (conn.state !== 'ready') continue;
      this.members.set(conn, {
        conn,
        inflight: new Map(),
        version: -1,
        progressMs: performance.now(),
        stats: { worker: `${conn.id} ${conn.name}`, microBatches: 0, examples: 0, computeMs: 0 },
      });
    }
  }

  private run(kind: Job['kind'], step: number, version: number, split: Split, parts: readonly Int32Array[]) {
    if (this.job) throw new TrainerError('E_INTERNAL', 'ws pool: one step or evaluation at a time');
    if (version !== this.version) throw new TrainerError('E_INTERNAL', `weights version ${version} asked for, ${this.version} published`);
    if (this.closing) throw new TrainerError('E_NO_WORKERS', 'pool closed');
    this.admitJoiners();
    return new Promise<Job['results']>((resolve, reject) => {
      const job: Job = {
        kind,
        step,
        version,
        split,
        queue: parts.map((indices, index) => ({ id: this.nextTaskId++ >>> 0, index, indices })),
        results: new Array(parts.length).fill(undefined),
        remaining: parts.length,
        waitingSinceMs: null,
        resolve: () => {
          this.job = null;
          resolve(job.results);
        },
        reject: (err) => {
          this.job = null;
          reject(err);
        },
      };
      this.job = job;
      if (job.remaining === 0) return job.resolve();
      this.pump();
    });
  }

  /** Gives queued tasks to workers with room, lowest index first. */
  private pump(): void {
    const job = this.job;
    if (!job) return;
    if (this.members.size === 0) {
      if (job.waitingSinceMs === null && job.queue.length > 0) {
        job.waitingSinceMs = performance.now();
        this.o.log(`no workers: waiting up to ${this.cluster.noWorkerTimeoutMs / 1000} s for one to join`);
      }
      return;
    }
    if (job.waitingSinceMs !== null) {
      job.waitingSinceMs = null;
      this.o.log(`continuing with ${this.members.size} worker(s)`);
    }
    // Round-robin, one task per worker per pass, so a step spreads over everyone.
    for (let given = true; given && job.queue.length > 0; ) {
      given = false;
      for (const member of this.members.values()) {
        if (job.queue.length === 0) break;
        if (member.inflight.size >= this.depth || member.conn.state !== 'ready') continue;
        this.send(member, job, job.queue.shift() as Task);
        given = true;
      }
    }
  }

  private send(member: Member, job: Job, task: Task): void {
    if (member.version !== job.version) {
      if (this.weightsFrame?.version !== this.version) {
        this.weightsFrame = { version: this.version, frame: encodeMessage({ type: 'weights', version: this.version, weights: this.weights }) };
      }
      member.conn.sendFrame(this.weightsFrame.frame);
      member.version = job.version;
    }
    if (member.inflight.size === 0) member.progressMs = performance.now();
    member.inflight.set(task.id, task);
    this.o.onEvent?.({ kind: 'task', worker: member.conn.id, step: job.step, index: task.index });
    const m: Message =
      job.kind === 'grad'
        ? { type: 'task', taskId: task.id, step: job.step, version: job.version, indices: task.indices }
        : { type: 'evalTask', taskId: task.id, version: job.version, split: job.split, indices: task.indices };
    member.conn.send(m);
  }

  private onResult(member: Member, m: MessageOf<'gradient'> | MessageOf<'evalResult'>): void {
    const job = this.job;
    const task = member.inflight.get(m.taskId);
    const evict = (why: string) => member.conn.close(CLOSE.badResult, `E_WORKER_LOST: ${why}`);
    // A result for no task of this worker (a replay, another step, a made-up id) is never used.
    if (!job || !task) return evict(`result for unknown task ${m.taskId}`);
    if (m.version !== job.version) return evict(`result at version ${m.version}, task at ${job.version}`);
    if (m.count !== task.indices.length || m.correct > m.count) return evict('count or correct does not fit the task');
    let result: MicroBatchResult | BatchStats;
    if (m.type === 'gradient') {
      if (job.kind !== 'grad' || m.step !== job.step) return evict(`gradient for step ${m.step}, task of step ${job.step}`);
      const g = m.gradient;
      if (g.length !== this.o.model.size) return evict(`gradient of ${g.length} values, model has ${this.o.model.size}`);
      for (let i = 0; i < g.length; i++) if (!Number.isFinite(g[i] as number)) return evict('gradient holds NaN or Inf');
      result = { lossSum: m.lossSum, correct: m.correct, count: m.count, gradient: g, worker: member.conn.id };
      member.stats.microBatches++;
      member.stats.examples += m.count;
      member.stats.computeMs += m.computeMs;
    } else {
      if (job.kind !== 'eval') return evict('evaluation result during a training step');
      result = { lossSum: m.lossSum, correct: m.correct, count: m.count };
    }
    member.inflight.delete(m.taskId);
    member.progressMs = performance.now();
    job.results[task.index] = result;
    if (--job.remaining === 0) return job.resolve();
    this.pump();
  }

  private onTick(): void {
    const now = performance.now();
    const c = this.cluster;
    for (const conn of this.conns) conn.checkHandshake(now);
    for (const conn of this.conns) {
      if (conn.state !== 'ready') continue;
      const member = this.members.get(conn);
      if (member && member.inflight.size > 0) {
        // A worker computing cannot answer pings (tfjs calls are synchronous): its deadline is the task's.
        if (now - member.progressMs > c.stepTimeoutMs) conn.close(CLOSE.timedOut, `no result within ${c.stepTimeoutMs} ms`);
      } else if (now - conn.lastHeardMs > 3 * c.heartbeatMs) {
        conn.close(CLOSE.timedOut, `silent for ${Math.round(now - conn.lastHeardMs)} ms`);
      } else if (now - conn.lastPingMs >= c.heartbeatMs) {
        conn.lastPingMs = now;
        conn.send({ type: 'ping', seq: conn.pingSeq++ >>> 0 });
      }
    }
    const job = this.job;
    if (job && job.waitingSinceMs !== null && now - job.waitingSinceMs > c.noWorkerTimeoutMs) {
      job.reject(new TrainerError('E_NO_WORKERS', `no worker joined within cluster.noWorkerTimeoutMs (${c.noWorkerTimeoutMs} ms)`));
    }
  }
}
