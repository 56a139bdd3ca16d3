import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '../../../src/worker/tf.js';
import { bitIdentical, fmaf, randomValues, relativeError, runOn } from './reference.js';

type Case = { name: string; a: number[]; b: number[]; transposeA: boolean; transposeB: boolean };

const CASES: Case[] = [
  { name: 'dense weight gradient x^T dy', a: [64, 512], b: [64, 32], transposeA: true, transposeB: false },
  { name: 'dense input gradient dy W^T', a: [64, 32], b: [512, 32], transposeA: false, transposeB: true },
  { name: 'both transposed', a: [7, 5], b: [9, 7], transposeA: true, transposeB: true },
  { name: 'rank 3 with batch 1', a: [1, 6, 4], b: [1, 6, 3], transposeA: true, transposeB: false },
  { name: 'no transpose (stock kernel)', a: [64, 512], b: [512, 32], transposeA: false, transposeB: false },
  { name: 'batch of 3 (stock kernel)', a: [3, 6, 4], b: [3, 6, 5], transposeA: true, transposeB: false },
];

function matMul(c: Case): tf.Tensor {
  return tf.tidy(() =>
    tf.matMul(
      tf.tensor(randomValues(tf.util.sizeFromShape(c.a), 1), c.a),
      tf.tensor(randomValues(tf.util.sizeFromShape(c.b), 2), c.b),
      c.transposeA,
      c.transposeB,
    ),
  );
}

/** a (m x k) times b (k x n) as the kernel sums: k in order from 0, float32 after each operation (with `fused`, each multiply-add). */
function referenceProduct(a: Float32Array, b: Float32Array, m: number, k: number, n: number, fused: boolean): Float32Array {
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        const x = a[i * k + p]!;
        const y = b[p * n + j]!;
        s = fused ? fmaf(x, y, s) : Math.fround(s + Math.fround(x * y));
      }
      out[i * n + j] = s;
    }
  }
  return out;
}

function transpose(x: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = x[r * cols + c]!;
  return out;
}

describe('BatchMatMul on wasm', () => {
  it('sums in a fixed order whatever the blocking: bit-identical to a float32 loop for every edge of rows and columns', async () => {
    // With relaxed SIMD on an FMA CPU the SIMD columns are fused multiply-adds; all of them or none.
    let fused: boolean | undefined;
    // Rows 1..13 cover every remainder of the 6-row blocks; columns every remainder of 8 and 4; rows of B
    // 4 KB and 2 KB apart are taken in panels of 48 and 96 rows of k (batch-mat-mul.ts strideRows).
    for (const [m, k, n] of [[1, 1, 1], [5, 3, 7], [7, 9, 13], [13, 17, 12], [6, 2, 8], [12, 33, 20], [16, 64, 40], [16, 100, 1024], [7, 130, 512]] as const) {
      const a = randomValues(m * k, m + k);
      const b = randomValues(k * n, k + n);
      const plain = referenceProduct(a, b, m, k, n, false);
      const withFma = referenceProduct(a, b, m, k, n, true);
      for (const [transposeA, transposeB] of [[false, false], [true, false], [false, true]] as const) {
        const actual = await runOn('wasm', () =>
          tf.tidy(() =>
            tf.matMul(
              transposeA ? tf.tensor(transpose(a, m, k), [k, m]) : tf.tensor(a, [m, k]),
              transposeB ? tf.tensor(transpose(b, k, n), [n, k]) : tf.tensor(b, [k, n]),
              transposeA,
              transposeB,
            ),
          ),
        );
        if (fused === undefined && !bitIdentical(plain, withFma)) fused = bitIdentical(actual, withFma);
        assert.ok(bitIdentical(actual, fused ? withFma : plain), `${m}x${k} by ${k}x${n}, transposeA ${transposeA}, transposeB ${transposeB}, ${fused ? 'fused' : 'plain'}`);
      }
    }
  });

  for (const c of CASES) {
    it(`matches the cpu backend: ${c.name}`, async () => {
      const expected = await runOn('cpu', () => matMul(c));
      const actual = await runOn('wasm', () => matMul(c));
      assert.ok(relativeError(actual, expected) < 1e-5, `relative error ${relativeError(actual, expected)}`);
    });
  }

  it('gives bit-identical results when run again and leaves no tensor data behind', async () => {
    const first = await runOn('wasm', () => matMul(CASES[0]!));
    const before = tf.engine().backend.numDataIds();
    const second = await runOn('wasm', () => matMul(CASES[0]!));
    assert.equal(tf.engine().backend.numDataIds(), before);
    assert.ok(bitIdentical(first, second));
  });
});
