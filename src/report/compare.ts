/**
 * One page comparing several runs (`trainer report RUN_A RUN_B ...`): their
 * training loss per step on one chart, train and validation accuracy per
 * epoch, a table of where each ended, and the config keys on which they
 * differ. Self-contained like report.html: inline CSS and SVG, no script.
 */
import { basename, resolve, sep } from 'node:path';
import { epochMarks, lossPerStepChart, runColor } from './charts.js';
import { storedPaths } from '../coordinator/run-config.js';
import { CSS, divergedNote, pct, redacted } from './html.js';
import { progress, type RunRecord } from './read-run.js';
import { escapeHtml, lineChart } from './svg-chart.js';

/** The run's name for legends: config run.name, else the folder's name. */
function nameOf(run: RunRecord): string {
  const r = run.config.run as { name?: unknown } | undefined;
  return typeof r?.name === 'string' ? r.name : basename(run.dir);
}

/**
 * Each run's label on the page: its name, or where two runs share one (the same config run in two
 * run.dirs, on two machines, or a folder copied), the fewest last parts of their folders' paths
 * that tell them apart (`a/runs/demo`, `b/runs/demo`); a folder given twice gets `#2`. Three runs
 * called "demo" were three legend entries and table rows of that one name.
 */
export function runLabels(runs: readonly RunRecord[]): string[] {
  const names = runs.map(nameOf);
  const labels = [...names];
  for (const name of new Set(names)) {
    const group = names.flatMap((n, i) => (n === name ? [i] : []));
    if (group.length < 2) continue;
    const parts = group.map((i) => resolve((runs[i] as RunRecord).dir).split(sep).filter(Boolean));
    // As many last parts as it takes to tell the folders apart (a folder given twice stays one).
    const folders = new Set(parts.map((p) => p.join('/'))).size;
    let k = 1;
    const tail = (p: string[]) => p.slice(-k).join('/');
    while (new Set(parts.map(tail)).size < folders) k++;
    const seen = new Map<string, number>();
    group.forEach((i, j) => {
      const t = tail(parts[j] as string[]);
      const n = (seen.get(t) ?? 0) + 1;
      seen.set(t, n);
      labels[i] = n === 1 ? t : `${t} #${n}`;
    });
  }
  return labels;
}

const isPlain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function leaves(v: unknown, prefix = '', out = new Map<string, string>()): Map<string, string> {
  if (isPlain(v)) for (const [k, x] of Object.entries(v)) leaves(x, prefix ? `${prefix}.${k}` : k, out);
  else out.set(prefix, JSON.stringify(v));
  return out;
}

/**
 * Keys that say where a run is, not how it trained (the page's top line names each run's folder).
 * run.dir is kept as typed and relative to the folder the run was started in: runs side by side in
 * one folder differed there as `runs`, `./runs`, an absolute path, or `.` from inside it.
 */
const LOCATION_KEYS: ReadonlySet<string> = new Set(['run.name', 'run.dir']);

/**
 * Config keys whose values are not the same in every run, with each run's value. File paths are
 * compared as the files they name (storedPaths: a run kept before they were stored absolute has
 * them relative to where it started).
 */
export function configDifferences(runs: readonly RunRecord[]): { key: string; values: string[] }[] {
  const flat = runs.map((r) => leaves(redacted(storedPaths(r.config, r.dir))));
  const keys = [...new Set(flat.flatMap((f) => [...f.keys()]))].filter((k) => !LOCATION_KEYS.has(k)).sort();
  return keys
    .map((key) => ({ key, values: flat.map((f) => f.get(key) ?? '–') }))
    .filter((d) => new Set(d.values).size > 1);
}

/**
 * Where epochs ended, when every run that got to an epoch ended it at the same step; none when
 * two runs disagree. The longest run's marks were drawn for all, at the wrong steps for a run of
 * another batch size or class subset, whose epochs are longer or shorter.
 */
