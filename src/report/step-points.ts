/**
 * A per-step loss series cut down to what a chart can show. A chart is about a thousand pixels
 * wide, and a run of 100,000 steps.jsonl lines was drawn with 200,000 vertices: a page of
 * megabytes, or no page at all (E_INTERNAL, the call stack overflowed).
 *
 * The series is cut into at most MAX_STEP_POINTS buckets of equal width in steps (as pixel
 * columns are), and each bucket is drawn with
 * - for the loss as logged: its lowest and its highest line, in step order, so that the faint line
 *   still spans the noise that was logged, a single spike included (a mean would hide both);
 * - for the smoothed loss: the curve smoothed over every line (each weighed by the steps it is the
 *   mean of), taken at the bucket's last line, so that each vertex lies on the full-resolution curve.
 * The live dashboard keeps at most as many points (MAX_LOSS_POINTS is this), so its curve, already
 * means of equal numbers of steps, is drawn as it is.
 */
import { smooth, stepWidths } from './smooth.js';

/** Buckets of a per-step chart: about one per two pixels of the widest chart (1140 px). Even: the dashboard halves its curve in pairs. */
export const MAX_STEP_POINTS = 600;

export interface StepPoint {
  step: number;
  loss: number;
}

/** `steps` (in step order) as at most `buckets` smoothed points and 2 × `buckets` raw ones; all of them when there are no more than `buckets`. */
export function stepPoints(steps: readonly StepPoint[], buckets = MAX_STEP_POINTS): { raw: StepPoint[]; smoothed: StepPoint[] } {
  const losses = steps.map((s) => s.loss);
  const smoothedLosses = smooth(losses, undefined, stepWidths(steps.map((s) => s.step)));
  const point = (i: number, loss: number): StepPoint => ({ step: (steps[i] as StepPoint).step, loss });
  if (steps.length <= buckets) {
    return { raw: steps.map((s, i) => point(i, s.loss)), smoothed: smoothedLosses.map((loss, i) => point(i, loss)) };
  }
  const first = (steps[0] as StepPoint).step;
  const width = ((steps.at(-1) as StepPoint).step - first) / buckets;
  const bucketOf = (i: number) => (width > 0 ? Math.min(buckets - 1, Math.floor(((steps[i] as StepPoint).step - first) / width)) : 0);
  const loss = (i: number) => losses[i] as number;

  const raw: StepPoint[] = [];
  const smoothed: StepPoint[] = [];
  const close = (lo: number, hi: number, last: number) => {
    raw.push(point(Math.min(lo, hi), loss(Math.min(lo, hi))));
    if (hi !== lo) raw.push(point(Math.max(lo, hi), loss(Math.max(lo, hi))));
    smoothed.push(point(last, smoothedLosses[last] as number));
  };
  let [bucket, lo, hi] = [bucketOf(0), 0, 0];
  for (let i = 1; i < steps.length; i++) {
    const b = bucketOf(i);
    if (b !== bucket) {
      close(lo, hi, i - 1);
      [bucket, lo, hi] = [b, i, i];
    } else if (loss(i) < loss(lo)) lo = i;
    else if (loss(i) > loss(hi)) hi = i;
  }
  close(lo, hi, steps.length - 1);
  return { raw, smoothed };
}
