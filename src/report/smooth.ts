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

/**
 * EMA with weight 2 / (span + 1) on each new value. With `widths`, how many steps each value is the
 * mean of (a steps.jsonl line: log.everySteps, fewer at an epoch's end, a checkpoint or a stop), a
 * value weighs as that many steps of an EMA over steps would, relative to the usual width (the
 * median): a line of the usual width weighs as before, and an epoch's last line, often one step of
 * a short batch, no longer as much as ten. It pulled the demo's curve down by 0.2 at an epoch's end.
 */
export function smooth(values: readonly number[], span = defaultSpan(values.length), widths?: readonly number[]): number[] {
  const alpha = 2 / (span + 1);
  const usual = widths !== undefined && widths.length > 0 ? median(widths) : 1;
  const out: number[] = [];
  let s: number | null = null;
  for (const [i, v] of values.entries()) {
    const width = widths?.[i] ?? usual;
    const a = width === usual ? alpha : 1 - (1 - alpha) ** (width / usual);
    s = s === null ? v : s + a * (v - s);
    out.push(s);
  }
  return out;
}

/** Steps each point of a series in step order stands for: the steps since the point before (the first: its own step), at least 1. */
export function stepWidths(steps: readonly number[]): number[] {
  return steps.map((step, i) => Math.max(1, step - (i === 0 ? 0 : (steps[i - 1] as number))));
}

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