export function sharedEpochEnds(runs: readonly RunRecord[]): { epoch: number; step: number }[] {
  const ends = new Map<number, number>();
  for (const m of runs.flatMap((r) => r.metrics)) {
    const step = ends.get(m.epoch);
    if (step === undefined) ends.set(m.epoch, m.step);
    else if (step !== m.step) return [];
  }
  return [...ends].map(([epoch, step]) => ({ epoch, step })).sort((a, b) => a.epoch - b.epoch);
}

/**
 * The run's last training loss: its last finished epoch's mean; for a run stopped before its first
 * epoch ended, its last steps.jsonl line's (the mean of the steps logged there), marked with that
 * step, since it is not an epoch's. Such a run showed "–", though it had logged its loss.
 */
function lastLoss(run: RunRecord): { text: string; ofSteps: boolean } {
  const [epoch, step] = [run.metrics.at(-1), run.steps.at(-1)];
  if (epoch) return { text: epoch.trainLoss.toFixed(4), ofSteps: false };
  if (step) return { text: `${step.loss.toFixed(4)} (step ${step.step})`, ofSteps: true };
  return { text: '–', ofSteps: false };
}

/**
 * The run's speed, as its last loss is taken: its last finished epoch's images/s; before its first
 * epoch ended, its last steps.jsonl line's (the rate over the steps logged there), marked so.
 */
function lastSpeed(run: RunRecord): string {
  const [epoch, step] = [run.metrics.at(-1), run.steps.at(-1)];
  if (epoch) return String(Math.round(epoch.imagesPerSec));
  if (step && Number.isFinite(step.imagesPerSec)) return `${Math.round(step.imagesPerSec)} (step ${step.step})`;
  return '–';
}

/**
 * The run's accuracies: its last evaluated epoch's, marked with that epoch when it is not the run's
 * last finished one (eval.every, and a run stopped before its next evaluation). A run stopped at
 * epoch 3 of `eval.every: 2` showed epoch 2's accuracies beside epoch 3's loss, as if they were its.
 */
function lastAccuracy(run: RunRecord): { train: string; val: string; earlier: boolean } {
  const evald = [...run.metrics].reverse().find((m) => m.trainAcc !== null && m.valAcc !== null);
  const earlier = evald !== undefined && evald.epoch !== run.metrics.at(-1)?.epoch;
  const mark = earlier ? ` (epoch ${evald.epoch})` : '';
  return { train: `${pct(evald?.trainAcc)}${mark}`, val: `${pct(evald?.valAcc)}${mark}`, earlier };
}

