/**
 * report.html: one self-contained page (inline CSS and SVG, no script, no
 * fonts, no links out), so it opens from disk anywhere, offline.
 */
import { stringify as toYaml } from 'yaml';
import { plural } from '../shared/plural.js';
import { hideCredentials } from '../shared/url.js';
import type { EpochMetrics } from '../coordinator/run-folder.js';
import { workerImagesPerSec, type WorkerStats } from '../transports/pool.js';
import { progress, type RunRecord } from './read-run.js';
import { epochMarks, lossPerStepChart } from './charts.js';
import { escapeHtml, lineChart } from './svg-chart.js';

/** The article's result: the CNN on CIFAR-3 after 100 epochs, in PyTorch. */
export const ARTICLE = { trainAcc: 0.93, valAcc: 0.87, classes: ['airplane', 'automobile', 'ship'], epochs: 100 } as const;

const COLORS = { train: '#1f77b4', val: '#d62728', running: '#7f7f7f', speed: '#2ca02c' };

export const CSS = `
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1180px; color: #222; padding: 0 1em; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { font-size: 1.15em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
.sub { color: #666; margin-top: 0; }
h1, h2, p { overflow-wrap: anywhere; } /* a run's name or folder with no hyphen or space ran off a phone's screen */
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
svg.chart { background: #fff; border: 1px solid #e4e4e4; max-width: 100%; height: auto; }
svg .title { font-size: 14px; font-weight: 600; } svg text { font-size: 11px; fill: #333; }
.table-wrap { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; font-size: 0.92em; } td, th { padding: 3px 10px; border-bottom: 1px solid #eee; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.bar { background: #dde7f3; height: 10px; width: 160px; } .bar > div { background: #1f77b4; height: 10px; }
pre { background: #f6f6f6; padding: 10px; overflow: auto; font-size: 0.85em; }
.note { color: #666; font-size: 0.9em; }
.diverged { color: #b00020; }
`;

/**
 * That the run diverged, with the message it stopped with, as the CLI printed it: without it a
 * diverged run's page read as one stopped by Ctrl-C, its last loss the last finite one.
 */
export function divergedNote(message: string, who: string, id: string): string {
  return `<p class="diverged" id="${id}"><strong>${escapeHtml(who)} diverged.</strong> It stopped with error E_DIVERGED: ${escapeHtml(message)}</p>`;
}

export const pct = (v: number | null | undefined) => (v === null || v === undefined ? '–' : v.toFixed(3));

export function isCifar3(config: Record<string, unknown>): boolean {
  const data = config.data as { source?: unknown; classes?: unknown } | undefined;
  return (
    data?.source === 'cifar10' &&
    Array.isArray(data.classes) &&
    data.classes.length === 3 &&
    ARTICLE.classes.every((c) => (data.classes as unknown[]).includes(c))
  );
}

function workersTable(workers: readonly WorkerStats[]): string {
  if (workers.length === 0) return '<p class="note">No per-worker counters (workers.json) in this run folder.</p>';
  const total = workers.reduce((s, w) => s + w.microBatches, 0) || 1;
  const rows = workers.map((w) => {
    const share = w.microBatches / total;
    const speed = workerImagesPerSec(w);
    return (
      `<tr class="worker"><td>${escapeHtml(w.worker)}</td><td>${escapeHtml(w.backend ?? '')}</td><td>${w.microBatches}</td>` +
      `<td>${(share * 100).toFixed(1)} %</td><td><div class="bar"><div style="width:${(share * 100).toFixed(1)}%"></div></div></td>` +
      `<td>${w.examples}</td><td>${(w.computeMs / 1000).toFixed(1)}</td><td>${Math.round(speed)}</td></tr>`
    );
  });
  return (
    '<div class="table-wrap"><table id="workers"><tr><th>worker</th><th>backend</th><th>micro-batches</th><th>share</th><th></th><th>images</th>' +
    `<th>compute s</th><th>images/s computing</th></tr>\n${rows.join('\n')}</table></div>` +
    '<p class="note">Counted since the training process started (a resumed run counts from the resume). ' +
    'A worker with several compute threads (<code>trainer worker --threads N</code>, named "(N threads)") is one row: ' +
    'its compute s is summed over its threads, and its images/s computing is all its threads\' together.</p>'
  );
}

