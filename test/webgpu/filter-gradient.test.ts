// trainer's Conv2DBackpropFilter on webgpu (worker/webgpu-kernels.ts): tfjs's values within float
// rounding, the same bits every time, by groups of one image or several (a last group short), and
// in use once the backend is loaded. On an H200 it made a 1,024-image gradient 12.6x faster.
import assert from 'node:assert/strict';
import test from 'node:test';
import * as tf from '../../src/worker/tf.js';
import { selectBackend } from '../../src/worker/backend.js';
import { MAX_PARTIALS, imagesPerGroup, useOwnWebGpuKernels } from '../../src/worker/webgpu-kernels.js';
import { webgpuSkip } from './fixtures.js';

test('images per group: one while the partial sums fit, then as few as fit', () => {
  assert.equal(imagesPerGroup(1024, 432), 1);
  assert.equal(imagesPerGroup(MAX_PARTIALS / 432, 432), 1);
  assert.equal(imagesPerGroup(10_000, 1152), 3);
  assert.equal(imagesPerGroup(7, 432, 1000), 4);
});

const skip = (await webgpuSkip()) ?? false;

test("webgpu filter gradient: tfjs's within float rounding, the same bits twice, in groups of 1 and of 3 images", { skip }, async () => {
  await selectBackend('webgpu', null);
  const keys: string[] = [];
  const be = tf.backend() as unknown as { runWebGPUProgram: (p: { shaderKey: string }, ...r: unknown[]) => unknown };
  const run = be.runWebGPUProgram.bind(be);
  be.runWebGPUProgram = (p, ...r) => (keys.push(p.shaderKey), run(p, ...r));
  // 7 images; the second convolution's shapes (16 x 16 x 16 -> 8, 'same').
  const x = tf.randomNormal([7, 16, 16, 16], 0, 1, 'float32', 1);
  const dy = tf.randomNormal([7, 16, 16, 8], 0, 1, 'float32', 2);
  const filter = async () => {
    const t = tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 16, 8] }) as tf.Tensor;
    const v = Float32Array.from(await t.data());
    t.dispose();
    return v;
  };
  // loadWebGpu put trainer's kernel in place.
  keys.length = 0;
  const own = await filter();
  assert.ok(keys.some((k) => k.startsWith('trainerConv2DDerFilterPartial_')), `trainer's program ran: ${keys.join(', ')}`);
  assert.deepEqual(await filter(), own, 'the same bits twice');

  // 3 images a group (7 x 1152 weights, at most 3000 partial sums): groups 0-2, 3-5, 6.
  useOwnWebGpuKernels(true, 3000);
  keys.length = 0;
  const grouped = await filter();
  assert.ok(keys.some((k) => k.startsWith('trainerConv2DDerFilterPartial_3_3_16_8_3')), keys.join(', '));
  assert.deepEqual(await filter(), grouped, 'the same bits twice');

  // A filter of more weights than partial sums allowed (1,152 > 1,000) goes to tfjs's program.
  useOwnWebGpuKernels(true, 1000);
  keys.length = 0;
  const fallback = await filter();
  assert.ok(!keys.some((k) => k.startsWith('trainer')) && keys.some((k) => k.startsWith('conv2DDerFilter')), keys.join(', '));

  useOwnWebGpuKernels(false);
  keys.length = 0;
  const stock = await filter();
  assert.deepEqual(fallback, stock, "the fallback is tfjs's kernel");
  assert.ok(!keys.some((k) => k.startsWith('trainer')), "tfjs's kernel is back");
  const scale = Math.max(...stock.map(Math.abs));
  for (const [name, v] of [['by image', own], ['by 3 images', grouped]] as const) {
    const diff = Math.max(...v.map((a, i) => Math.abs(a - (stock[i] as number))));
    assert.ok(diff <= 1e-5 * scale, `${name}: max |difference| ${diff} of max |value| ${scale}`);
  }
  useOwnWebGpuKernels(true);
  tf.dispose([x, dy]);
});
