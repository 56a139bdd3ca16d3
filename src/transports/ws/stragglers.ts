/**
 * When a task is slow enough to be run again elsewhere. Results are
 * bit-identical whoever computes them, so a second copy of a slow task on an
 * idle worker changes nothing but time: the first result wins. A task is slow
 * once its worker has been on it (since it was handed work while idle, or
 * since its last result) more than SLOW_FACTOR times the median time of
 * recent results, and at least SLOW_MIN_MS: a worker 200 ms late on every
 * result, or one that never answers, then holds a step up by about that much
 * instead of 200 ms or cluster.stepTimeoutMs.
 */
import { median } from './verdict.js';

/** A task running this many times longer than the recent median is run again on an idle worker. */
export const SLOW_FACTOR = 3;
/** ...but never before this (ms): jitter on a busy machine is not slowness. */
export const SLOW_MIN_MS = 50;
/** Results whose times make the median. */
const WINDOW = 32;

export class Stragglers {
  private readonly recent: number[] = [];

  /** A result came back `ms` after its worker could start on it. */
  record(ms: number): void {
    this.recent.push(ms);
    if (this.recent.length > WINDOW) this.recent.shift();
  }

  /** How long a task may run before it is run again elsewhere; null until a result has come back. */
  slowAfterMs(): number | null {
    const m = median(this.recent);
    return m === null ? null : Math.max(SLOW_MIN_MS, SLOW_FACTOR * m);
  }
}
