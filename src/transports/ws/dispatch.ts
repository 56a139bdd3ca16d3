/**
 * Dispatch for the ws pool: who computes which part of the step (or
 * evaluation pass) in flight, what comes back, and what is used. The pool
 * owns membership (sockets, joins, leaves); this file owns the job, the
 * weights frame, and the rules:
 *   - parts go out lowest index first, round-robin, at most
 *     `cluster.tasksInFlight` copies per worker, each preceded by the weights
 *     when the worker holds another version; two copies of a part never go
 *     to the same worker;
 *   - a result is considered only when it answers a copy this worker holds
 *     and fits it (job.ts); anything else evicts the worker (4422: a bad
 *     result, which its standing counts, standing.ts);
 *   - results are tallied (tally.ts, by verdict.ts's rules): a part is used
 *     once it has the identical unsuspected results it needs, 1, or 2 for the
 *     fraction `cluster.verify` of parts; a suspect result (not finite, or an
 *     absurd norm) or a disagreement gets another copy computed elsewhere, and
 *     whoever sent a result other than the one used is evicted and refused for
 *     the run. Each part is reported once, when decided, so the reduction
 *     order never depends on who computed what;
 *   - a worker slow with a part (stragglers.ts) has it run again by an idle
 *     worker of the same backend kind, or without verification of any kind
 *     (a run of several kinds mixes their bits already); the first usable
 *     result wins;
 *   - an evicted worker's copies go back to the queue within the same call;
 *   - once every part of a step is out, each worker is told the examples it
 *     will probably get first in the next step (`prefetch`), so it loads them
 *     after its last task, while the coordinator reduces and updates. A wrong
 *     guess costs nothing but the load.
 */
import { randomInt } from 'node:crypto';
import { TrainerError } from '../../shared/errors.js';
import type { BatchStats } from '../../worker/gradient.js';
import type { ModelSpec } from '../../worker/model.js';
import { CLOSE, type Message, type Split } from './protocol.js';
import { ArrayFrame } from './encode.js';
import type { MicroBatchResult, ResultListener, ResultTiming, StepHooks, WorkerStats } from '../pool.js';
import type { WorkerConn } from './connection.js';
import { checkResult, createJob, partName, type Assignment, type Job, type Part, type ResultMessage } from './job.js';
import type { PoolEvent } from './pool-types.js';
import { Stragglers } from './stragglers.js';
import { Tally } from './tally.js';
import { voteOf } from './verdict.js';
import { ThrottledLog } from './throttled-log.js';

/** Workers a part may fail on (each closing with "bad task") before the job fails: the task is at fault. */
const MIN_TASK_FAILURES = 3;

/** A worker taking part in dispatch. */
export interface Member {
  conn: WorkerConn;
  /** Copies it holds, by task id: of the job in flight, or of finished ones it is still computing. */
  inflight: Map<number, Assignment>;
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
    stats: { worker: workerLabel(conn), backend: conn.backend, threads: conn.threads, microBatches: 0, examples: 0, computeMs: 0 },
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
  /** Fraction of parts computed by two workers and compared bit for bit (cluster.verify). */
  verify: number;
  /** A gradient whose norm per example passes this multiple of the other workers' median is suspect (cluster.maxNormRatio). */
  maxNormRatio: number;
  /** Draws which parts are verified: a uniform number in [0, 1); crypto-random unless given (tests). */
  draw?: () => number;
  /** The workers taking part, in the order they joined. */
  members: ReadonlyMap<WorkerConn, Member>;
  /** Turns ready joiners into members (at the start of a job, when nobody is left, or when a part needs another worker or is slow); returns how many. */
  admitJoiners: () => number;
  /** Evicts a worker and refuses its name for the rest of the run. */
  ban: (conn: WorkerConn, reason: string) => void;
  /** The backend kinds of the first two workers that agreed on a verified part (tally.ts). */
  kindsSettled?: (kinds: ReadonlySet<string>) => void;
  log: (line: string) => void;
  onEvent?: (e: PoolEvent) => void;
  signal?: AbortSignal;
}

