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
import type { IncomingMessage } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { Config } from '../shared/config.js';
import { TrainerError } from '../shared/errors.js';
import type { BatchStats } from '../shared/gradient.js';
import type { ModelSpec } from '../shared/model.js';
import { CLOSE, FRAME_OVERHEAD_BYTES, type Message, type Split } from '../shared/protocol.js';
import { encodeMessage } from '../shared/protocol-encode.js';
import type { MicroBatchResult, ResultListener, WorkerPool, WorkerStats } from './pool.js';
import { WorkerConn, type ConnHost, type ConnLimits, type Welcome } from './ws-connection.js';
import { checkResult, createJob, type Job, type ResultMessage, type Task } from './ws-job.js';
import { JoinOffer } from './ws-offer.js';
import type { WorkerInfo, WsPoolOptions } from './ws-pool-types.js';
import { listen, type Listening } from './ws-server.js';

export type { PoolEvent, WorkerInfo, WsPoolOptions } from './ws-pool-types.js';

interface Member {
  conn: WorkerConn;
  inflight: Map<number, Task>;
  /** Weights version this worker holds. */
  version: number;
  /** Last time it was given work while idle or returned a result. */
  progressMs: number;
  /** performance.now() of its last result, or null. */
  lastResultMs: number | null;
  stats: WorkerStats;
}

export class WsPool implements WorkerPool, ConnHost {
  readonly token: string | null;
  readonly limits: ConnLimits;
  private readonly members = new Map<WorkerConn, Member>();
  /** Ready workers not yet taking part (they join at the next call). */
  private readonly joiners: WorkerConn[] = [];
  private readonly conns = new Set<WorkerConn>();
  private readonly offer: JoinOffer;
  /** Tasks sent ahead to one worker (cluster.tasksInFlight). */
  private readonly depth: number;
  private weights: Float32Array;
  private version = -1;
  private weightsFrame: { version: number; frame: Uint8Array } | null = null;
  private job: Job | null = null;
  private nextTaskId = 1;
  private resultListener: ResultListener | null = null;
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
    this.offer = new JoinOffer(o.config, o.model, o.data, o.normalization);
    this.limits = this.offer.limits;
    this.depth = this.cluster.tasksInFlight;
    listening.wss.on('connection', (ws: WebSocket, req: IncomingMessage) => this.accept(ws, req));
    o.signal?.addEventListener('abort', () => this.pump(), { once: true });
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
      ...(o.onRequest ? { onRequest: o.onRequest } : {}),
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

  welcome(): Welcome {
    return this.offer.welcome;
  }

