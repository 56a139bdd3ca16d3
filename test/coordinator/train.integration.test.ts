import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { runTraining } from '../../src/coordinator/run.js';
import type { EpochMetrics } from '../../src/coordinator/run-folder.js';
import { createInProcessPool } from '../../src/transports/in-process.js';
import { quietLog, smallConfig, tempDir } from '../helpers.js';

test('a short synthetic run lowers the loss and ends far above chance', async () => {
  const dir = await tempDir();
  const config = smallConfig(dir, {
    data: { synthetic: { trainSize: 4000, valSize: 300 } },
    train: { epochs: 4 },
    eval: { every: 2 },
  });
  const epochs: EpochMetrics[] = [];
  const result = await runTraining({ config, resume: false, createPool: createInProcessPool, log: quietLog, onEpoch: (m) => epochs.push(m) });
  assert.equal(result.outcome, 'finished');
  assert.equal(epochs.length, 4);
  const first = epochs[0] as EpochMetrics;
  const last = epochs[3] as EpochMetrics;
  assert.ok(last.trainLoss < first.trainLoss * 0.85, `loss ${first.trainLoss} -> ${last.trainLoss}`);
  assert.ok((last.valAcc ?? 0) > 0.35, `val acc ${last.valAcc} (chance 0.1)`);
  assert.equal(first.valAcc, null, 'not evaluated on epoch 1 with eval.every 2');
  assert.notEqual(epochs[1]?.valAcc, null);

  const lines = (await readFile(join(result.runDir, 'metrics.jsonl'), 'utf8')).trim().split('\n');
  assert.equal(lines.length, 4);
  const m = JSON.parse(lines[3] as string);
  for (const k of ['epoch', 'step', 'trainLoss', 'trainAcc', 'valAcc', 'imagesPerSec', 'elapsedSec']) assert.ok(k in m, k);
  assert.equal(m.step, 4 * Math.ceil(4000 / 64));
  const stored = JSON.parse(await readFile(join(result.runDir, 'config.json'), 'utf8'));
  assert.deepEqual(stored, config);
});
