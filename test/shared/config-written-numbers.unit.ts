import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { extractConfigFlags, resolveConfig } from '../../src/shared/config-file.js';
import { copyConfig } from '../../src/shared/config-values.js';
import { isTrainerError } from '../../src/shared/errors.js';

const BOUND = 'must be an integer of at most 2^53-1 (9007199254740991)';
const configError = (message: string) => (err: unknown) => isTrainerError(err, 'E_CONFIG') && err.message === message;
const fromFlags = (...argv: string[]) => resolveConfig(undefined, extractConfigFlags(argv).overrides);

test('a number in a config file that a 64-bit float does not keep is quoted as written (it was "got 123456789012345680000", "got 0", "got Infinity")', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'trainer-written-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = async (name: string, text: string) => {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  };
  await assert.rejects(resolveConfig(await file('big.yaml', 'run: {seed: 123456789012345678901}\n')), configError(`run.seed ${BOUND}, got 123456789012345678901`));
  await assert.rejects(resolveConfig(await file('tiny.yaml', 'train: {lr: 1e-400}\n')), configError('train.lr must be a positive number, got 1e-400 (0 as a number: too small for a 64-bit float)'));
  await assert.rejects(resolveConfig(await file('huge.yaml', 'train:\n  lr: 1e400\n')), configError('train.lr must be a positive number, got 1e400 (Infinity as a number: too large for a 64-bit float)'));
  await assert.rejects(resolveConfig(await file('near.yaml', 'train: {momentum: 0.99999999999999999}\n')), configError('train.momentum must be in [0, 1), got 0.99999999999999999 (1 as a number, the nearest 64-bit float)'));
  // Inside a list, and through an alias.
  await assert.rejects(
    resolveConfig(await file('std.yaml', 'data:\n  normalize: {mean: [0, 0, 0], std: [&s 1e-400, 1, *s]}\n')),
    configError('data.normalize.std must be 3 numbers of at least 1e-6 (per-channel stds), got [1e-400,1,1e-400]'),
  );
  // A flag of the same section merged over the file keeps the file's text.
  await assert.rejects(resolveConfig(await file('merged.yaml', 'run: {seed: 9007199254740993}\n'), extractConfigFlags(['--run.name', 'x']).overrides), configError(`run.seed ${BOUND}, got 9007199254740993`));
  await assert.rejects(resolveConfig(await file('section.yaml', 'train: 1e400\n')), configError('train must be a section of keys, got 1e400 (Infinity as a number: too large for a 64-bit float)'));
  // .inf is Infinity as written, and a number kept exactly reads as before.
  await assert.rejects(resolveConfig(await file('inf.yaml', 'train: {lr: .inf}\n')), configError('train.lr must be a positive number, got Infinity'));
  const c = await resolveConfig(await file('valid.yaml', 'train: {lr: 1e-30, weightDecay: 1e-400}\ndata: {normalize: {mean: [1e-400, 0.5, 0.5], std: [1, 1, 1]}}\n'));
  assert.deepEqual([c.train.lr, c.train.weightDecay, c.data.normalize], [1e-30, 0, { mean: [0, 0.5, 0.5], std: [1, 1, 1] }]);
});

test('a flag whose number a 64-bit float does not keep is quoted as typed, whatever copies the flags on the way', async () => {
  await assert.rejects(fromFlags('--train.lr', '1e-400'), configError('train.lr must be a positive number, got 1e-400 (0 as a number: too small for a 64-bit float)'));
  await assert.rejects(fromFlags('--train.lr=-1e400'), configError('train.lr must be a positive number, got -1e400 (-Infinity as a number: too large for a 64-bit float)'));
  await assert.rejects(fromFlags('--run.seed', '123456789012345678901'), configError(`run.seed ${BOUND}, got 123456789012345678901`));
  await assert.rejects(fromFlags('--cluster.gpus', '[0, 123456789012345678901]'), configError(`cluster.gpus.1 ${BOUND}, got 123456789012345678901`));
  // trainer train and coordinator copy the flags before adding their own (--threads, --port).
  await assert.rejects(resolveConfig(undefined, copyConfig(extractConfigFlags(['--eval.batchSize', '1e400']).overrides)), configError('eval.batchSize must be a positive integer, got 1e400 (Infinity as a number: too large for a 64-bit float)'));
  // A float key takes a large integer, as it does in a file (it was refused as "must be an integer of at most 2^53-1").
  assert.equal((await fromFlags('--train.weightDecay', '100000000000000000000')).train.weightDecay, 1e20);
  assert.equal((await fromFlags('--train.weightDecay', '1e-400')).train.weightDecay, 0);
});
