import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { RunFolder } from '../../src/coordinator/run-folder.js';
import { MAX_STEP_POINTS } from '../../src/report/step-points.js';
import { trainer } from '../cli/cli-helpers.js';
import { tempDir } from '../helpers.js';
import { writeRun } from './written-run.js';

/** The vertices of the polyline drawn for `series`. */
const vertices = (html: string, series: string) => (new RegExp(`<polyline class="line" data-series="${series}"[^>]* points="([^"]+)"`).exec(html)?.[1] ?? '').split(' ').filter(Boolean).length;

const SPIKE_AT = 61_234;

test('trainer report of a run of 100,000 steps.jsonl lines, and a comparison of it with two more, write pages of bounded size that still show the whole run and its spikes (it failed E_INTERNAL, call stack exceeded)', async () => {
  const dir = await tempDir();
  const long = await writeRun(dir, {
    name: 'long',
    epochs: 10,
    stepsPerEpoch: 10_000,
    // One logged loss far above the rest: a mean of its bucket would hide it.
    loss: (step, steps) => (step === SPIKE_AT ? 40 : 0.5 + 1.5 * Math.exp(-step / steps) + 0.2 * (((step * 7919) % 13) / 13)),
  });
  const one = trainer(['report', long]);
  assert.equal(one.code, 0, one.stderr);
  assert.equal(one.stderr, '');
  const page = await readFile(new RunFolder(long).reportFile, 'utf8');
  assert.ok(page.length < 100_000, `report.html of ${page.length} bytes`);
  assert.ok(vertices(page, 'loss') <= MAX_STEP_POINTS, `${vertices(page, 'loss')} vertices of the smoothed loss`);
  assert.ok(vertices(page, 'loss-raw') <= 2 * MAX_STEP_POINTS, `${vertices(page, 'loss-raw')} vertices of the loss as logged`);
  assert.match(page, /class="xtick"[^>]*>100000</, 'the steps axis runs to the last step');
  const yTicks = [...page.matchAll(/class="ytick"[^>]*>([\d.]+)</g)].map((m) => Number(m[1]));
  assert.ok(Math.max(...yTicks) >= 40, `the spike of step ${SPIKE_AT} is drawn (y ticks ${yTicks.join(', ')})`);

  const others = [await writeRun(dir, { name: 'b', epochs: 4, stepsPerEpoch: 2_500 }), await writeRun(dir, { name: 'c', epochs: 4, stepsPerEpoch: 2_500 })];
  const out = join(dir, 'compare.html');
  const three = trainer(['report', long, ...others, '--out', out]);
  assert.equal(three.code, 0, three.stderr);
  const comparison = await readFile(out, 'utf8');
  assert.ok(comparison.length < 200_000, `comparison of ${comparison.length} bytes`);
  for (const run of ['run0', 'run1', 'run2']) assert.ok(vertices(comparison, run) > 0 && vertices(comparison, run) <= MAX_STEP_POINTS, run);
});
