// GPU command plans (worker/webgpu-plan.ts): a gradient replayed from its recorded commands gives
// the engine's bits for other images, labels and weights, on each micro-batch size; what a plan
// cannot replay is refused, and the recording leaves Dawn's objects as it found them. On
// lavapipe, in a child process (a process has one tfjs backend).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as tf from '../../src/worker/tf.js';
import { ARTICLE_NORMALIZATION } from '../../src/data/normalize.js';
import { generateSynthetic } from '../../src/data/synthetic.js';
import { selectBackend } from '../../src/worker/backend.js';
import { MicroBatchComputer } from '../../src/worker/gradient.js';
import { getModel, initParams } from '../../src/worker/model.js';
import { recordGpuPlan } from '../../src/worker/webgpu-plan.js';
import { webgpuSkip } from './fixtures.js';

interface Outcome {
  mismatches: string[];
  compared: number;
  planning: { replays: number; recorded: number; refused: string[] };
  engineRecorded: number;
  refusedReason: string;
  refusedValues: number[];
  wrongSize: string;
  leftWrapped: string[];
}

async function child(): Promise<void> {
  await selectBackend('webgpu', null);
  const device = (tf.backend() as unknown as { device: Record<string, unknown> & { queue: Record<string, unknown> } }).device;
  const proto = (globalThis as unknown as { GPUBuffer: { prototype: Record<string, unknown> } }).GPUBuffer.prototype;
  const methods = (): unknown[] => [device['createBindGroup'], device['createCommandEncoder'], device.queue['writeBuffer'], proto['getMappedRange'], proto['unmap'], proto['mapAsync']];
  const found = methods();
  const model = getModel('net');
  const data = generateSynthetic(64, 7);
  const planned = new MicroBatchComputer(model, ARTICLE_NORMALIZATION, 16);
  const engine = new MicroBatchComputer(model, ARTICLE_NORMALIZATION, 16);
  engine.usePlans = false;
  const a = new Float32Array(model.size);
  const b = new Float32Array(model.size);
  const mismatches: string[] = [];
  let compared = 0;
  for (const n of [16, 3]) {
    for (let k = 0; k < 4; k++) {
      // Other weights, images and labels each time: a plan that kept any of them as constants would differ.
      const w = initParams(model, 10 + k);
      const idx = Int32Array.from({ length: n }, (_, i) => (i * 7 + k * 13) % 64);
      const sa = await planned.gradientAsync(w, data, idx, a);
      const sb = await engine.gradientAsync(w, data, idx, b);
      compared++;
      const same = a.every((x, i) => Object.is(x, b[i])) && Object.is(sa.lossSum, sb.lossSum) && sa.correct === sb.correct;
      if (!same) mismatches.push(`batch ${n}, round ${k}`);
    }
  }
  // A run that reads a tensor made before the recording (not one of its inputs): refused, its result still right.
  const before = tf.tensor1d([10, 20, 30]);
  (tf.backend() as unknown as { uploadToGPU(id: object): void }).uploadToGPU(before.dataId);
  const x = tf.tensor1d([1, 2, 3]);
  const refused = await recordGpuPlan([x], () => tf.add(x, before));
  // A replay given inputs of other sizes than recorded throws.
  const y = tf.tensor1d([1, 2, 3]);
  const made = await recordGpuPlan([y], () => tf.mul(y, tf.scalar(2)));
  let wrongSize = '';
  try {
    await made.plan?.replay([new Float32Array(4)]);
  } catch (err) {
    wrongSize = (err as Error).message;
  }
  const names = ['createBindGroup', 'createCommandEncoder', 'writeBuffer', 'getMappedRange', 'unmap', 'mapAsync'];
  const leftWrapped = methods()
    .map((m, i) => (m === found[i] ? null : names[i]))
    .filter((k): k is string => k !== null && k !== undefined);
  const outcome: Outcome = {
    mismatches,
    compared,
    planning: planned.planning,
    engineRecorded: engine.planning.recorded,
    refusedReason: refused.plan === null ? refused.reason : 'a plan was made',
    refusedValues: [...refused.values],
    wrongSize,
    leftWrapped,
  };
  process.stdout.write(`${JSON.stringify(outcome)}\n`);
  process.exit(0);
}

if (process.argv[2] === 'child') {
  await child();
} else {
  test('webgpu: gradients replayed from GPU command plans are the engine\'s bits; what a plan cannot replay is refused', { skip: (await webgpuSkip()) ?? false }, () => {
    const text = execFileSync(process.execPath, [fileURLToPath(import.meta.url), 'child'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const o = JSON.parse(text.trim().split('\n').pop() as string) as Outcome;
    assert.equal(o.compared, 8);
    assert.deepEqual(o.mismatches, [], 'every replay the engine\'s bits');
    assert.deepEqual(o.planning, { replays: 6, recorded: 2, refused: [] }, 'one plan per micro-batch size, recorded on its first gradient and replayed after');
    assert.equal(o.engineRecorded, 0, 'usePlans false (TRAINER_KERNEL_PLAN=0): no plan');
    assert.equal(o.refusedReason, 'it reads a buffer written before the recording');
    assert.deepEqual(o.refusedValues, [11, 22, 33], 'a refused recording still gives the engine\'s result');
    assert.match(o.wrongSize, /GPU plan input 0: 16 bytes, the recording had 12/);
    assert.deepEqual(o.leftWrapped, [], 'the recording restores what it wrapped');
  });
}
