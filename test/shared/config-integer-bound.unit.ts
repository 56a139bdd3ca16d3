import assert from 'node:assert/strict';
import test from 'node:test';
import { extractConfigFlags, resolveConfig } from '../../src/shared/config-file.js';
import { isTrainerError } from '../../src/shared/errors.js';

const BOUND = 'must be an integer of at most 2^53-1 (9007199254740991)';

test('an integer key past 2^53-1 states the bound, and quotes the number as typed on the command line (it said "must be a non-negative integer, got 9007199254740992")', async () => {
  await assert.rejects(
    resolveConfig(undefined, extractConfigFlags(['train', '--run.seed', '9007199254740993']).overrides),
    (err) => isTrainerError(err, 'E_CONFIG') && err.message === `run.seed ${BOUND}, got 9007199254740993`,
  );
  // A number given as a number, with no text behind it, is quoted as it is; the bound is still said.
  await assert.rejects(resolveConfig(undefined, { run: { seed: 2 ** 53 } }), (err) => isTrainerError(err, 'E_CONFIG') && err.message === `run.seed ${BOUND}, got 9007199254740992`);
  await assert.rejects(resolveConfig(undefined, { train: { epochs: 1e30 } }), (err) => isTrainerError(err, 'E_CONFIG') && err.message === `train.epochs ${BOUND}, got 1e+30`);
  assert.equal((await resolveConfig(undefined, extractConfigFlags(['--run.seed', '9007199254740991']).overrides)).run.seed, Number.MAX_SAFE_INTEGER);
});
