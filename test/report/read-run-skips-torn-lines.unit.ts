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
