/**
 * Dispatch for the ws pool: who computes which task of the step (or
 * evaluation pass) in flight, and what comes back. The pool owns membership
 * (sockets, joins, leaves); this file owns the job, the weights frame, and
 * the rules:
 *   - tasks go out lowest micro-batch first, round-robin, at most
 *     `cluster.tasksInFlight` per worker, each preceded by the weights when
 *     the worker holds another version;
 *   - a result is used only when it answers a task this worker holds, and
 *     passes checkResult; anything else evicts the worker;
 *   - an evicted worker's tasks go back to the queue within the same call,
 *     so the step's math never depends on who computed it;
 *   - once every task of a step is out, each worker is told the examples it
 *     will probably get first in the next step (`prefetch`), so it loads them
 *     after its last task, while the coordinator reduces and updates. A wrong
 *     guess costs nothing but the load.
 */
import { TrainerError } from '../../shared/errors.js';
import type { BatchStats } from '../../worker/gradient.js';
import type { ModelSpec } from '../../worker/model.js';
import { CLOSE, type Message, type Split } from './protocol.js';
import { ArrayFrame } from './encode.js';
import type { MicroBatchResult, ResultListener, StepHooks, WorkerStats } from '../pool.js';
import type { WorkerConn } from './connection.js';
import { checkResult, createJob, type Job, type ResultMessage, type Task } from './job.js';
import type { PoolEvent } from './pool-types.js';

/** A worker taking part in dispatch. */
export interface Member {
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

export function newMember(conn: WorkerConn): Member {
  return {
    conn,
    inflight: new Map(),
    version: -1,
    progressMs: performance.now(),
    lastResultMs: null,
    stats: { worker: workerLabel(conn), backend: conn.backend, microBatches: 0, examples: 0, computeMs: 0 },
  };
}

/** How a worker is named in statistics, the dashboard and the report: id, name, and its threads when several. */
export function workerLabel(conn: WorkerConn): string {
  return `${conn.id} ${conn.name}${conn.threads > 1 ? ` (${conn.threads} threads)` : ''}`;
}

export interface DispatchOptions {
  model: ModelSpec;
  /** Tasks sent ahead to one worker (cluster.tasksInFlight), per compute thread of the worker. */
  tasksInFlight: number;
  noWorkerTimeoutMs: number;
  /** The workers taking part, in the order they joined. */
  members: ReadonlyMap<WorkerConn, Member>;
  /** Turns ready joiners into members (at the start of a job, and when nobody is left). */
  admitJoiners: () => void;
  log: (line: string) => void;
  onEvent?: (e: PoolEvent) => void;
  signal?: AbortSignal;
}

export class Dispatcher {
  private version = -1;
  /** The weights of `version`, as the frame every worker gets; rewritten in place by publish. */
  private readonly weightsFrame: ArrayFrame;
  private frame: Uint8Array | null = null;
  /** Connections handed `frame`: it is rewritten in place only once none of them still holds unsent bytes. */
  private readonly frameHolders = new Set<WorkerConn>();
  private job: Job | null = null;
  private nextTaskId = 1;
  private resultListener: ResultListener | null = null;
  /** The next step's micro-batches, to announce once the step in flight has no task left to give. */
  private hint: { step: number; next: readonly Int32Array[] } | null = null;

  constructor(private readonly o: DispatchOptions) {
    this.weightsFrame = new ArrayFrame('weights', o.model.size);
  }

  publish(version: number, weights: Float32Array): void {
    const reuse = [...this.frameHolders].every((conn) => conn.pendingBytes === 0);
    this.frameHolders.clear();
    this.weightsFrame.floats(reuse).set(weights);
    this.frame = this.weightsFrame.finish({ type: 'weights', version });
    this.version = version;
  }

  async runStep(step: number, microBatches: readonly Int32Array[], hooks: StepHooks): Promise<MicroBatchResult[]> {
    this.resultListener = hooks.onResult;
    try {
      this.hint = hooks.next ? { step: step + 1, next: hooks.next } : null;
      return (await this.run('grad', step, step, 'train', microBatches)) as MicroBatchResult[];
    } finally {
      this.resultListener = null;
      this.hint = null;
    }
  }

  async evaluate(version: number, split: Split, chunks: readonly Int32Array[]): Promise<BatchStats[]> {
    return (await this.run('eval', -1, version, split, chunks)) as BatchStats[];
  }

