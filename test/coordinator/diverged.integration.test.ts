import assert from 'node:assert/strict';
import { access, readFile } from 'node:fs/promises';
import test from 'node:test';
import { loadCheckpoint } from '../../src/coordinator/checkpoint.js';
import { RunFolder } from '../../src/coordinator/run-folder.js';
import { runTraining } from '../../src/coordinator/run.js';
import { isTrainerError } from '../../src/shared/errors.js';
import { createInProcessPool } from '../../src/transports/in-process.js';
import type { PoolFactory } from '../../src/transports/pool.js';
import { poisonedFrom, quietLog, smallConfig, tempDir } from '../helpers.js';

const exists = (f: string) => access(f).then(() => true, () => false);

test('train.lr 1e308 stops at the first step with E_DIVERGED, saving no checkpoint and no model', async () => {
  const dir = await tempDir();
  const config = smallConfig(dir, { run: { name: 'lr-huge' }, train: { lr: 1e308, momentum: 0 } });
  await assert.rejects(runTraining({ config, resume: false, createPool: createInProcessPool as PoolFactory, log: quietLog }), (err) => {
    assert.ok(isTrainerError(err, 'E_DIVERGED'), String(err));
    assert.match(err.message, /^the update of step 1 makes weights non-finite \(train\.lr 1e\+308\): the run diverged and stops/);
    return true;
  });
  const folder = RunFolder.of(config);
  assert.equal(await exists(folder.checkpointFile), false);
  assert.equal(await exists(folder.modelDir), false);
});

test('a huge train.weightDecay diverges naming it beside train.lr (the hint said "lower train.lr?" alone)', async () => {
  const dir = await tempDir();
  const config = smallConfig(dir, { run: { name: 'decay-huge' }, train: { lr: 0.01, weightDecay: 1e40, momentum: 0 } });
  await assert.rejects(runTraining({ config, resume: false, createPool: createInProcessPool as PoolFactory, log: quietLog }), (err) => {
    assert.ok(isTrainerError(err, 'E_DIVERGED'), String(err));
    assert.match(err.message, /^the update of step 1 makes weights non-finite \(train\.lr 0\.01, train\.weightDecay 1e\+40\): .* \(lower train\.lr or train\.weightDecay\?\)$/);
    return true;
  });
});

test('E_DIVERGED names steps as steps.jsonl counts them: the second step when the first went through (it said "step 1", steps.jsonl had step 1 done)', async () => {
  const dir = await tempDir();
  const config = smallConfig(dir, { run: { name: 'lr-big' }, train: { lr: 1e37, momentum: 0.9 }, log: { everySteps: 1 } });
  await assert.rejects(runTraining({ config, resume: false, createPool: createInProcessPool as PoolFactory, log: quietLog }), (err) => {
    assert.ok(isTrainerError(err, 'E_DIVERGED'), String(err));
    assert.match(err.message, /^the update of step 2 makes weights non-finite/);
    return true;
  });
  const steps = (await readFile(RunFolder.of(config).stepsFile, 'utf8')).trim().split('\n').map((l) => (JSON.parse(l) as { step: number }).step);
  assert.deepEqual(steps, [1]);
});

test('a step whose gradients overflow in the sum is not applied: E_DIVERGED, and the last good checkpoint is kept byte for byte; the folder says the run diverged, for eval and predict', async () => {
  const dir = await tempDir();
  const config = smallConfig(dir, { run: { name: 'poisoned' }, train: { epochs: 2 } });
  const folder = RunFolder.of(config);
  let epoch1: Buffer | null = null;
  const poisoning = poisonedFrom(12, async () => {
    epoch1 = await readFile(folder.checkpointFile);
  });
  await assert.rejects(runTraining({ config, resume: false, createPool: poisoning, log: quietLog }), (err) => isTrainerError(err, 'E_DIVERGED') && /step 13 /.test(err.message)); // pool step 12, the 13th step
  assert.ok(epoch1, 'the poison came after the first checkpoint');
  assert.deepEqual(await readFile(folder.checkpointFile), epoch1);
  assert.equal((await loadCheckpoint(folder.checkpointFile)).epoch, 1);
  assert.match(await readFile(folder.divergedFile, 'utf8'), /^the update of step 13 makes weights non-finite/);
});

test('trainer train that diverges exits 2, as a config error does: a scheduler restarting it would diverge again (the Kubernetes Job fails on exit 2)', async () => {
  const { smallConfigFile, trainer } = await import('../cli/cli-helpers.js');
  const dir = await tempDir();
  const r = trainer(['train', '--config', await smallConfigFile(dir, 'far', 1), '--train.lr', '1e37', '--train.momentum', '0.9']);
  assert.match(r.stderr, /^error E_DIVERGED: the update of step 2 makes weights non-finite/m);
  assert.equal(r.code, 2);
});
