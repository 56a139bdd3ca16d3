import assert from 'node:assert/strict';
import test from 'node:test';
import { PALETTE, runColor } from '../../src/report/charts.js';
import { lineChart, niceTicks } from '../../src/report/svg-chart.js';

test('a line chart draws one point per non-null value, left to right, inside the plot, with labels escaped', () => {
  const svg = lineChart({
    id: 'c',
    title: 'Loss <per> epoch',
    xLabel: 'epoch',
    yLabel: 'loss',
    xs: [1, 2, 3, 4],
    series: [
      { key: 'a', label: 'a & b', color: '#000', values: [4, 3, 2, 1] },
      { key: 'v', label: 'val', color: '#f00', values: [null, 2.5, null, 1.5] },
    ],
    width: 500,
    height: 300,
  });
  const points = (key: string) =>
    [...svg.matchAll(new RegExp(`<circle class="point" data-series="${key}" cx="([\\d.]+)" cy="([\\d.]+)"`, 'g'))].map((m) => [
      Number(m[1]),
      Number(m[2]),
    ]);
  const a = points('a');
  assert.equal(a.length, 4);
  assert.equal(points('v').length, 2);
  for (let i = 1; i < a.length; i++) {
    assert.ok(a[i]![0]! > a[i - 1]![0]!, 'x grows with the epoch');
    assert.ok(a[i]![1]! > a[i - 1]![1]!, 'a falling value is drawn lower (larger y)');
  }
  for (const [x, y] of [...a, ...points('v')]) assert.ok(x! >= 0 && x! <= 500 && y! >= 0 && y! <= 300);
  const vLine = /<polyline class="line" data-series="v"[^>]* points="([^"]+)"/.exec(svg)?.[1] ?? '';
  assert.equal(vLine.split(' ').length, 2, 'the line joins the points on either side of a gap');
  assert.match(svg, /Loss &lt;per&gt; epoch/);
  assert.match(svg, /a &amp; b/);
  assert.doesNotMatch(svg, /<script/);

  const one = lineChart({ id: 'o', title: 't', xLabel: 'x', yLabel: 'y', xs: [1], series: [{ key: 's', label: 's', color: '#000', values: [0.5] }] });
  assert.match(one, /<circle class="point" data-series="s" cx="[\d.]+" cy="[\d.]+"/, 'a single epoch is one point, not NaN');
  assert.doesNotMatch(one, /NaN/);
  assert.deepEqual(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
});

test('niceTicks gives at least three round ticks inside any range, and not many more than asked', () => {
  assert.deepEqual(niceTicks(2.01897157720226, 2.148461075268961), [2.025, 2.05, 2.075, 2.1, 2.125], 'a range where the first round step left two');
  let seed = 7;
  const random = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
  for (let i = 0; i < 20_000; i++) {
    const lo = (random() - 0.5) * 10 ** Math.floor(random() * 8 - 3);
    const hi = lo + random() * 10 ** Math.floor(random() * 8 - 4) + 1e-6;
    const ticks = niceTicks(lo, hi);
    assert.ok(ticks.length >= 3 && ticks.length <= 11, `${ticks.length} ticks for [${lo}, ${hi}]`);
    assert.ok(ticks.every((t) => t >= lo - (hi - lo) * 1e-9 && t <= hi + (hi - lo) * 1e-9), `inside [${lo}, ${hi}]`);
  }
});

test('a comparison of many runs gives each its own colour (the 9th had the 1st one\'s)', () => {
  const colors = Array.from({ length: 40 }, (_, i) => runColor(i));
  assert.equal(new Set(colors).size, 40);
  assert.deepEqual(colors.slice(0, 8), PALETTE);
});
