/**
 * The charts that the report, the comparison page and the live dashboard
 * share, drawn by lineChart: loss per step (each run's raw per-step loss,
 * faint, under its smoothed curve, with a mark where each epoch ended; at
 * most MAX_STEP_POINTS buckets a run, see step-points.ts) and accuracy per
 * epoch.
 */
import { stepPoints } from './step-points.js';
import { lineChart } from './svg-chart.js';

export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];

/**
 * The colour of the i-th run of a comparison: the palette, then hues a golden angle apart (the 9th
 * run was drawn in the 1st one's colour, and their curves could not be told apart).
 */
export function runColor(i: number): string {
  if (i < PALETTE.length) return PALETTE[i] as string;
  const hue = Math.round(((i - PALETTE.length) * 137.508 + 20) % 360);
  const light = 35 + ((i - PALETTE.length) % 3) * 10;
  return `hsl(${hue}, 70%, ${light}%)`;
}

export interface StepSeries {
  /** Stable id (data-series of the smoothed line; the raw one is KEY-raw). */
  key: string;
  label: string;
  color: string;
  steps: readonly { step: number; loss: number }[];
}

/** Where epochs ended, as chart marks: at most about a dozen, evenly thinned. */
export function epochMarks(ends: readonly { epoch: number; step: number }[]): { label: string; x: number }[] {
  const every = Math.max(1, Math.ceil(ends.length / 12));
  return ends.filter((e) => e.epoch % every === 0).map((e) => ({ label: `e${e.epoch}`, x: e.step }));
}

/**
 * The ratio of the highest loss to the lowest past which the per-step chart's y axis is logarithmic.
 * A diverging run's loss reaches 1e10 within steps, and on a linear axis every other run of a
 * comparison (and its own first steps) lay flat on 0; a run that trains well spans under 1000 (2.3
 * to above 0.0023), and keeps the linear axis that TensorBoard also starts with.
 */
export const LOG_LOSS_RATIO = 1000;

/** Whether losses from `lo` to `hi` are drawn on a log axis (cross-entropy is never negative; a 0 is no point on one). */
function logLoss(lo: number, hi: number): boolean {
  return lo > 0 && hi / lo > LOG_LOSS_RATIO;
}

export function lossPerStepChart(o: { id: string; runs: readonly StepSeries[]; marks?: readonly { label: string; x: number }[]; width?: number; height?: number; title?: string }): string {
  const series = o.runs.flatMap((r) => {
    const { raw, smoothed } = stepPoints(r.steps);
    return [
      { key: `${r.key}-raw`, label: '', color: r.color, values: raw.map((p) => p.loss), xs: raw.map((p) => p.step), dots: false, strokeWidth: 1, opacity: 0.3 },
      { key: r.key, label: r.label, color: r.color, values: smoothed.map((p) => p.loss), xs: smoothed.map((p) => p.step), dots: false },
    ];
  });
  // The faint lines hold each bucket's lowest and highest loss: the chart's whole range.
  let [lo, hi] = [Infinity, -Infinity];
  for (const s of series) for (const v of s.values) if (Number.isFinite(v)) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  const log = logLoss(lo, hi);
  return lineChart({
    id: o.id,
    title: o.title ?? 'Training loss per step (smoothed; faint: as logged)',
    xLabel: 'step',
    yLabel: log ? 'cross-entropy (log scale)' : 'cross-entropy',
    xs: [],
    series,
    ...(log ? { yLog: true } : {}),
    ...(o.marks ? { marks: o.marks } : {}),
    ...(o.width ? { width: o.width } : {}),
    ...(o.height ? { height: o.height } : {}),
  });
}