export function renderComparison(runs: readonly RunRecord[], now = new Date()): string {
  const names = runLabels(runs);
  const color = runColor;
  const parts: string[] = [];
  const title = `trainer: ${names.join(' vs ')}`;
  parts.push(`<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>`);
  parts.push(`<meta name="viewport" content="width=device-width, initial-scale=1"><style>${CSS}</style></head><body>`);
  parts.push(`<h1>${escapeHtml(title)}</h1>`);
  parts.push(`<p class="sub">${runs.map((r) => escapeHtml(r.dir)).join(' · ')} · generated ${escapeHtml(now.toISOString())}</p>`);

  parts.push('<h2>Runs</h2><div class="table-wrap"><table id="runs"><tr><th>run</th><th>epochs</th><th>steps</th><th>last loss</th><th>train acc</th><th>val acc</th><th>images/s</th><th>elapsed s</th></tr>');
  runs.forEach((r, i) => {
    const done = progress(r);
    const acc = lastAccuracy(r);
    parts.push(
      `<tr class="run"><td><span style="color:${color(i)}">■</span> ${escapeHtml(names[i] as string)}` +
        `${r.diverged === null ? '' : ' <span class="diverged">(diverged)</span>'}</td><td>${r.metrics.length}</td>` +
        `<td>${done?.step ?? 0}</td><td>${lastLoss(r).text}</td><td>${acc.train}</td><td>${acc.val}</td>` +
        `<td>${lastSpeed(r)}</td><td>${done ? done.elapsedSec.toFixed(1) : '–'}</td></tr>`,
    );
  });
  parts.push('</table></div>');
  runs.forEach((r, i) => {
    if (r.diverged !== null) parts.push(divergedNote(r.diverged, names[i] as string, `diverged-run${i}`));
  });
  if (runs.some((r) => lastLoss(r).ofSteps)) {
    parts.push(
      '<p class="note" id="step-loss">last loss: the mean training loss of the last finished epoch. "(step N)": the run stopped before ' +
        'its first epoch ended, and this is its last line in steps.jsonl, the mean loss of the steps logged there (up to step N), not an epoch\'s; ' +
        'its images/s is that line\'s too, the rate over those steps.</p>',
    );
  }
  if (runs.some((r) => lastAccuracy(r).earlier)) {
    parts.push(
      '<p class="note" id="earlier-accuracy">train acc, val acc: those of the last evaluated epoch. "(epoch N)": the run\'s later ' +
        'epochs were not evaluated (<code>eval.every</code>; it stopped before its next evaluation), and these are epoch N\'s.</p>',
    );
  }

  parts.push('<h2>Curves</h2><div class="charts">');
  const stepped = runs.map((r, i) => ({ key: `run${i}`, label: names[i] as string, color: color(i), steps: r.steps })).filter((s) => s.steps.length > 0);
  if (stepped.length > 0) {
    const drawn = runs.filter((r) => r.steps.length > 0);
    const ends = sharedEpochEnds(drawn);
    parts.push(lossPerStepChart({ id: 'chart-steps', runs: stepped, marks: epochMarks(ends), width: 1140 }));
    if (ends.length === 0 && drawn.some((r) => r.metrics.length > 0)) {
      parts.push('<p class="note" id="no-epoch-marks">No epoch marks: the runs\' epochs end at different steps (batch sizes or data differ).</p>');
    }
  } else {
    parts.push('<p class="note">No steps.jsonl in these run folders: no per-step loss to compare.</p>');
  }
  const epochs = [...new Set(runs.flatMap((r) => r.metrics.map((m) => m.epoch)))].sort((a, b) => a - b);
  const perEpoch = (key: 'valAcc' | 'trainAcc', dashed: boolean) =>
    runs.map((r, i) => ({
      key: `run${i}-${key}`,
      label: `${names[i]} ${key === 'valAcc' ? 'val' : 'train'}`,
      color: color(i),
      xs: r.metrics.map((m) => m.epoch),
      values: r.metrics.map((m) => m[key]),
      dashed,
    }));
  if (epochs.length > 0) {
    parts.push(
      lineChart({
        id: 'chart-accuracy',
        title: 'Accuracy per epoch (solid: validation, dashed: train)',
        xLabel: 'epoch',
        yLabel: 'accuracy',
        xs: epochs,
        yRange: [0, 1],
        yDecimals: 1,
        series: [...perEpoch('valAcc', false), ...perEpoch('trainAcc', true)],
        width: 1140,
      }),
    );
  }
  parts.push('</div>');

  const diffs = configDifferences(runs);
  parts.push('<h2>How the configs differ</h2>');
  if (diffs.length === 0) {
    parts.push('<p class="note" id="no-differences">The runs have the same config (apart from their names and folders).</p>');
  } else {
    parts.push(`<div class="table-wrap"><table id="differences"><tr><th>key</th>${names.map((n) => `<th>${escapeHtml(n)}</th>`).join('')}</tr>`);
    for (const d of diffs) parts.push(`<tr class="difference"><td>${escapeHtml(d.key)}</td>${d.values.map((v) => `<td>${escapeHtml(v)}</td>`).join('')}</tr>`);
    parts.push('</table></div>');
  }
  parts.push('</body></html>\n');
  return parts.join('\n');
}
