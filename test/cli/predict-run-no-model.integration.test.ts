import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { PNG } from 'pngjs';
import { exportLayersModel } from '../../src/coordinator/export.js';
import { getModel, initParams } from '../../src/worker/model.js';
import { tempDir } from '../helpers.js';
import { trainer } from './cli-helpers.js';

test('predict --run of a folder with no model.json in it nor in its model/ (runs, not runs/demo) says it is not a run or model folder (it was: cannot read runs/model.json)', async (t) => {
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const model = getModel('net');
  await exportLayersModel(join(dir, 'runs', 'demo', 'model'), model, initParams(model, 1), { normalization: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] }, classNames: ['airplane', 'ship'] });
  await mkdir(join(dir, 'empty'));
  const png = new PNG({ width: 4, height: 4 });
  png.data.fill(200);
  await writeFile(join(dir, 'a.png'), PNG.sync.write(png));
  for (const run of ['runs', 'empty']) {
    const r = trainer(['predict', '--run', run, 'a.png'], dir);
    assert.deepEqual([r.code, r.stdout, r.stderr], [2, '', `error E_USAGE: --run ${run} is not a run or model folder: no model.json in it nor in its model/\n`]);
  }
  // Its run and its model folder still predict (predict-run-not-a-folder checks both; one here).
  assert.equal(trainer(['predict', '--run', 'runs/demo', 'a.png'], dir).code, 0);
  // A run folder (its config.json) without a model still says why it has none.
  await mkdir(join(dir, 'runs', 'early'));
  await writeFile(join(dir, 'runs', 'early', 'config.json'), '{}\n');
  const r = trainer(['predict', '--run', 'runs/early', 'a.png'], dir);
  assert.deepEqual([r.code, r.stderr], [2, 'error E_MODEL: runs/early has no model: its run stopped before its first checkpoint, so there is nothing to resume; train it again\n']);
});
