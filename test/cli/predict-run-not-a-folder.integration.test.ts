import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { PNG } from 'pngjs';
import { exportLayersModel } from '../../src/coordinator/export.js';
import { getModel, initParams } from '../../src/worker/model.js';
import { tempDir } from '../helpers.js';
import { trainer } from './cli-helpers.js';

test('predict --run of a folder that is not there, or of a file (model.json itself), says so as typed (it named RUN/model.json: ENOENT, or model.json/model.json)', async (t) => {
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const model = getModel('net');
  const modelDir = join(dir, 'runs', 'demo', 'model');
  await exportLayersModel(modelDir, model, initParams(model, 1), { normalization: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] }, classNames: ['airplane', 'ship'] });
  const png = new PNG({ width: 4, height: 4 });
  png.data.fill(200);
  await writeFile(join(dir, 'a.png'), PNG.sync.write(png));
  for (const [run, why] of [
    ['runs/dmeo', 'no such file or folder (ENOENT)'],
    ['runs/demo/model/model.json', 'a file, not a folder'],
  ] as const) {
    const r = trainer(['predict', '--run', run, 'a.png'], dir);
    assert.deepEqual([r.code, r.stdout, r.stderr], [2, '', `error E_USAGE: --run ${run} is not a run or model folder: ${why}\n`]);
  }
  for (const run of ['runs/demo', 'runs/demo/model']) assert.equal(trainer(['predict', '--run', run, 'a.png'], dir).code, 0);
});
