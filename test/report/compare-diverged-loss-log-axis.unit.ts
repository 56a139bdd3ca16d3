import assert from 'node:assert/strict';
import test from 'node:test';
import { renderComparison } from '../../src/report/compare.js';
import { renderReport } from '../../src/report/html.js';
import { readRun } from '../../src/report/read-run.js';
import { tempDir } from '../helpers.js';
import { writeRun } from './written-run.js';

/** The per-step chart of a page: its y axis label, its y ticks (value, y) and the points (y) of each line. */
function stepChart(page: string) {
  const svg = /<svg id="chart-steps"[\s\S]*?<\/svg>/.exec(page)?.[0] ?? '';
  const axis = [...svg.matchAll(/rotate\(-90\)" class="axis"[^>]*>([^<]*)</g)].map((m) => m[1])[0];
  const ticks = [...svg.matchAll(/<text x="[\d.]+" y="([\d.]+)" class="ytick"[^>]*>([^<]*)</g)].map((m) => ({ y: Number(m[1]), value: Number(m[2]) }));
  const lines = [...svg.matchAll(/<polyline class="line" data-series="([^"]+)"[^>]*points="([^"]*)"/g)];
  const line = (series: string) => lines.find((m) => m[1] === series)?.[2]?.split(' ').map((p) => Number(p.split(',')[1])) ?? [];
  return { axis, ticks, line };
}

test("a comparison with a diverged run draws the loss per step on a log axis: the other runs' curves lay flat on 0 (read as a loss of 0)", async () => {
  const dir = await tempDir();
  // A calm run from about 2.2 down to 0.6, and one whose loss grows tenfold every 3 steps to 2e10, as lr 1e9 did.
  const calm = await readRun(await writeRun(dir, { name: 'calm', epochs: 3, stepsPerEpoch: 10 }));
  const diverged = await readRun(
    await writeRun(dir, { name: 'diverged', epochs: 3, epochsDone: 1, stepsPerEpoch: 10, stepsAfter: 7, diverged: 'the update of step 18 makes weights non-finite', loss: (step) => 2 * 10 ** (step / 1.7) }),
  );
  const { axis, ticks, line } = stepChart(renderComparison([calm, diverged]));
  assert.equal(axis, 'cross-entropy (log scale)');

  // Each of the calm run's points reads, between the ticks around it, as its loss (within 5 %): measured
  // on the old linear axis (0 to 2e10), every one of them read as 0.
  const calmYs = line('run0-raw');
  assert.equal(calmYs.length, calm.steps.length);
  const [lo, hi] = [ticks[0], ticks.at(-1)] as { y: number; value: number }[] as [{ y: number; value: number }, { y: number; value: number }];
  const read = (y: number) => 10 ** (Math.log10(lo.value) + ((lo.y - y) / (lo.y - hi.y)) * (Math.log10(hi.value) - Math.log10(lo.value)));
  calm.steps.forEach((s, i) => {
    const shown = read(calmYs[i] as number);
    assert.ok(Math.abs(shown - s.loss) / s.loss < 0.05, `step ${s.step}: loss ${s.loss} is drawn at ${shown}`);
  });
  assert.ok(ticks.every((t) => Number.isFinite(t.value) && t.value > 0), `ticks ${ticks.map((t) => t.value)}`);

  // A run that trains as runs do keeps its linear axis, alone and beside another such run.
  assert.equal(stepChart(renderReport(calm)).axis, 'cross-entropy');
  assert.equal(stepChart(renderComparison([calm, calm])).axis, 'cross-entropy');
});
