/**
 * Line charts as inline SVG, with no script: the report must open from disk
 * with no network. Each series is a <polyline> plus one <circle> per point, both
 * tagged with data-series, so a browser test can count what was drawn.
 * A null value (e.g. validation accuracy of an epoch that was not evaluated) is
 * no point; the line joins the points on either side.
 */
import { cutToWidth, textWidth } from './text-width.js';

export interface Series {
  /** Stable id, in data-series. */
  key: string;
  label: string;
  color: string;
  values: readonly (number | null)[];
  /** x of each value, when this series has its own (runs of different lengths on one chart); default the chart's xs. */
  xs?: readonly number[];
  dashed?: boolean;
  /** A <circle> per value (default true); off for dense per-step series, which are lines only (but for a one-point series, which has its dot). */
  dots?: boolean;
  /** Line width (default 2); a faint raw series under its smoothed one is thinner. */
  strokeWidth?: number;
  opacity?: number;
}

export interface ChartSpec {
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  /** x of each value index (epochs). */
  xs: readonly number[];
  series: readonly Series[];
  /** Fixed y range (e.g. [0, 1] for accuracy); default from the data. */
  yRange?: [number, number];
  /** Horizontal reference lines, e.g. the article's accuracies. */
  references?: readonly { label: string; y: number; color: string }[];
  /** Vertical marks, e.g. where each epoch ended on a per-step chart. */
  marks?: readonly { label: string; x: number }[];
  width?: number;
  height?: number;
  /** Least decimals of the y tick labels (more where a tick needs them to print exactly); default 0. */
  yDecimals?: number;
  /** A logarithmic y axis, ticks at powers of ten (a value of 0 or less is no point); default linear. */
  yLog?: boolean;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/**
 * About `count` round tick values covering [lo, hi], and at least three where `count` is: the
 * first round step at least (hi - lo) / count can leave only two inside the range (2.019..2.148
 * gave 2.05 and 2.1: a loss axis with two labels), and the next smaller round step (0.025: five) is taken then.
 */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const steps = [0.5, 1, 2, 2.5, 5, 10].map((m) => m * mag);
  const ticksAt = (step: number): number[] => {
    const out: number[] = [];
    for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
    return out;
  };
  let i = steps.findIndex((s) => s >= raw);
  let out = ticksAt(steps[i] as number);
  while (out.length < Math.min(3, count) && i > 0) out = ticksAt(steps[--i] as number);
  return out;
}

/**
 * Ticks of a logarithmic axis over [lo, hi] (log10 of the values): the powers of ten inside, every
 * second or third one where more than `count` are; 1, 2 and 5 times them where no two are inside.
 */
export function logTicks(lo: number, hi: number, count = 6): number[] {
  const [first, last] = [Math.floor(lo), Math.ceil(hi)];
  const inside = (e: number) => e >= lo - 1e-9 && e <= hi + 1e-9;
  const powers: number[] = [];
  for (let e = first; e <= last; e++) if (inside(e)) powers.push(e);
  if (powers.length < 2) {
    const out: number[] = [];
    for (let e = first; e <= last; e++) for (const m of [1, 2, 5]) if (inside(e + Math.log10(m))) out.push(e + Math.log10(m));
    return out;
  }
  const every = Math.ceil(powers.length / count);
  return powers.filter((e) => (e - (powers[0] as number)) % every === 0);
}

/** The value at log10 `e`, rounded to 12 significant digits as niceTicks' ticks are (10 ** -2 is 0.010000000000000002 in binary). */
const fromLog = (e: number) => Number((10 ** e).toPrecision(12));

const fmt = (v: number) => Number(v.toFixed(2)).toString();

/** Past these, tick labels are in exponent form: "20000000000" did not fit the margin, and 1e-7 printed as "0.000000". */
const MAX_FIXED_TICK = 1e5;
const MAX_TICK_DECIMALS = 6;

/**
 * The labels of `ticks`, with the same decimals, and enough of them that each prints its tick
 * exactly: decimals from the step's magnitude alone printed a 2.5 step's 0, 2.5, 5, 7.5 as
 * "0, 3, 5, 8". Ticks are niceTicks', rounded to 12 significant digits, so a finite number of
 * decimals (or of mantissa digits, in exponent form) prints each exactly.
 */
export function tickLabels(ticks: readonly number[], minDecimals = 0): string[] {
  const exact = (d: number, f: (t: number, d: number) => string) => ticks.every((t) => Number(f(t, d)) === t);
  const fixed = (t: number, d: number) => t.toFixed(d);
  let d = minDecimals;
  while (d <= MAX_TICK_DECIMALS && !exact(d, fixed)) d++;
  if (d <= MAX_TICK_DECIMALS && ticks.every((t) => Math.abs(t) < MAX_FIXED_TICK)) return ticks.map((t) => fixed(t, d));
  const exponent = (t: number, d: number) => t.toExponential(d).replace('e+', 'e');
  let e = 0;
  while (e < 12 && !exact(e, exponent)) e++;
  return ticks.map((t) => (t === 0 ? '0' : exponent(t, e)));
}

