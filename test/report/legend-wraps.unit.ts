import assert from 'node:assert/strict';
import test from 'node:test';
import { renderComparison } from '../../src/report/compare.js';
import { readRun } from '../../src/report/read-run.js';
import { lineChart } from '../../src/report/svg-chart.js';
import { textWidth } from '../../src/report/text-width.js';
import { tempDir } from '../helpers.js';
import { writeRun } from './written-run.js';

/** Each legend entry's line start, label start and label, the plot's top, and the chart's width. */
function legendOf(svg: string) {
  const entries = [...svg.matchAll(/<line x1="([-\d.]+)"[^>]*y1="([\d.]+)"[^>]*\/><text x="([-\d.]+)" y="[\d.]+" class="legend">([^<]*)</g)].map((m) => ({
    x: Number(m[1]),
    y: Number(m[2]),
    textX: Number(m[3]),
    label: m[4] as string,
  }));
  const plotTop = Number(/<rect class="plot" x="[\d.]+" y="([\d.]+)"/.exec(svg)?.[1]);
  const width = Number(/<svg [^>]*width="(\d+)"/.exec(svg)?.[1]);
  return { entries, plotTop, width };
}

/**
 * Every entry inside the chart, above the plot, and clear of the next one in its row, by the widths
 * the layout counts (text-width.ts; chart-text-in-chromium checks them against what Chromium draws).
 */
function assertLaidOut(svg: string, labels: string[]): void {
  const { entries, plotTop, width } = legendOf(svg);
  assert.equal(entries.length, labels.length, 'one entry per series');
  entries.forEach((e, i) => assert.ok(e.label === labels[i] || (e.label.endsWith('…') && labels[i]?.startsWith(e.label.slice(0, -1))), `entry ${i}: ${e.label}`));
  for (const [i, e] of entries.entries()) {
    const end = e.textX + textWidth(e.label);
    assert.ok(e.x >= 0 && end <= width, `"${e.label}" from ${e.x} to ${end} in a chart ${width} wide`);
    assert.ok(e.y + 4 < plotTop, `"${e.label}" at y ${e.y} is above the plot (top ${plotTop})`);
    const next = entries[i + 1];
    if (next && next.y === e.y) assert.ok(end <= next.x, `"${e.label}" ends at ${end}, before "${next.label}" at ${next.x}`);
  }
}

test('a chart legend too wide for one row wraps into more rows inside the chart (it ran off the left edge with 3 long run names or 7 short ones)', async () => {
  const dir = await tempDir();
  for (const names of [['a-rather-long-run-name-number-1', 'a-rather-long-run-name-number-2', 'a-rather-long-run-name-number-3'], ['run-1', 'run-2', 'run-3', 'run-4', 'run-5', 'run-6', 'run-7']]) {
    const runs = await Promise.all(names.map(async (name) => readRun(await writeRun(dir, { name, epochs: 2, stepsPerEpoch: 4 }))));
    const svg = /<svg id="chart-accuracy"[\s\S]*?<\/svg>/.exec(renderComparison(runs))?.[0] ?? '';
    assertLaidOut(svg, [...names.map((n) => `${n} val`), ...names.map((n) => `${n} train`)]);
    assert.ok(new Set(legendOf(svg).entries.map((e) => e.y)).size > 1, 'more than one row');
  }

  const label = 'x'.repeat(120);
  const narrow = lineChart({ id: 'c', title: 't', xLabel: 'x', yLabel: 'y', xs: [1, 2], width: 400, height: 300, series: [{ key: 's', label, color: '#000', values: [1, 2] }, { key: 'v', label: 'val', color: '#f00', values: [2, 1] }] });
  assertLaidOut(narrow, [label, 'val']);
  assert.match(narrow, /class="legend">x+…</, 'a label longer than a row is cut short');
  const rect = /<rect class="plot" x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="([\d.]+)"/.exec(narrow);
  assert.equal(Number(rect?.[2]), 300 - 48 - 44, 'the plot keeps its height: the chart grows by the rows past the first');
});
