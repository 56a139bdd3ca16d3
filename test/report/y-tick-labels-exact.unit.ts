import assert from 'node:assert/strict';
import test from 'node:test';
import { lineChart, niceTicks } from '../../src/report/svg-chart.js';

/** The y tick labels of a chart of `values`, and the ticks the gridlines are drawn at. */
function yTicks(values: number[], yDecimals?: number): { labels: string[]; ticks: number[] } {
  const svg = lineChart({ id: 'c', title: 't', xLabel: 'x', yLabel: 'y', xs: values.map((_, i) => i + 1), series: [{ key: 's', label: 's', color: '#000', values }], ...(yDecimals === undefined ? {} : { yDecimals }) });
  const labels = [...svg.matchAll(/class="ytick"[^>]*>([^<]*)</g)].map((m) => m[1] as string);
  // Each chart pads its data range by 5 % each side before taking ticks.
  const [lo, hi] = [Math.min(...values), Math.max(...values)];
  const pad = (hi - lo) * 0.05;
  return { labels, ticks: niceTicks(lo - pad, hi + pad) };
}

test('y tick labels print each gridline\'s value exactly when the tick step is 2.5 x 10^k (0, 2.5, 5, 7.5, 10 read "0, 3, 5, 8, 10")', () => {
  assert.deepEqual(yTicks([0.2, 10.3]).labels, ['0.0', '2.5', '5.0', '7.5', '10.0']);
  assert.deepEqual(yTicks([1.25, 2.3]).labels, ['1.25', '1.50', '1.75', '2.00', '2.25']);
  assert.deepEqual(yTicks([0.01, 0.1]).labels, ['0.02', '0.04', '0.06', '0.08', '0.10'], 'a step of 2 x 10^k keeps its decimals');
  assert.deepEqual(yTicks([1.2, 3.4], 0).labels, ['1.5', '2.0', '2.5', '3.0', '3.5'], 'yDecimals is the least, not the most (images/s of a slow run)');
  for (const values of [[2.019, 2.148], [0.0123, 0.0456], [-3.3, 1.9], [140, 260], [0.6, 0.9]]) {
    const { labels, ticks } = yTicks(values);
    assert.deepEqual(labels.map(Number), ticks, `labels of [${values}]`);
    assert.equal(new Set(labels.map((l) => l.split('.')[1]?.length ?? 0)).size, 1, `one number of decimals for [${values}]: ${labels}`);
  }
});
