/**
 * When a task is slow enough to be run again elsewhere. Results are
 * bit-identical among workers of one backend kind, so a second copy of a
 * slow task on an idle worker of the same kind changes nothing but time: the
 * first result wins. (Another kind would change the bits used, so it is never
 * asked.) A task is slow once its worker has been on it (since it was handed
 * work while idle, or since its last result) more than SLOW_FACTOR times the
 * median time of recent results of its kind, and at least SLOW_MIN_MS: a
 * worker 200 ms late on every result, or one that never answers, then holds a
 * step up by about that much instead of 200 ms or cluster.stepTimeoutMs.
 */
import { median } from './verdict.js';

/** A task running this many times longer than the recent median is run again on an idle worker. */
export const SLOW_FACTOR = 3;
/** ...but never before this (ms): jitter on a busy machine is not slowness. */
export const SLOW_MIN_MS = 50;
/** Results whose times make the median. */
const WINDOW = 32;

export class Stragglers {
  /** Recent result times by backend kind. */
  private readonly recent = new Map<string, number[]>();

  /** A result of a worker of backend `kind` came back `ms` after the worker could start on it. */
  record(kind: string, ms: number): void {
    const r = this.recent.get(kind) ?? [];
    r.push(ms);
    if (r.length > WINDOW) r.shift();
    this.recent.set(kind, r);
  }

  /** How long a task of a worker of `kind` may run before it is run again elsewhere; null until a result of that kind has come back. */
  slowAfterMs(kind: string): number | null {
    const m = median(this.recent.get(kind) ?? []);
    return m === null ? null : Math.max(SLOW_MIN_MS, SLOW_FACTOR * m);
  }
}
