// A task too large for the adapter's storage buffer bindings is an error, never a result: WebGPU's
// validation errors do not throw, and the run used to train on all-zero logits (loss 2.3026),
// save the model and exit 0, with Dawn's text on stdout. `train` and `eval` refuse such sizes
// when the backend loads, naming the key to lower; a task that meets a WebGPU error anyway fails
// with E_BACKEND, and stdout stays clean for --json.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { ARTICLE_NORMALIZATION } from '../../src/data/normalize.js';
import { generateSynthetic } from '../../src/data/synthetic.js';
import { describeError } from '../../src/shared/errors.js';
import { selectBackend } from '../../src/worker/backend.js';
import { MicroBatchComputer } from '../../src/worker/gradient.js';
import { getModel, initParams } from '../../src/worker/model.js';
import { smallConfigFile, trainer } from '../cli/cli-helpers.js';
import { tempDir } from '../helpers.js';
import { webgpuSkip } from './fixtures.js';

/** More images than lavapipe's 128 MiB binding holds of `net` (2,048). */
const OVERSIZE = 2100;

/** Child mode: one evaluation of OVERSIZE images on webgpu past the up-front check; its result on stdout, or its error on stderr. */
async function child(): Promise<void> {
  await selectBackend('webgpu', null);
  const model = getModel('net');
  const c = new MicroBatchComputer(model, ARTICLE_NORMALIZATION, 8); // constructed for small tasks: nothing refused up front
  const data = generateSynthetic(OVERSIZE, 5);
  try {
    const s = await c.evaluateAsync(initParams(model, 1), data, Int32Array.from({ length: OVERSIZE }, (_, i) => i));
    process.stdout.write(`${JSON.stringify(s)}\n`);
  } catch (err) {
    process.stderr.write(`error ${describeError(err)}\n`);
    process.exitCode = 1;
  }
}

if (process.argv[2] === 'child') {
  await child();
} else {
  const skip = (await webgpuSkip()) ?? false;

  test('webgpu: a task that meets a WebGPU error fails with E_BACKEND naming it, and nothing reaches stdout', { skip }, () => {
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), 'child'], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.stdout, '', 'no result, and none of Dawn text on stdout');
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /error E_BACKEND: webgpu: an evaluation chunk of 2100 images failed: Binding size \(\d+\) .* is larger than the maximum storage buffer binding size \(\d+\)[^\n]*; lower eval\.batchSize \(at most 2048 images a task fit this adapter\)/);
  });

  test('webgpu: train refuses a micro-batch over the binding limit when the backend loads, saving nothing', { skip }, async () => {
    const dir = await tempDir();
    const config = await smallConfigFile(dir, 'big', 1);
    const r = trainer(['train', '--config', config, '--backend', 'webgpu', '--json', '--train.batchSize', '4096', '--train.microBatches', '1', '--data.synthetic.trainSize', '4096', '--data.limitVal', '64']);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /E_BACKEND: webgpu: a training micro-batch of 4096 images binds 268435456 bytes \(model net\), over this adapter's maximum storage buffer binding size of 134217728 bytes; lower train\.batchSize or raise train\.microBatches .*at most 2048 images/);
    assert.doesNotMatch(r.stderr, /Training loss|model saved/);
    assert.ok(!existsSync(join(dir, 'runs', 'big', 'model')), 'no model saved');
  });

  test('webgpu: train and eval refuse an evaluation chunk over the binding limit, naming eval.batchSize', { skip }, async () => {
    const dir = await tempDir();
    const config = await smallConfigFile(dir, 'e', 1);
    const t = trainer(['train', '--config', config, '--quiet']);
    assert.equal(t.code, 0, t.stderr);
    const r = trainer(['eval', join(dir, 'runs', 'e'), '--backend', 'webgpu', '--eval.batchSize', '4096', '--json']);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /E_BACKEND: webgpu: an evaluation chunk of 4096 images binds 268435456 bytes .*; lower eval\.batchSize \(at most 2048 images a task fit this adapter\)/);
    const t2 = trainer(['train', '--config', config, '--run.name', 'e2', '--backend', 'webgpu', '--eval.batchSize', '4096']);
    assert.equal(t2.code, 1, t2.stderr);
    assert.match(t2.stderr, /E_BACKEND: webgpu: an evaluation chunk of 4096 images .*lower eval\.batchSize/);
  });
}
