/**
 * When a task is slow enough to be run again elsewhere. Results are
 * bit-identical among workers of one backend kind, so a second copy of a
 * slow task on an idle worker of the same kind changes nothing but time: the
 * first result wins. (Another kind would change the bits used: dispatch.ts
 * asks one only where the run already mixes kinds unverified.) A task is slow once its worker has been on it (since it was handed
 * work while idle, or since its last result) more than SLOW_FACTOR times what
 * recent results of its kind took for as many examples (the median time per
 * example), and at least SLOW_MIN_MS: a worker 200 ms late on every result, or
 * one that never answers, then holds a step up by about that much instead of
 * 200 ms or cluster.stepTimeoutMs.
 *
 * Tasks are compared with tasks of their own job kind, per example: an
 * evaluation chunk of 500 images measured against gradients of 16 was "slow"
 * at nearly every evaluation, computed twice and logged each time.
 */
import { median } from './verdict.js';

/** A task running this many times longer than the recent median is run again on an idle worker. */
export const SLOW_FACTOR = 3;
/** ...but never before this (ms): jitter on a busy machine is not slowness. */
export const SLOW_MIN_MS = 50;
/** Results whose times make the median. */
const WINDOW = 32;

/** Which results a task is compared with: a backend kind, and gradients or evaluations. */
export type TaskKind = `${string}/${'grad' | 'eval'}`;

export class Stragglers {
  /** Recent result times per example, by task kind. */
  private readonly recent = new Map<TaskKind, number[]>();

  /** A result of `examples` examples came back `ms` after the worker could start on it. */
  record(kind: TaskKind, ms: number, examples: number): void {
    const r = this.recent.get(kind) ?? [];
    r.push(ms / Math.max(1, examples));
    if (r.length > WINDOW) r.shift();
    this.recent.set(kind, r);
  }

  /**
   * How long a task of `examples` examples may run before it is run again elsewhere; null until a
   * result of its job kind has come back. A backend kind with no result yet is measured against
   * the others': a worker is who it says, and one claiming a kind of its own held its tasks for
   * cluster.stepTimeoutMs, never "slow".
   */
  slowAfterMs(kind: TaskKind, examples: number): number | null {
    const own = this.recent.get(kind) ?? [];
    const job = kind.slice(kind.lastIndexOf('/'));
    const m = median(own.length > 0 ? own : [...this.recent].filter(([k]) => k.endsWith(job)).flatMap(([, times]) => times));
    return m === null ? null : Math.max(SLOW_MIN_MS, SLOW_FACTOR * m * Math.max(1, examples));
  }
}
