import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { isTrainerError } from '../../src/shared/errors.js';
import { readRun } from '../../src/report/read-run.js';
import { tempDir } from '../helpers.js';

const line = (epoch: number) =>
  JSON.stringify({ epoch, step: epoch * 10, trainLoss: 1, runningAcc: 0.5, trainAcc: null, valAcc: null, valLoss: null, imagesPerSec: 100, elapsedSec: epoch, workers: 1 });

test('a run folder is read in epoch order, skipping a torn metrics line; a folder without config.json is E_USAGE', async () => {
  const dir = await tempDir();
  await writeFile(join(dir, 'config.json'), JSON.stringify({ run: { name: 'x' } }));
  await writeFile(join(dir, 'metrics.jsonl'), `${line(2)}\n${line(1)}\n{"epoch":3,"st`);
  await writeFile(join(dir, 'workers.json'), JSON.stringify([{ worker: 'local', microBatches: 8, examples: 100, computeMs: 12 }, { bad: 1 }]));
  const run = await readRun(dir);
  assert.deepEqual(run.metrics.map((m) => m.epoch), [1, 2]);
  assert.deepEqual(run.workers.map((w) => w.worker), ['local']);

  const empty = join(dir, 'empty');
  await mkdir(empty);
  await assert.rejects(readRun(empty), (e) => isTrainerError(e, 'E_USAGE') && /not a run folder/.test(e.message));
});

test('a path that is not a run folder says why: no such folder (a mistyped path), a file, no config.json, a model folder, a config.json that is not JSON', async () => {
  const dir = await tempDir();
  const said = async (path: string) => {
    const err = await readRun(path).then(() => null, (e: unknown) => e);
    assert.ok(isTrainerError(err, 'E_USAGE'), String(err));
    return err.message;
  };
  assert.equal(await said(join(dir, 'nope')), `${join(dir, 'nope')} is not a run folder: no such file or folder (ENOENT)`);
  await writeFile(join(dir, 'file'), 'x');
  assert.equal(await said(join(dir, 'file')), `${join(dir, 'file')} is not a run folder: a file, not a folder`);
  await mkdir(join(dir, 'empty'));
  assert.equal(await said(join(dir, 'empty')), `${join(dir, 'empty')} is not a run folder: no config.json in it`);
  // A run's model/ given where the run was meant.
  await mkdir(join(dir, 'model'));
  await writeFile(join(dir, 'model', 'model.json'), '{}');
  assert.equal(await said(join(dir, 'model')), `${join(dir, 'model')} is not a run folder: it holds an exported model (model.json); give the run folder that holds it as model/`);
  await mkdir(join(dir, 'torn'));
  await writeFile(join(dir, 'torn', 'config.json'), '{"run": {');
  assert.match(await said(join(dir, 'torn')), new RegExp(`^${join(dir, 'torn', 'config.json')} is not valid JSON: `));
});