/** At most one line a minute about slow parts given to a second worker (the first at once). */
const SLOW_COPY_LOG_EVERY_MS = 60_000;

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
  private readonly tally: Tally;
  private readonly stragglers = new Stragglers();
  /**
   * Slow parts given to a second worker, by the worker that was slow: its first said at once, then
   * at most a line a minute with their count. On a busy machine (2 worker processes and the
   * coordinator on 2 cores) contention made ~100 such lines in a 100-epoch run, results unchanged.
   * The count not told yet is told when that worker leaves, or the run ends (end).
   */
  private readonly slowCopies = new Map<WorkerConn, ThrottledLog>();
  private speculation: NodeJS.Timeout | null = null;

  constructor(private readonly o: DispatchOptions) {
    this.weightsFrame = new ArrayFrame('weights', o.model.size);
    this.tally = new Tally({
      verify: o.verify,
      maxNormRatio: o.maxNormRatio,
      workers: () => o.members.keys(),
      ban: o.ban,
      ...(o.kindsSettled ? { kindsSettled: o.kindsSettled } : {}),
      log: o.log,
      onUse: (job, part, result) => {
        job.results[part.index] = result;
        if (job.kind === 'grad') this.resultListener?.(part.index, result as MicroBatchResult);
        if (--job.remaining === 0) job.resolve();
      },
    });
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
      const results = (await this.run('grad', step, step, 'train', microBatches)) as MicroBatchResult[];
      this.tally.stepDone();
      return results;
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

  /** The training is over, or the pool closes: what the log has not told yet is told. */
  end(): void {
    for (const log of this.slowCopies.values()) log.flush();
    this.slowCopies.clear();
  }

  /**
   * `conn` leaves: the lines held back about it are told now, before the pool's line saying it is
   * gone (told after it, they read as if it were still in the run).
   */
  tellHeldLines(conn: WorkerConn): void {
    this.slowCopies.get(conn)?.flush();
    this.slowCopies.delete(conn);
  }

  /**
   * A member left: its copies go back to the queue where their parts still want them, and on to
   * whoever is left. `peerReason`: why the worker closed, when it did ("bad task ID: why" from one
   * that could not compute task ID). A part that workers cannot compute ends the job: it is the
   * task, not the workers (an evaluation chunk too big for wasm made every worker close, reconnect
   * and fail again, at full CPU, for ever). That is so once it failed MIN_TASK_FAILURES times and
   * every worker present is one that failed on it (by identity: a worker that reconnected failed
   * already; one worker alone counts each time): the worker's word is its own, and three token
   * holders saying "bad task" stopped a run whose honest worker was there to compute it.
   */
  requeue(member: Member, peerReason: string | null = null): void {
    this.tellHeldLines(member.conn);
    const job = this.job;
    const bad = peerReason === null ? null : /^bad task (\d+): (.*)$/s.exec(peerReason);
    // A worker ready meanwhile is present too, and may compute the part: "every worker present
    // failed on it" counted members only, and held true once the last of them (one token holder's
    // connections) had left.
    if (bad) this.o.admitJoiners();
    let failed: { part: Part; why: string } | null = null;
    for (const a of member.inflight.values()) {
      a.part.running--;
      if (bad && a.id === Number(bad[1])) {
        const by = (a.part.failedBy ??= new Set());
        by.add(member.conn.identity);
        a.part.failures = (a.part.failures ?? 0) + 1;
        const everyone = [...this.o.members.keys()].every((c) => by.has(c.identity));
        if (a.part.failures >= MIN_TASK_FAILURES && everyone && a.job === job) failed = { part: a.part, why: bad[2] ?? '' };
      }
      if (job && a.job === job && !job.done) this.tally.settle(job, a.part);
    }
    member.inflight.clear();
    if (!job) return;
    if (failed && !job.done) {
      const times = failed.part.failures ?? 0;
      const workers = failed.part.failedBy?.size ?? 0;
      return job.reject(
        new TrainerError('E_WORKER_LOST', `${partName(job, failed.part)} could not be computed: it failed ${times} times on ${workers} worker(s), and no other is here: ${failed.why}`),
      );
    }
    if (this.o.members.size === 0) this.o.admitJoiners();
    this.pump();
  }

  /**
   * A worker became ready: it takes part now when nobody is left, when a part waits for another
   * worker, or when a wanted copy waits only for full workers whose parts are slow (it waited for
   * the next job: the step until cluster.stepTimeoutMs, when the worker holding them never answered).
   */
  joined(): void {
    const job = this.job;
    if (!job) return;
    if (this.o.members.size === 0 || job.waitingFor === 'another' || this.queueStuck(job, [...this.o.members.values()], performance.now())) {
      this.o.admitJoiners();
      this.pump();
    }
  }

  /** On the pool's timer: a job that has waited for a worker longer than cluster.noWorkerTimeoutMs fails; slow parts are run again. */
  /** The process was paused for `gap` ms (WsPool.forgivePause): the wait for workers does not count it. */
  shiftClock(gap: number): void {
    if (this.job && this.job.waitingSinceMs !== null) this.job.waitingSinceMs += gap;
  }

  tick(now: number): void {
    const job = this.job;
    const limitMs = this.o.noWorkerTimeoutMs;
    if (job && job.waitingSinceMs !== null && now - job.waitingSinceMs > limitMs) {
      const what = job.waitingFor === 'another' ? `no other worker joined to compute a part a second time${this.mixedKinds()}` : 'no worker joined';
      return job.reject(new TrainerError('E_NO_WORKERS', `${what} within cluster.noWorkerTimeoutMs (${limitMs} ms)`));
    }
    if (job) this.speculate(now);
  }

  private run(kind: Job['kind'], step: number, version: number, split: Split, parts: readonly Int32Array[]) {
    if (this.job) throw new TrainerError('E_INTERNAL', 'ws pool: one step or evaluation at a time');
    if (version !== this.version) throw new TrainerError('E_INTERNAL', `weights version ${version} asked for, ${this.version} published`);
    this.o.admitJoiners();
    const verify = this.o.verify;
    // Which parts are verified is drawn fresh and unpredictably: a worker cannot tell a checked task from another.
    const draw = this.o.draw ?? (() => randomInt(2 ** 32) / 2 ** 32);
    const need = () => (verify >= 1 || (verify > 0 && draw() < verify) ? 2 : 1);
    const { job, done } = createJob(kind, step, version, split, parts, need, () => {
      this.job = null;
      if (this.speculation) clearTimeout(this.speculation);
      this.speculation = null;
    });
    this.job = job;
    this.tally.start();
    if (job.remaining === 0) job.resolve();
    else this.pump();
    return done;
  }

  /** Gives wanted copies to workers with room, lowest index first, then slow parts to idle workers. */
  pump(): void {
    const job = this.job;
    if (!job || job.done) return;
    const members = this.o.members;
    // Copies of parts decided meanwhile are no longer wanted.
    for (const p of job.queue) if (p.decided !== null) p.queued--;
    job.queue = job.queue.filter((p) => p.decided === null);
    if (members.size === 0) {
      if (this.o.signal?.aborted) return job.reject(new TrainerError('E_NO_WORKERS', 'stopped while waiting for a worker to join'));
      if (job.waitingSinceMs === null && job.queue.length > 0) {
        job.waitingSinceMs = performance.now();
        job.waitingFor = 'any';
        this.o.log(`no workers: waiting up to ${this.o.noWorkerTimeoutMs / 1000} s for one to join`);
      }
      return;
    }
    if (job.waitingFor === 'any') {
      job.waitingSinceMs = null;
      job.waitingFor = null;
      this.o.log(`continuing with ${members.size} worker(s)`);
    }
    // Round-robin, one copy per worker per pass, so a step spreads over everyone.
    for (let given = true; given && job.queue.length > 0; ) {
      given = false;
      for (const member of members.values()) {
        if (member.inflight.size >= this.capacity(member) || member.conn.state !== 'ready') continue;
        const i = job.queue.findIndex((p) => !tried(p, member.conn));
        if (i < 0) continue;
        const part = job.queue.splice(i, 1)[0] as Part;
        part.queued--;
        this.send(member, job, part, false);
        given = true;
      }
    }
    this.checkBlocked(job);
    if (job.done) return;
    this.speculate(performance.now());
    // After its last task of the step, never before: a worker loads a hint as soon as it is idle.
    if (job.queue.length === 0 && this.hint) {
      this.prefetch(this.hint.step, this.hint.next);
      this.hint = null;
    }
  }

  /**
   * A wanted copy that every worker present has already computed waits for
   * another worker (up to cluster.noWorkerTimeoutMs). With verification off
   * and a single worker there is nobody to ask: its result stands, and a
   * non-finite one means the run diverged.
   */
  private checkBlocked(job: Job): void {
    const members = [...this.o.members.keys()];
    const blocked = job.queue.filter((p) => members.every((c) => tried(p, c)));
    // Another worker may be ready already, waiting for the next job: it was left waiting, and the
    // job with it until cluster.noWorkerTimeoutMs (E_NO_WORKERS).
    if (blocked.length > 0 && this.o.admitJoiners() > 0) return this.pump();
    if (blocked.length === 0) {
      if (job.waitingFor === 'another') {
        job.waitingSinceMs = null;
        job.waitingFor = null;
      }
      return;
    }
    if (this.o.verify === 0 && members.length === 1) {
      for (const part of blocked) this.tally.trustLone(job, part);
      return;
    }
    if (job.waitingFor === null) {
      job.waitingSinceMs = performance.now();
      job.waitingFor = 'another';
      this.o.log(`${partName(job, blocked[0] as Part)} needs another worker than the ${members.length} present${this.mixedKinds()}; waiting up to ${this.o.noWorkerTimeoutMs / 1000} s for one to join`);
    }
  }

  /**
   * Why a verified part waits where the workers present run several backends: their results never
   * agree bit for bit (a run with one worker of each kind waited, then stopped, without saying so).
   */
  private mixedKinds(): string {
    if (this.o.verify === 0) return '';
    const kinds = [...new Set([...this.o.members.keys()].map((c) => c.backend))].sort();
    if (kinds.length < 2) return '';
    return ` (cluster.verify compares results bit for bit, and the workers present run ${kinds.length} backends, ${kinds.join(', ')}, whose results differ in the low bits: a verified part needs two workers of one backend)`;
  }

  /**
   * Tells each worker the first micro-batch the next step's pump would give
   * it, were membership unchanged: the same round-robin over the same members.
   * Under cluster.verify 1 every part goes out twice, its copies side by side
   * in the queue, so the second worker's first part is the first's: told part
   * i, every prefetched input was dropped (1,460 of 1,460 in a run). Parts
   * checked under a fraction below 1 are drawn when the step starts and never
   * told ahead (a hint would say which are checked): guessed as unchecked.
   */
  private prefetch(step: number, next: readonly Int32Array[]): void {
    const members = [...this.o.members.values()].filter((m) => m.conn.state === 'ready');
    const copies = this.o.verify >= 1 ? 2 : 1;
    for (let i = 0; i < Math.min(members.length, next.length * copies); i++) {
      const indices = next[Math.floor(i / copies)] as Int32Array;
      if (indices.length > 0) (members[i] as Member).conn.send({ type: 'prefetch', step, indices });
    }
  }

  /** Idle workers take second copies of the parts slow workers hold; re-armed for the next part to become slow. */
  private speculate(now: number): void {
    const job = this.job;
    if (!job || job.done) return;
    const members = [...this.o.members.values()];
    // Idle: a compute thread free (a worker computes conn.threads copies at once).
    const idle = members.filter((m) => m.inflight.size < m.conn.threads && m.conn.state === 'ready');
    const slow: { part: Part; kind: string; afterMs: number; holder: WorkerConn }[] = [];
    let nextCheckMs = Number.POSITIVE_INFINITY;
    for (const m of members) {
      const held = [...m.inflight.values()].filter((a) => a.job === job && a.part.decided === null && a.part.running === 1 && a.part.queued === 0);
      if (held.length === 0) continue;
      // Its parts are computed one after another: the first is what it has been on since progressMs.
      const afterMs = this.stragglers.slowAfterMs(`${m.conn.backend}/${job.kind}`, (held[0] as Assignment).part.indices.length);
      if (afterMs === null) continue;
      const slowAtMs = m.progressMs + afterMs;
      if (now >= slowAtMs) slow.push(...held.map((a) => ({ part: a.part, kind: m.conn.backend, afterMs, holder: m.conn })));
      // Re-armed only for parts an idle worker could take.
      else if (idle.some((i) => this.mayTakeCopyOf(i, m.conn.backend))) nextCheckMs = Math.min(nextCheckMs, slowAtMs);
    }
    // Workers ready since the job started wait for the next one, unless they are needed now: for a
    // slow part, or for a wanted copy only full workers with slow parts could take (a worker holding
    // its tasks unanswered held a verification copy until cluster.stepTimeoutMs).
    if ((slow.length > 0 || this.queueStuck(job, members, now)) && this.o.admitJoiners() > 0) return this.pump();
    // A wanted copy that only full workers could take is stuck once their parts are slow: checked
    // then too (no result may come before; a worker that became ready meanwhile waited until
    // cluster.stepTimeoutMs).
    if (job.queue.length > 0) {
      for (const m of members) {
        const at = m.inflight.size < this.capacity(m) ? null : this.fullUntilSlowMs(m);
        if (at !== null && at > now) nextCheckMs = Math.min(nextCheckMs, at);
      }
    }
    slow.sort((a, b) => a.part.index - b.part.index);
    for (const member of idle) {
      while (member.inflight.size < this.capacity(member)) {
        const open = (s: (typeof slow)[number]) => !tried(s.part, member.conn) && s.part.running === 1;
        let i = slow.findIndex((s) => s.kind === member.conn.backend && open(s));
        if (i < 0) i = slow.findIndex((s) => this.mayTakeCopyOf(member, s.kind) && open(s));
        if (i < 0) break;
        const { part, afterMs, holder } = slow.splice(i, 1)[0] as (typeof slow)[number];
        this.slowCopyLog(holder).note(`${partName(job, part)} is slow (past ${Math.round(afterMs)} ms on worker ${holder.id} (${holder.name})): also given to worker ${member.conn.id} (${member.conn.name})`);
        this.send(member, job, part, true);
      }
    }
    if (this.speculation) clearTimeout(this.speculation);
    this.speculation = null;
    if (Number.isFinite(nextCheckMs)) {
      this.speculation = setTimeout(() => this.speculate(performance.now()), Math.max(1, nextCheckMs - now + 1));
      this.speculation.unref();
    }
  }

  private slowCopyLog(holder: WorkerConn): ThrottledLog {
    let log = this.slowCopies.get(holder);
    if (!log) {
      log = new ThrottledLog(this.o.log, (count, line) => (count > 1 ? `${line} (${count} slow parts of it given to a second worker since the last such line)` : line), SLOW_COPY_LOG_EVERY_MS);
      this.slowCopies.set(holder, log);
    }
    return log;
  }

  /** Whether a wanted copy waits for workers that are all full, each with a part held past its slow time (and some could take it: else checkBlocked). */
  private queueStuck(job: Job, members: readonly Member[], now: number): boolean {
    if (job.queue.length === 0) return false;
    // Judged once per worker, not once per queued copy: speculate runs after every result.
    const takers = members.filter((m) => {
      if (m.inflight.size < this.capacity(m)) return true;
      const at = this.fullUntilSlowMs(m);
      return at === null || now < at;
    });
    return job.queue.some((p) => members.some((m) => !tried(p, m.conn)) && !takers.some((m) => !tried(p, m.conn)));
  }

  /**
   * When the task a worker has been on since its last progress becomes slow (null: it holds none,
   * or no time is known). Its first task, of this job or an earlier one: a worker still holding an
   * earlier step's tasks, never answered, counted as one that could take the copy, and a worker
   * ready meanwhile waited until cluster.stepTimeoutMs (a CI failure).
   */
  private fullUntilSlowMs(m: Member): number | null {
    const first = m.inflight.values().next().value as Assignment | undefined;
    const afterMs = first ? this.stragglers.slowAfterMs(`${m.conn.backend}/${first.job.kind}`, first.part.indices.length) : null;
    return afterMs === null ? null : m.progressMs + afterMs;
  }

  /**
   * Whether `member` may run a second copy of a part a worker of backend `kind` is slow with: one
   * of the same kind (the same bits); with verification off, any (the run mixes kinds' bits
   * already, and a worker claiming a kind of its own held its parts for cluster.stepTimeoutMs);
   * with verification, any until the run's kinds are settled (the comparison decides; pool.ts),
   * then the same kind only (another kind's bits would disagree).
   */
  private mayTakeCopyOf(member: Member, kind: string): boolean {
    return member.conn.backend === kind || this.o.verify === 0 || !this.tally.kindsSettled;
  }

  /** Copies one worker may hold: cluster.tasksInFlight per compute thread. */
  private capacity(member: Member): number {
    return this.o.tasksInFlight * member.conn.threads;
  }

  private send(member: Member, job: Job, part: Part, speculative: boolean): void {
    if (member.version !== job.version) {
      member.conn.sendFrame(this.frame as Uint8Array);
      this.frameHolders.add(member.conn);
      member.version = job.version;
    }
    const now = performance.now();
    if (member.inflight.size === 0) member.progressMs = now;
    const id = this.nextTaskId++ >>> 0;
    member.inflight.set(id, { id, job, part, sentMs: now, speculative });
    part.running++;
    part.tried.add(member.conn);
    this.o.onEvent?.({ kind: 'task', worker: member.conn.id, step: job.step, index: part.index });
    const m: Message =
      job.kind === 'grad'
        ? { type: 'task', taskId: id, step: job.step, version: job.version, indices: part.indices }
        : { type: 'evalTask', taskId: id, version: job.version, split: job.split, indices: part.indices };
    member.conn.send(m);
  }

  onResult(member: Member, m: ResultMessage): void {
    const a = member.inflight.get(m.taskId);
    const evict = (why: string) => member.conn.close(CLOSE.badResult, `E_WORKER_LOST: ${why}`);
    // A result for no copy this worker holds (a replay, a made-up id) is never used.
    if (!a) return evict(`result for unknown task ${m.taskId}`);
    const checked = checkResult(a, m, this.o.model.size, member.conn.id);
    if ('refused' in checked) return evict(checked.refused);
    const now = performance.now();
    member.inflight.delete(m.taskId);
    a.part.running--;
    if (m.type === 'gradient') {
      member.stats.microBatches++;
      member.stats.examples += m.count;
      member.stats.computeMs += m.computeMs;
      (checked.ok as MicroBatchResult).timing = resultTiming(a.sentMs, now, m.startedAt - performance.timeOrigin, m.computeMs);
    }
    // Service time: from when the worker could start on it (it computes its copies one after another).
    this.stragglers.record(`${member.conn.backend}/${a.job.kind}`, now - Math.max(a.sentMs, member.lastResultMs ?? 0), a.part.indices.length);
    member.progressMs = member.lastResultMs = now;
    this.tally.add(a.job, a.part, voteOf(member.conn, checked.ok));
    this.pump();
  }
}

