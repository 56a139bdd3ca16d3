/**
 * Smoothing of a noisy per-step series, as TensorBoard's slider does: an
 * exponential moving average that starts at the first value (so it is not
 * pulled towards 0) and runs across epoch boundaries, so the curve shows the
 * trend instead of each step's noise, and no sawtooth where epochs start.
 */

/** The EMA's span for `n` points: about a thirtieth of the series, at least 1 (no smoothing). */
export function defaultSpan(n: number): number {
  return Math.max(1, Math.round(n / 30));
}

/** EMA with weight 2 / (span + 1) on each new value. */
export function smooth(values: readonly number[], span = defaultSpan(values.length)): number[] {
  const alpha = 2 / (span + 1);
  const out: number[] = [];
  let s: number | null = null;
  for (const v of values) {
    s = s === null ? v : s + alpha * (v - s);
    out.push(s);
  }
  return out;
}
