import assert from 'node:assert/strict';
import test from 'node:test';
import { IMAGE_BYTES } from '../../src/data/cifar-format.js';
import { classifyRecords } from '../../src/predict/classify.js';
import { MicroBatchComputer } from '../../src/worker/gradient.js';
import { getModel, initParams } from '../../src/worker/model.js';
import { NORMALIZATIONS } from '../worker/input-fixtures.js';
import { useBackend } from '../worker/kernels/reference.js';

test('predict classifies any number of images in passes of at most a chunk, with the same results as one pass (30,000 images in one pass ran out of wasm memory)', async () => {
  await useBackend('wasm');
  const exported = {
    modelName: 'net',
    params: initParams(getModel('net'), 5),
    meta: { normalization: NORMALIZATIONS[0]!, classNames: ['airplane', 'automobile', 'ship'] },
  };
  const records = Array.from({ length: 7 }, (_, k) => Uint8Array.from({ length: IMAGE_BYTES }, (_, i) => (i * (k + 3) + k * 17) % 256));
  const whole = await classifyRecords(exported, records, 7);
  assert.equal(whole.length, 7);
  // The passes made: their sizes, as the computer is asked for them.
  const passes: number[] = [];
  const logits = MicroBatchComputer.prototype.logits;
  MicroBatchComputer.prototype.logits = function (this: MicroBatchComputer, w: Float32Array, images: Float32Array, n: number) {
    passes.push(n);
    return logits.call(this, w, images, n);
  };
  try {
    for (const [chunk, sizes] of [[1, [1, 1, 1, 1, 1, 1, 1]], [3, [3, 3, 1]], [4, [4, 3]]] as const) {
      passes.length = 0;
      assert.deepEqual(await classifyRecords(exported, records, chunk), whole, `chunks of ${chunk}`);
      assert.deepEqual(passes, sizes);
    }
  } finally {
    MicroBatchComputer.prototype.logits = logits;
  }
  assert.deepEqual(await classifyRecords(exported, []), []);
});