/** The width of a tick label at 11 px. */
const labelWidth = (s: string) => textWidth(s);

/**
 * The lowest and the highest finite value in `lists` ([Infinity, -Infinity] when there is none).
 * A loop: Math.min(...values) passes each value as an argument, and past about 100,000 of them
 * (a long run's per-step loss) overflowed the call stack.
 */
function extent(lists: readonly (readonly (number | null)[])[]): [number, number] {
  let [lo, hi] = [Infinity, -Infinity];
  for (const list of lists) {
    for (const v of list) {
      if (v === null || !Number.isFinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return [lo, hi];
}

const LEGEND_ROW_PX = 16;
/** The legend's left bound: rows are right-aligned and never start left of it. */
const LEGEND_LEFT_PX = 8;
/** A legend entry's line, and the gap between it and its label. */
const LEGEND_LINE_PX = 20;
/** The gap after a label, before the next entry's line. */
const LEGEND_GAP_PX = 12;
/** The width of a legend entry: its line, a gap, the label at 11 px, and the gap before the next. */
const legendWidth = (label: string) => LEGEND_LINE_PX + textWidth(label) + LEGEND_GAP_PX;

/**
 * The labelled series' legend entries in rows of at most `rowPx`, in order; a label too long for
 * a row of its own is cut short with "…". One row laid right to left ran off the left edge with
 * three runs of long names, or seven of short ones, on a comparison.
 */
function legendRows(series: readonly Series[], rowPx: number): { s: Series; label: string; w: number }[][] {
  const rows: { s: Series; label: string; w: number }[][] = [];
  let used = Infinity;
  for (const s of series) {
    if (s.label === '') continue;
    const label = cutToWidth(s.label, rowPx - legendWidth(''));
    const w = legendWidth(label);
    if (used + w > rowPx) {
      rows.push([]);
      used = 0;
    }
    rows.at(-1)?.push({ s, label, w });
    used += w;
  }
  return rows;
}

/** The legend's markup: each row right-aligned at `rightX`, the first under the title. */
function drawLegend(rows: readonly (readonly { s: Series; label: string; w: number }[])[], rightX: number): string[] {
  return rows.flatMap((row, i) => {
    let x = rightX - row.reduce((sum, item) => sum + item.w, 0);
    const y = 32 + i * LEGEND_ROW_PX;
    return row.map(({ s, label, w }) => {
      const entry =
        `<line x1="${fmt(x)}" x2="${fmt(x + 16)}" y1="${y}" y2="${y}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>` +
        `<text x="${fmt(x + LEGEND_LINE_PX)}" y="${y + 4}" class="legend">${escapeHtml(label)}</text>`;
      x += w;
      return entry;
    });
  });
}

export function lineChart(c: ChartSpec): string {
  const width = c.width ?? 560;
  // On a log axis everything is placed by its log10 (ty), and a value of 0 or less is no point.
  const ty = c.yLog ? (v: number) => (v > 0 ? Math.log10(v) : Number.NaN) : (v: number) => v;
  const refs = (c.references ?? []).map((r) => ({ ...r, y: ty(r.y) }));
  const seriesY = c.yLog ? c.series.map((s) => s.values.map((v) => (v === null ? null : ty(v)))) : c.series.map((s) => s.values);
  let [ylo, yhi] = c.yRange ? [ty(c.yRange[0]), ty(c.yRange[1])] : extent([...seriesY, refs.map((r) => r.y)]);
  if (!Number.isFinite(ylo) || !Number.isFinite(yhi)) [ylo, yhi] = [0, 1];
  if (yhi - ylo < 1e-12) [ylo, yhi] = [ylo - (Math.abs(ylo) || 1) * 0.1, yhi + (Math.abs(yhi) || 1) * 0.1];
  if (!c.yRange) {
    const pad = (yhi - ylo) * 0.05;
    [ylo, yhi] = [ylo - pad, yhi + pad];
  }
  let [xlo, xhi] = extent([c.xs, ...c.series.map((s) => s.xs ?? [])]);
  if (!(xhi >= xlo)) [xlo, xhi] = [0, 1];

  const yTicks = c.yLog ? logTicks(ylo, yhi) : niceTicks(ylo, yhi);
  const yLabels = tickLabels(c.yLog ? yTicks.map(fromLog) : yTicks, c.yDecimals);
  // Wide enough for the longest tick label between the rotated axis label (about x 6..20) and the axis.
  const left = Math.max(60, Math.ceil(26 + Math.max(0, ...yLabels.map(labelWidth))));
  const right = 16;
  // Rows under the title; the plot moves down by the rows past the first and keeps its height.
  const rows = legendRows(c.series, width - right - LEGEND_LEFT_PX);
  const extra = Math.max(0, rows.length - 1) * LEGEND_ROW_PX;
  const height = (c.height ?? 300) + extra;
  const m = { left, right, top: (c.marks?.length ? 58 : 48) + extra, bottom: 44 };
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const sx = (x: number) => m.left + (xhi > xlo ? ((x - xlo) / (xhi - xlo)) * pw : pw / 2);
  const sy = (y: number) => m.top + ph - ((y - ylo) / (yhi - ylo)) * ph;

  const parts: string[] = [];
  parts.push(
    `<svg id="${escapeHtml(c.id)}" class="chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(c.title)}">`,
  );
  parts.push(`<text x="${m.left}" y="18" class="title">${escapeHtml(c.title)}</text>`);
  parts.push(`<rect class="plot" x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#ccc"/>`);

  yTicks.forEach((t, i) => {
    const y = fmt(sy(t));
    parts.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${y}" y2="${y}" stroke="#eee"/>`);
    parts.push(`<text x="${m.left - 6}" y="${y}" class="ytick" text-anchor="end" dominant-baseline="middle">${yLabels[i]}</text>`);
  });
  const xTicks = c.xs.length > 0 && c.xs.length <= 12 ? c.xs : niceTicks(xlo, xhi, 8).filter((x) => Number.isInteger(x));
  for (const t of xTicks) {
    parts.push(`<text x="${fmt(sx(t))}" y="${m.top + ph + 16}" class="xtick" text-anchor="middle">${t}</text>`);
  }
  parts.push(`<text x="${m.left + pw / 2}" y="${height - 8}" class="axis" text-anchor="middle">${escapeHtml(c.xLabel)}</text>`);
  parts.push(
    `<text transform="translate(14 ${m.top + ph / 2}) rotate(-90)" class="axis" text-anchor="middle">${escapeHtml(c.yLabel)}</text>`,
  );

  for (const r of refs) {
    const y = fmt(sy(r.y));
    parts.push(
      `<line class="reference" x1="${m.left}" x2="${m.left + pw}" y1="${y}" y2="${y}" stroke="${r.color}" stroke-dasharray="2 4"/>` +
        `<text x="${m.left + pw - 4}" y="${fmt(sy(r.y) - 4)}" class="reflabel" text-anchor="end" fill="${r.color}">${escapeHtml(r.label)}</text>`,
    );
  }

  for (const mk of c.marks ?? []) {
    if (mk.x < xlo || mk.x > xhi) continue;
    const x = fmt(sx(mk.x));
    parts.push(
      `<line class="mark" x1="${x}" x2="${x}" y1="${m.top}" y2="${m.top + ph}" stroke="#bbb" stroke-dasharray="3 3"/>` +
        `<text x="${x}" y="${m.top - 4}" class="marklabel" text-anchor="middle" fill="#888">${escapeHtml(mk.label)}</text>`,
    );
  }

  for (const [k, s] of c.series.entries()) {
    const pts: [number, number][] = [];
    const xs = s.xs ?? c.xs;
    (seriesY[k] as readonly (number | null)[]).forEach((v, i) => {
      const x = xs[i];
      if (v !== null && Number.isFinite(v) && x !== undefined) pts.push([sx(x), sy(v)]);
    });
    const key = escapeHtml(s.key);
    if (pts.length > 0) {
      parts.push(
        `<polyline class="line" data-series="${key}" fill="none" stroke="${s.color}" stroke-width="${s.strokeWidth ?? 2}"` +
          `${s.opacity !== undefined ? ` stroke-opacity="${s.opacity}"` : ''}` +
          `${s.dashed ? ' stroke-dasharray="6 4"' : ''} points="${pts.map(([x, y]) => `${fmt(x)},${fmt(y)}`).join(' ')}"/>`,
      );
    }
    // A line of one point draws nothing: it gets its dot even where dots are off (a run stopped at its first step).
    if (s.dots === false && pts.length !== 1) continue;
    const opacity = s.opacity !== undefined ? ` fill-opacity="${s.opacity}"` : '';
    for (const [x, y] of pts) parts.push(`<circle class="point" data-series="${key}" cx="${fmt(x)}" cy="${fmt(y)}" r="3" fill="${s.color}"${opacity}/>`);
  }

  parts.push(...drawLegend(rows, width - right));
  parts.push('</svg>');
  return parts.join('\n');
}
