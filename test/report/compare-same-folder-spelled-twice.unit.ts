import assert from 'node:assert/strict';
import { join } from 'node:path';
import test from 'node:test';
import { renderComparison } from '../../src/report/compare.js';
import { readRun } from '../../src/report/read-run.js';
import { tempDir } from '../helpers.js';
import { writeRun } from './written-run.js';

/** The comparison's "How the configs differ" rows: key, then each run's value. */
const differences = (html: string) =>
  [...html.matchAll(/<tr class="difference">(.*?)<\/tr>/g)].map((m) => [...(m[1] as string).matchAll(/<td>(.*?)<\/td>/g)].map((c) => c[1]));

test('the comparison of runs in one folder lists no run.dir difference however it was typed, nor a data folder spelled two ways, and keeps the real differences', async () => {
  const dir = await tempDir();
  const runs = join(dir, 'runs');
  /** A value as the page shows it: JSON, HTML-escaped. */
  const shown = (v: string) => JSON.stringify(v).replaceAll('"', '&quot;');
  const data = shown(join(dir, 'data'));
  const run = (name: string, runDirTyped: string, config: object = {}) => writeRun(dir, { name, epochs: 1, stepsPerEpoch: 4, runDirTyped, config }).then(readRun);
  // All in DIR/runs: started in DIR (runs, ./runs), anywhere (the absolute path), in DIR/runs itself (.).
  const typed = await run('typed', 'runs');
  const dotted = await run('dotted', './runs');
  const absolute = await run('absolute', runs);
  // A run kept before data.path was stored absolute: relative to where it started, DIR/runs.
  const inside = await run('inside', '.', { data: { path: '../data' } });

  const same = renderComparison([typed, dotted, absolute, inside]);
  assert.deepEqual(differences(same), [], 'run.dir was listed: "runs", "./runs", the absolute path, "."');
  assert.match(same, /<p class="note" id="no-differences">The runs have the same config \(apart from their names and folders\)\.<\/p>/);

  const otherLr = await run('other-lr', './runs', { train: { lr: 0.01 } });
  const otherData = await run('other-data', 'runs', { data: { path: join(dir, 'other-data') } });
  assert.deepEqual(differences(renderComparison([inside, otherLr, otherData])), [
    ['data.path', data, data, shown(join(dir, 'other-data'))],
    ['train.lr', '0.05', '0.01', '0.05'],
  ]);
});
