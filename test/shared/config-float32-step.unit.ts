import assert from 'node:assert/strict';
import test from 'node:test';
import { extractConfigFlags, resolveConfig } from '../../src/shared/config-file.js';
import { sgdStep } from '../../src/coordinator/optimizer.js';
import { isTrainerError } from '../../src/shared/errors.js';

const fromFlags = (...argv: string[]) => resolveConfig(undefined, extractConfigFlags(argv).overrides);
const configError = (message: string) => (err: unknown) => isTrainerError(err, 'E_CONFIG') && err.message === message;
const LR = 'train.lr must be a positive number of at least 1.4e-45, the least float32 (the SGD step computes in float32, where a smaller lr moves no weight)';

test('an lr that float32 makes 0 is E_CONFIG: --train.lr 1e-320 was taken, and the step moved no weight', async () => {
  const params = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) / 10);
  const moved = params.slice();
  sgdStep(moved, Float32Array.from(params, (p) => p * 7), { momentum: null }, { lr: 1e-320, momentum: 0, weightDecay: 0 });
  assert.deepEqual(moved, params, 'what the old code trained with');
  await assert.rejects(fromFlags('--train.lr', '1e-320'), configError(`${LR}, got 1e-320`));
  await assert.rejects(fromFlags('--train.lr', '1e-46'), configError(`${LR}, got 1e-46`));
  // The bound is a float32 number (not 0 there), and taken.
  assert.notEqual(Math.fround(1.4e-45), 0);
  assert.equal((await fromFlags('--train.lr', '1.4e-45')).train.lr, 1.4e-45);
});

test('a momentum that float32 makes 1 is E_CONFIG, as 1 is', async () => {
  assert.equal(Math.fround(0.99999999), 1);
  await assert.rejects(
    fromFlags('--train.momentum', '0.99999999'),
    configError('train.momentum must be in [0, 1) and at most 0.99999994, the largest float32 below 1 (the SGD step computes in float32), got 0.99999999'),
  );
  assert.equal((await fromFlags('--train.momentum', '0.99999994')).train.momentum, 0.99999994);
  // What float32 makes 0 acts as 0, which momentum and weightDecay take.
  assert.equal((await fromFlags('--train.momentum', '1e-320')).train.momentum, 1e-320);
  assert.equal((await fromFlags('--train.weightDecay', '1e-320')).train.weightDecay, 1e-320);
});
