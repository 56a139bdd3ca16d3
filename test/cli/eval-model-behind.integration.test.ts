import assert from 'node:assert/strict';
import { join } from 'node:path';
import test from 'node:test';
import { loadCheckpoint, saveCheckpoint } from '../../src/coordinator/checkpoint.js';
import { tempDir } from '../helpers.js';
import { smallConfigFile, trainer } from './cli-helpers.js';
import { readFile, writeFile } from 'node:fs/promises';
import { PNG } from 'pngjs';

test('eval and predict say when the model is from before a resume for more epochs that has not ended (they used it without a word)', async () => {
  const dir = await tempDir();
  assert.equal(trainer(['train', '-c', await smallConfigFile(dir, 'more', 1)]).code, 0);
  const run = join(dir, 'runs', 'more');
  const image = join(dir, 'x.png');
  await writeFile(image, PNG.sync.write(new PNG({ width: 8, height: 8 })));
  // Finished: the model is the run's.
  for (const [args, stderr] of [[['eval', run], 'backend: wasm\n'], [['predict', '--run', run, image], '']] as const) {
    const r = trainer([...args]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, stderr, args[0]);
  }
  // A model.json that names another model than the run's: predict built that one, eval the run's.
  const modelJson = join(run, 'model', 'model.json');
  const original = await readFile(modelJson, 'utf8');
  const json = JSON.parse(original);
  json.userDefinedMetadata.trainer.model = 'fc';
  await writeFile(modelJson, JSON.stringify(json));
  const other = trainer(['eval', run]);
  assert.deepEqual([other.code, other.stderr], [2, `error E_MODEL: ${join(run, 'model')}/model.json holds model "fc", the run trains "net": damaged, or not this run's model\n`]);
  await writeFile(modelJson, original);
  // What `--resume --train.epochs 3` stopped in its second epoch leaves: the checkpoint ahead of the model (its weights moved on).
  const file = join(run, 'checkpoint', 'state.ckpt');
  const ck = await loadCheckpoint(file);
  const params = ck.params.map((p) => p * 0.5);
  await saveCheckpoint(file, { ...ck, params, epoch: 1, stepInEpoch: 2, config: { ...ck.config, train: { ...ck.config.train, epochs: 3 } } });
  const note =
    `note: ${join(run, 'model')} is the model of the run's earlier end: the run was resumed for 3 epochs and its checkpoint is in epoch 2; ` +
    `it writes a new model at its end (finish it with trainer train --run.dir ${join(dir, 'runs')} --run.name more --resume)\n`;
  for (const args of [['eval', run, '--json'], ['predict', '--run', run, image, '--json']]) {
    const r = trainer(args);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, note, args[0]);
    JSON.parse(r.stdout.split('\n')[0] ?? '');
  }
});
