import assert from 'node:assert/strict';
import { it } from 'node:test';
import * as tf from '../../../src/worker/tf.js';
import { copyFloatsInto } from '../../../src/worker/kernels/wasm-heap.js';
import { useBackend } from './reference.js';

for (const backend of ['wasm', 'cpu'] as const) {
  it(`copyFloatsInto writes a tensor's floats at an offset, leaving the rest alone (${backend})`, async () => {
    await useBackend(backend);
    const values = Float32Array.from({ length: 1000 }, (_, i) => Math.fround(Math.sin(i) * 1e3));
    // A computed tensor, not just an uploaded one: the values a gradient would have.
    const t = tf.tidy(() => tf.mul(tf.tensor2d(values, [40, 25]), tf.scalar(2)));
    const out = new Float32Array(1010).fill(-7);
    copyFloatsInto(t, out, 5);
    const expected = t.dataSync();
    t.dispose();
    assert.deepEqual([...out.subarray(0, 5)], [-7, -7, -7, -7, -7]);
    assert.deepEqual(out.subarray(5, 1005), expected);
    assert.deepEqual([...out.subarray(1005)], [-7, -7, -7, -7, -7]);
  });
}
