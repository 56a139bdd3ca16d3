/**
 * One step (or one evaluation pass) in flight in the ws pool: its parts (one
 * per micro-batch or evaluation chunk), the copies of them out at workers
 * (assignments), the results each part got (votes, judged in verdict.ts), and
 * the check every result passes before it counts. A result that does not
 * fit its task (another step, another weights version, a wrong length, more
 * correct than counted) is refused with the reason, and the pool evicts the
 * worker that sent it.
 */
import type { BatchStats } from '../../worker/gradient.js';
import type { MessageOf, Split } from './protocol.js';
import type { MicroBatchResult } from '../pool.js';
import type { WorkerConn } from './connection.js';
import type { Vote } from './verdict.js';

/** One micro-batch (or evaluation chunk) of a job. */
export interface Part {
  /** Its index: the slot of its result. */
  index: number;
  indices: Int32Array;
  /** Identical unsuspected results it needs before one is used: 2 when verified, else 1. */
  need: number;
  votes: Vote<WorkerConn>[];
  /** Copies out at workers now, and copies waiting in the job's queue. */
  running: number;
  queued: number;
  /** Workers that were given it: none gets it twice. */
  tried: Set<WorkerConn>;
  /** The vote used, once decided, and whether two workers sent its bits. */
  decided: { vote: Vote<WorkerConn>; verified: boolean } | null;
  /** Times a worker could not compute it (closing with "bad task"), and who (WorkerConn.identity). */
  failures?: number;
  failedBy?: Set<string>;
}

/** A copy of a part sent to a worker under its own task id. */
export interface Assignment {
  id: number;
  job: Job;
  part: Part;
  /** When it was sent (performance.now()). */
  sentMs: number;
  /** A second copy of a part another worker is slow with. */
  speculative: boolean;
}

export interface Job {
  kind: 'grad' | 'eval';
  step: number;
  version: number;
  split: Split;
  parts: Part[];
  /** Copies wanted and not given to anyone yet, lowest index first (a part once per copy). */
  queue: Part[];
  results: (MicroBatchResult | BatchStats | undefined)[];
  /** Parts not decided yet. */
  remaining: number;
  /** Since when (performance.now()) some wanted copy has found no worker to take it, else null; and why. */
  waitingSinceMs: number | null;
  waitingFor: 'any' | 'another' | null;
  done: boolean;
  resolve(): void;
  reject(err: Error): void;
}

/** A job over `parts`, each needing `need(index)` identical results; `settled` runs before the caller hears the outcome. */
export function createJob(
  kind: Job['kind'],
  step: number,
  version: number,
  split: Split,
  parts: readonly Int32Array[],
  need: (index: number) => number,
  settled: () => void,
): { job: Job; done: Promise<Job['results']> } {
  let job!: Job;
  const done = new Promise<Job['results']>((resolve, reject) => {
    const ps: Part[] = parts.map((indices, index) => ({ index, indices, need: need(index), votes: [], running: 0, queued: 0, tried: new Set(), decided: null }));
    job = {
      kind,
      step,
      version,
      split,
      parts: ps,
      queue: [],
      results: new Array(parts.length).fill(undefined),
      remaining: parts.length,
      waitingSinceMs: null,
      waitingFor: null,
      done: false,
      resolve: () => {
        if (job.done) return;
        job.done = true;
        settled();
        resolve(job.results);
      },
      reject: (err) => {
        if (job.done) return;
        job.done = true;
        settled();
        reject(err);
      },
    };
    // Each part as many times as it needs results: copies of one part go to different workers.
    for (const p of ps) for (let c = 0; c < p.need; c++) enqueue(job, p);
  });
  return { job, done };
}

/** One more copy of `part` wanted, in index order. */
export function enqueue(job: Job, part: Part): void {
  part.queued++;
  let i = job.queue.length;
  while (i > 0 && (job.queue[i - 1] as Part).index > part.index) i--;
  job.queue.splice(i, 0, part);
}

export type ResultMessage = MessageOf<'gradient'> | MessageOf<'evalResult'>;

/** A part as the log names it: steps counted from 1, as in steps.jsonl and the epoch lines (job.step counts from 0). */
export function partName(job: Job, part: Part): string {
  return job.kind === 'grad' ? `micro-batch ${part.index} of step ${job.step + 1}` : `${job.split} evaluation chunk ${part.index}`;
}

/** The result `m` stands for, as an answer to `a`, or why it cannot be one. Its values are judged later (verdict.ts). */
export function checkResult(
  a: Assignment,
  m: ResultMessage,
  modelSize: number,
  worker: string,
): { ok: MicroBatchResult | BatchStats } | { refused: string } {
  const { job, part } = a;
  if (m.version !== job.version) return { refused: `result at version ${m.version}, task at ${job.version}` };
  if (m.count !== part.indices.length || m.correct > m.count) return { refused: 'count or correct does not fit the task' };
  if (m.type === 'evalResult') {
    if (job.kind !== 'eval') return { refused: 'evaluation result during a training step' };
    return { ok: { lossSum: m.lossSum, correct: m.correct, count: m.count } };
  }
  if (job.kind !== 'grad' || m.step !== job.step) return { refused: `gradient for step ${m.step}, task of step ${job.step}` };
  const g = m.gradient;
  if (g.length !== modelSize) return { refused: `gradient of ${g.length} values, model has ${modelSize}` };
  return { ok: { lossSum: m.lossSum, correct: m.correct, count: m.count, gradient: g, worker } };
}