  /** Ends the job in flight, if any. */
  fail(err: Error): void {
    this.job?.reject(err);
  }

  /** A member left: its tasks go back to the queue, lowest index first, and on to whoever is left. */
  requeue(member: Member): void {
    const job = this.job;
    if (job && member.inflight.size > 0) {
      job.queue.push(...member.inflight.values());
      job.queue.sort((a, b) => a.index - b.index);
    }
    member.inflight.clear();
    if (!job) return;
    if (this.o.members.size === 0) this.o.admitJoiners();
    this.pump();
  }

  /** A worker became ready: with nobody left to compute the job in flight, it takes over now. */
  joined(): void {
    if (this.job && this.o.members.size === 0) {
      this.o.admitJoiners();
      this.pump();
    }
  }

  /** On the pool's timer: a job that has waited for a worker longer than cluster.noWorkerTimeoutMs fails. */
  tick(now: number): void {
    const job = this.job;
    const limitMs = this.o.noWorkerTimeoutMs;
    if (job && job.waitingSinceMs !== null && now - job.waitingSinceMs > limitMs) {
      job.reject(new TrainerError('E_NO_WORKERS', `no worker joined within cluster.noWorkerTimeoutMs (${limitMs} ms)`));
    }
  }

  private run(kind: Job['kind'], step: number, version: number, split: Split, parts: readonly Int32Array[]) {
    if (this.job) throw new TrainerError('E_INTERNAL', 'ws pool: one step or evaluation at a time');
    if (version !== this.version) throw new TrainerError('E_INTERNAL', `weights version ${version} asked for, ${this.version} published`);
    this.o.admitJoiners();
    const { job, done } = createJob(kind, step, version, split, parts, () => this.nextTaskId++ >>> 0, () => (this.job = null));
    this.job = job;
    if (job.remaining === 0) job.resolve();
    else this.pump();
    return done;
  }

  /** Gives queued tasks to workers with room, lowest index first. */
  pump(): void {
    const job = this.job;
    if (!job) return;
    const members = this.o.members;
    if (members.size === 0) {
      if (this.o.signal?.aborted) return job.reject(new TrainerError('E_NO_WORKERS', 'stopped while waiting for a worker to join'));
      if (job.waitingSinceMs === null && job.queue.length > 0) {
        job.waitingSinceMs = performance.now();
        this.o.log(`no workers: waiting up to ${this.o.noWorkerTimeoutMs / 1000} s for one to join`);
      }
      return;
    }
    if (job.waitingSinceMs !== null) {
      job.waitingSinceMs = null;
      this.o.log(`continuing with ${members.size} worker(s)`);
    }
    // Round-robin, one task per worker per pass, so a step spreads over everyone.
    for (let given = true; given && job.queue.length > 0; ) {
      given = false;
      for (const member of members.values()) {
        if (job.queue.length === 0) break;
        if (member.inflight.size >= this.o.tasksInFlight * member.conn.threads || member.conn.state !== 'ready') continue;
        this.send(member, job, job.queue.shift() as Task);
        given = true;
      }
    }
    // After its last task of the step, never before: a worker loads a hint as soon as it is idle.
    if (job.queue.length === 0 && this.hint) {
      this.prefetch(this.hint.step, this.hint.next);
      this.hint = null;
    }
  }

  /**
   * Tells each worker the first micro-batch the next step's pump would give
   * it, were membership unchanged: the same round-robin over the same members.
   */
  private prefetch(step: number, next: readonly Int32Array[]): void {
    const members = [...this.o.members.values()].filter((m) => m.conn.state === 'ready');
    for (let i = 0; i < Math.min(members.length, next.length); i++) {
      const indices = next[i] as Int32Array;
      if (indices.length > 0) (members[i] as Member).conn.send({ type: 'prefetch', step, indices });
    }
  }

  private send(member: Member, job: Job, task: Task): void {
    if (member.version !== job.version) {
      member.conn.sendFrame(this.frame as Uint8Array);
      this.frameHolders.add(member.conn);
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

  onResult(member: Member, m: ResultMessage): void {
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
    // The first result of a task is the one used (results are bit-identical whoever computes them).
    if (job.results[task.index] !== undefined) return this.pump();
    job.results[task.index] = checked.ok;
    if (job.kind === 'grad') this.resultListener?.(task.index, checked.ok as MicroBatchResult);
    if (--job.remaining === 0) return job.resolve();
    this.pump();
  }
}