/** The config without secrets: a report is made to be passed around. */
export function redacted(config: Record<string, unknown>): Record<string, unknown> {
  const out = { ...config };
  const cluster = config.cluster as Record<string, unknown> | undefined;
  if (cluster && cluster.token !== null && cluster.token !== undefined) out.cluster = { ...cluster, token: '(set, not shown)' };
  // Runs kept before config.json hid them may hold a download URL's user and password.
  const data = config.data as Record<string, unknown> | undefined;
  if (data && typeof data.url === 'string') out.data = { ...data, url: hideCredentials(data.url) };
  return out;
}

/** Loss, accuracy and throughput per epoch. */
function epochCharts(metrics: readonly EpochMetrics[], cifar3: boolean): string[] {
  const xs = metrics.map((m) => m.epoch);
  return [
    lineChart({
      id: 'chart-loss',
      title: 'Loss per epoch',
      xLabel: 'epoch',
      yLabel: 'cross-entropy',
      xs,
      series: [
        { key: 'trainLoss', label: 'training (running)', color: COLORS.train, values: metrics.map((m) => m.trainLoss) },
        { key: 'valLoss', label: 'validation', color: COLORS.val, values: metrics.map((m) => m.valLoss) },
      ],
    }),
    lineChart({
      id: 'chart-accuracy',
      title: 'Accuracy per epoch',
      xLabel: 'epoch',
      yLabel: 'accuracy',
      xs,
      yRange: [0, 1],
      yDecimals: 1,
      series: [
        { key: 'runningAcc', label: 'running', color: COLORS.running, values: metrics.map((m) => m.runningAcc), dashed: true },
        { key: 'trainAcc', label: 'train', color: COLORS.train, values: metrics.map((m) => m.trainAcc) },
        { key: 'valAcc', label: 'validation', color: COLORS.val, values: metrics.map((m) => m.valAcc) },
      ],
      ...(cifar3
        ? {
            references: [
              { label: `article train ${ARTICLE.trainAcc}`, y: ARTICLE.trainAcc, color: COLORS.train },
              { label: `article val ${ARTICLE.valAcc}`, y: ARTICLE.valAcc, color: COLORS.val },
            ],
          }
        : {}),
    }),
    lineChart({
      id: 'chart-speed',
      title: 'Throughput per epoch',
      xLabel: 'epoch',
      yLabel: 'images/s',
      xs,
      yDecimals: 0,
      series: [{ key: 'imagesPerSec', label: 'images/s', color: COLORS.speed, values: metrics.map((m) => m.imagesPerSec) }],
    }),
  ];
}

function epochsTable(metrics: readonly EpochMetrics[]): string {
  const rows = metrics.map(
    (m) =>
      `<tr><td>${m.epoch}</td><td>${m.step}</td><td>${m.trainLoss.toFixed(4)}</td><td>${pct(m.runningAcc)}</td>` +
      `<td>${pct(m.trainAcc)}</td><td>${pct(m.valAcc)}</td><td>${m.valLoss === null ? '–' : m.valLoss.toFixed(4)}</td>` +
      `<td>${Math.round(m.imagesPerSec)}</td><td>${m.workers}</td><td>${m.elapsedSec.toFixed(1)}</td></tr>`,
  );
  return (
    '<h2>Epochs</h2><div class="table-wrap"><table id="epochs"><tr><th>epoch</th><th>step</th><th>train loss</th><th>running acc</th>' +
    `<th>train acc</th><th>val acc</th><th>val loss</th><th>images/s</th><th>workers</th><th>elapsed s</th></tr>\n${rows.join('\n')}</table></div>`
  );
}

