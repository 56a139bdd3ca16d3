import assert from 'node:assert/strict';
import test from 'node:test';
import { resolveConfig } from '../../src/shared/config-file.js';
import { MAX_TASK_EXAMPLES, MODEL_PARAMETERS, MODELS } from '../../src/shared/config.js';
import { isTrainerError } from '../../src/shared/errors.js';
import { MAX_TASK_INDICES } from '../../src/transports/ws/protocol.js';
import { getModel } from '../../src/worker/model.js';

const rejects = (over: object, message: RegExp) =>
  assert.rejects(resolveConfig(undefined, over), (err) => isTrainerError(err, 'E_CONFIG') && message.test(err.message));

test('eval.batchSize above what a wasm pass holds is E_CONFIG at config time, not an out-of-memory on every worker (or a welcome every worker rejects)', async () => {
  assert.equal(MAX_TASK_INDICES, MAX_TASK_EXAMPLES);
  await rejects({ eval: { batchSize: MAX_TASK_EXAMPLES + 1 } }, /^eval\.batchSize must be a positive integer of at most 4096 \(a task's images must fit the 4 GiB memory of the wasm backend\), got 4097$/);
  assert.equal((await resolveConfig(undefined, { eval: { batchSize: MAX_TASK_EXAMPLES } })).eval.batchSize, MAX_TASK_EXAMPLES);
});

test('train.microBatches is bounded: by a count, by the gradient memory of a step, and micro-batches by the task size', async () => {
  await rejects({ train: { batchSize: 2_000_000, microBatches: 1_000_000 } }, /^train\.microBatches must be a positive integer of at most 1024, got 1000000$/);
  await rejects({ model: { name: 'fc' }, train: { batchSize: 1024, microBatches: 1024 } }, /^train\.microBatches \(1024\) with model fc holds 14\.3 GiB .* at most 287 micro-batches$/);
  await rejects({ train: { batchSize: 10_000, microBatches: 2 } }, /makes micro-batches of 5000 examples, at most 4096 \(a task's images must fit the 4 GiB memory of the wasm backend\); raise train\.microBatches$/);
  assert.equal((await resolveConfig(undefined, { train: { batchSize: 1024, microBatches: 1024 } })).train.microBatches, 1024);
});

test('the config-time parameter counts are those of the models', () => {
  for (const name of MODELS) assert.equal(MODEL_PARAMETERS[name], getModel(name).size, name);
});

test('a NaN or infinite value is quoted as such, not as null', async () => {
  await rejects({ train: { lr: NaN } }, /^train\.lr must be a positive number, got NaN$/);
  await rejects({ train: { lr: Infinity } }, /^train\.lr must be a positive number, got Infinity$/);
});
