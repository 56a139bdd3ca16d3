import assert from 'node:assert/strict';
import test from 'node:test';
import { lineChart } from '../../src/report/svg-chart.js';
import { textWidth } from '../../src/report/text-width.js';

/** Right end (x) and text of each y tick label. */
const yLabels = (svg: string) => [...svg.matchAll(/<text x="([\d.]+)"[^>]*class="ytick"[^>]*>([^<]*)</g)].map((m) => ({ x: Number(m[1]), text: m[2] as string }));

test('y tick labels of very large or very small values fit between the axis label and the axis ("20000000000" was cut off at the left edge)', () => {
  // The last: a narrow range far from 0, whose ticks need many digits; the margin grows to fit them.
  for (const values of [[1e10, 2e10], [-3e12, 5e12], [123456, 987654], [2.5e-7, 9e-7], [1e10, 1e10 + 500]]) {
    const svg = lineChart({ id: 'c', title: 't', xLabel: 'x', yLabel: 'loss', xs: [1, 2], series: [{ key: 's', label: 's', color: '#000', values }] });
    const labels = yLabels(svg);
    assert.ok(labels.length >= 3, `ticks for [${values}]`);
    for (const l of labels) {
      // The width the layout counts (text-width.ts, checked against Chromium by chart-text-in-chromium); the rotated axis label ends at about x = 18.
      assert.ok(l.x - textWidth(l.text) >= 20, `"${l.text}" starts at ${l.x - textWidth(l.text)} for [${values}]`);
      assert.ok(Number.isFinite(Number(l.text)), `"${l.text}" is a number`);
    }
    assert.equal(new Set(labels.map((l) => l.text)).size, labels.length, `distinct labels for [${values}]: ${labels.map((l) => l.text)}`);
    if (values[1] !== 1e10 + 500) assert.ok(labels.every((l) => l.text.length <= 8), `compact labels for [${values}]: ${labels.map((l) => l.text)}`);
  }
});