export function renderReport(run: RunRecord, now = new Date()): string {
  const { config, metrics } = run;
  // config.json is read as it is, and a run folder may come from someone else: text is escaped,
  // and a number is shown only when it is one (train.epochs "<img onerror=...>" was a live tag).
  const name = (config.run as { name?: unknown } | undefined)?.name;
  const epochs = (config.train as { epochs?: unknown } | undefined)?.epochs;
  const title = `trainer report: ${typeof name === 'string' ? name : run.dir}`;
  const done = progress(run);
  const lastEval = [...metrics].reverse().find((m) => m.trainAcc !== null && m.valAcc !== null);
  const cifar3 = isCifar3(config);

  const parts: string[] = [];
  parts.push(`<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>`);
  parts.push(`<meta name="viewport" content="width=device-width, initial-scale=1"><style>${CSS}</style></head><body>`);
  parts.push(`<h1>${escapeHtml(title)}</h1>`);
  parts.push(
    `<p class="sub">${escapeHtml(run.dir)} · ${metrics.length} of ${Number.isInteger(epochs) ? epochs : '?'} epochs` +
      `${done ? ` · ${plural(done.step, 'step')} · ${done.elapsedSec.toFixed(1)} s` : ''} · generated ${escapeHtml(now.toISOString())}</p>`,
  );

  if (run.diverged !== null) parts.push(divergedNote(run.diverged, 'This run', 'diverged'));

  parts.push('<h2>Accuracy</h2>');
  parts.push(
    '<div class="table-wrap"><table id="summary"><tr><th></th><th>train</th><th>validation</th></tr>' +
      `<tr><td>this run${lastEval ? `, epoch ${lastEval.epoch}` : ''}</td><td id="final-train">${pct(lastEval?.trainAcc)}</td>` +
      `<td id="final-val">${pct(lastEval?.valAcc)}</td></tr>` +
      `<tr><td>the article (PyTorch, CIFAR-3, ${ARTICLE.epochs} epochs)</td><td>${ARTICLE.trainAcc.toFixed(2)}</td><td>${ARTICLE.valAcc.toFixed(2)}</td></tr></table></div>`,
  );
  if (!cifar3) {
    parts.push(
      '<p class="note">This run is not the article\'s set-up (CIFAR-10 binary data, classes airplane, automobile, ship), ' +
        'so its accuracy is not directly comparable.</p>',
    );
  }

  // The per-step loss is drawn from the first step on: a run stopped before its first epoch ended has it.
  if (run.steps.length > 0 || metrics.length > 0) {
    parts.push('<h2>Curves</h2><div class="charts">');
    if (run.steps.length > 0) {
      parts.push(
        lossPerStepChart({
          id: 'chart-steps',
          runs: [{ key: 'loss', label: 'training loss', color: COLORS.train, steps: run.steps }],
          marks: epochMarks(metrics),
          width: 1140,
        }),
      );
    }
    if (metrics.length > 0) parts.push(...epochCharts(metrics, cifar3));
    parts.push('</div>');
  }
  if (metrics.length === 0) {
    parts.push(`<p class="note" id="no-epochs">No epoch has finished yet: ${run.steps.length > 0 ? 'no per-epoch curves or table' : 'nothing to plot'}.</p>`);
  } else {
    parts.push(epochsTable(metrics));
  }

  parts.push('<h2>Workers</h2>');
  // Every epoch's kinds: a run resumed on another kind has one kind in its later epochs (only the last was read).
  const kinds = [...new Set(run.metrics.flatMap((m) => m.backends))].sort();
  if (kinds.length > 1) {
    parts.push(`<p class="note" id="parity">parity: mixed backends (${escapeHtml(kinds.join(', '))}): the weights hash does not match a run on one backend.</p>`);
  }
  parts.push(workersTable(run.workers));
  parts.push('<h2>Config</h2>');
  parts.push(`<pre id="config">${escapeHtml(toYaml(redacted(config)))}</pre>`);
  parts.push('</body></html>\n');
  return parts.join('\n');
}