  datasetChunk(index: number): Uint8Array {
    return this.offer.datasetChunk(index);
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

  async runStep(step: number, version: number, microBatches: readonly Int32Array[], onResult?: ResultListener): Promise<MicroBatchResult[]> {
    this.resultListener = onResult ?? null;
    try {
      const results = await this.run('grad', step, version, 'train', microBatches);
      return results as MicroBatchResult[];
    } finally {
      this.resultListener = null;
    }
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

  /** Every ready worker, taking part or about to: for the dashboard. */
  workerInfo(): WorkerInfo[] {
    const now = performance.now();
    const info = (conn: WorkerConn, m: Member | undefined): WorkerInfo => ({
      ...(m ? m.stats : { worker: `${conn.id} ${conn.name}`, microBatches: 0, examples: 0, computeMs: 0 }),
      address: conn.address,
      backend: conn.backend,
      inflight: m ? m.inflight.size : 0,
      lastResultMsAgo: m && m.lastResultMs !== null ? Math.round(now - m.lastResultMs) : null,
      lastHeardMsAgo: Math.round(now - conn.lastHeardMs),
    });
    return [
      ...[...this.members.values()].map((m) => info(m.conn, m)),
      ...this.joiners.filter((c) => c.state === 'ready').map((c) => info(c, undefined)),
    ];
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.timer);
    for (const c of [...this.conns]) {
      // Nothing but the challenge goes to a peer that has not proved the token.
      if (c.state !== 'auth') c.send({ type: 'leave', reason: 'coordinator done' });
      c.close(CLOSE.shutdown, 'coordinator done');
    }
    // Let the close frames leave before the sockets are cut.
    await new Promise((r) => setTimeout(r, 50));
    await this.listening.close();
    await this.o.onClose?.();
    this.job?.reject(new TrainerError('E_NO_WORKERS', 'pool closed'));
  }

  // ------------------------------------------------------------ scheduling

  private accept(ws: WebSocket, req: IncomingMessage): void {
    if (this.closing) return ws.close(CLOSE.shutdown, 'coordinator closing');
    const { remoteAddress, remotePort } = req.socket;
    const address = remoteAddress?.includes(':') ? `[${remoteAddress}]:${remotePort}` : `${remoteAddress ?? '?'}:${remotePort ?? '?'}`;
    const conn = new WorkerConn(`w${this.nextConnId++}-${randomBytes(2).toString('hex')}`, address, ws, this);
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
        lastResultMs: null,
        stats: { worker: `${conn.id} ${conn.name}`, microBatches: 0, examples: 0, computeMs: 0 },
      });
    }
  }

  private run(kind: Job['kind'], step: number, version: number, split: Split, parts: readonly Int32Array[]) {
    if (this.job) throw new TrainerError('E_INTERNAL', 'ws pool: one step or evaluation at a time');
    if (version !== this.version) throw new TrainerError('E_INTERNAL', `weights version ${version} asked for, ${this.version} published`);
    if (this.closing) throw new TrainerError('E_NO_WORKERS', 'pool closed');
    this.admitJoiners();
    const { job, done } = createJob(kind, step, version, split, parts, () => this.nextTaskId++ >>> 0, () => (this.job = null));
    this.job = job;
    if (job.remaining === 0) job.resolve();
    else this.pump();
    return done;
  }

  /** Gives queued tasks to workers with room, lowest index first. */
  private pump(): void {
    const job = this.job;
    if (!job) return;
    if (this.members.size === 0) {
      if (this.o.signal?.aborted) return job.reject(new TrainerError('E_NO_WORKERS', 'stopped while waiting for a worker to join'));
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
    task.sentMs = performance.now();
    this.o.onEvent?.({ kind: 'task', worker: member.conn.id, step: job.step, index: task.index });
    const m: Message =
      job.kind === 'grad'
        ? { type: 'task', taskId: task.id, step: job.step, version: job.version, indices: task.indices }
        : { type: 'evalTask', taskId: task.id, version: job.version, split: job.split, indices: task.indices };
    member.conn.send(m);
  }

  private onResult(member: Member, m: ResultMessage): void {
    const job = this.job;
    const task = member.inflight.get(m.taskId);
    const evict = (why: string) => member.conn.close(CLOSE.badResult, `E_WORKER_LOST: ${why}`);
    // A result for no task of this worker (a replay, another step, a made-up id) is never used.
    if (!job || !task) return evict(`result for unknown task ${m.taskId}`);
    const checked = checkResult(job, task, m, this.o.model.size, member.conn.id);
    if ('refused' in checked) return evict(checked.refused);
    if (m.type === 'gradient') {
      member.stats.microBatches++;
      member.stats.examples += m.count;
      member.stats.computeMs += m.computeMs;
    }
    member.inflight.delete(m.taskId);
    member.progressMs = member.lastResultMs = performance.now();
    if (m.type === 'gradient' && task.sentMs !== undefined) {
      const sentMs = task.sentMs;
      const receivedMs = member.lastResultMs;
      const startMs = sentMs + Math.max(0, receivedMs - sentMs - m.computeMs) / 2;
      (checked.ok as MicroBatchResult).timing = { sentMs, startMs, endMs: Math.min(receivedMs, startMs + m.computeMs), receivedMs };
    }
    const first = job.results[task.index] === undefined;
    job.results[task.index] = checked.ok;
    if (first && job.kind === 'grad') this.resultListener?.(task.index, checked.ok as MicroBatchResult);
    if (--job.remaining === 0) return job.resolve();
    this.pump();
  }

  private onTick(): void {
    const now = performance.now();
    for (const conn of this.conns) {
      const member = this.members.get(conn);
      conn.tick(now, member && member.inflight.size > 0 ? member.progressMs : null);
    }
    const job = this.job;
    const limitMs = this.cluster.noWorkerTimeoutMs;
    if (job && job.waitingSinceMs !== null && now - job.waitingSinceMs > limitMs) {
      job.reject(new TrainerError('E_NO_WORKERS', `no worker joined within cluster.noWorkerTimeoutMs (${limitMs} ms)`));
    }
  }
}