/**
 * Where a remote worker's compute span goes in this clock (ms): where the worker's own clock puts
 * it (`startedMs`: its start time in this process's performance.now() terms) when that lies within
 * the round trip, as it does for workers on this machine and on machines whose clocks agree;
 * otherwise, clocks apart, in the middle of the round trip.
 */
export function resultTiming(sentMs: number, receivedMs: number, startedMs: number, computeMs: number): ResultTiming {
  const startMs =
    startedMs >= sentMs && startedMs + computeMs <= receivedMs ? startedMs : sentMs + Math.max(0, receivedMs - sentMs - computeMs) / 2;
  return { sentMs, startMs, endMs: Math.min(receivedMs, startMs + computeMs), receivedMs };
}

/**
 * Whether `conn` may not have `part`: it was given it, or the same worker (identity) has its result
 * counted or holds it on another open connection. A copy that checks a result goes to another
 * worker: a second connection under the same name took the verification copy of its own result
 * and confirmed it, so one token holder verified its own lies. A worker that reconnects may still
 * take again what its closed connection held but never answered (alone, it must).
 */
function tried(part: Part, conn: WorkerConn): boolean {
  if (part.tried.has(conn) || part.votes.some((v) => v.from.identity === conn.identity)) return true;
  for (const other of part.tried) if (other.identity === conn.identity && other.state !== 'closed') return true;
  return false;
}
