import assert from 'node:assert/strict';
import test from 'node:test';
import { lossPerStepChart } from '../../src/report/charts.js';
import { renderComparison } from '../../src/report/compare.js';
import { readRun } from '../../src/report/read-run.js';
import { tempDir } from '../helpers.js';
import { writeRun } from './written-run.js';

const dots = (svg: string, key: string) => [...svg.matchAll(new RegExp(`<circle class="point" data-series="${key}" cx="([\\d.]+)" cy="([\\d.]+)"`, 'g'))];

test('a per-step series of one point is drawn as a dot (a run stopped at its first step was an invisible one-vertex polyline)', async () => {
  const one = lossPerStepChart({ id: 'c', runs: [{ key: 'loss', label: 'loss', color: '#000', steps: [{ step: 1, loss: 2.3 }] }] });
  assert.equal(dots(one, 'loss').length, 1);
  const many = lossPerStepChart({ id: 'c', runs: [{ key: 'loss', label: 'loss', color: '#000', steps: [{ step: 1, loss: 2.3 }, { step: 2, loss: 2.2 }] }] });
  assert.equal(dots(many, 'loss').length, 0, 'a line of two or more points has no dots');

  const dir = await tempDir();
  const long = await readRun(await writeRun(dir, { name: 'long', epochs: 2, stepsPerEpoch: 16 }));
  const first = await readRun(await writeRun(dir, { name: 'first', epochs: 3, epochsDone: 0, stepsPerEpoch: 16, stepsAfter: 1 }));
  const chart = /<svg id="chart-steps"[\s\S]*?<\/svg>/.exec(renderComparison([long, first]))?.[0] ?? '';
  const [dot] = dots(chart, 'run1');
  assert.ok(dot, 'the one-step run has its dot on the comparison chart');
  assert.ok(Number(dot[1]) >= 60 && Number(dot[2]) >= 48 && Number(dot[2]) <= 300 - 44, `inside the plot: ${dot[0]}`);
});
