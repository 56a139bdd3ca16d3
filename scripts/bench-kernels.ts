// Per-op and whole-step benchmark of the wasm training kernels: "before" is the stock wasm
// kernel (or, for Conv2DBackpropFilter, which wasm lacks, the Part-1 JS loop), "after" is what
// registerWasmTrainingKernels() installs. Both are measured in the same run, interleaved, and
// each op's "after" output is compared with its "before" output (MaxPoolGrad's with the cpu
// backend's: the stock wasm kernel is wrong there). The Input rows compare the batch input made
// in JavaScript (normalizeBatch's table loop, then tf.tensor4d: the path off wasm) with the wasm
// table kernel that MicroBatchComputer uses on wasm. The TanhGrad rows compare tfjs's Tanh gradient (Square, Sub,
// Multiply) with the fused kernel, and the whole-step table also times our kernels without it.
//   node dist/scripts/bench-kernels.js [--reps 15] [--steps 8]
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { IMAGE_BYTES, allocateDataset, type Dataset } from '../src/data/cifar-format.js';
import { ARTICLE_NORMALIZATION, normalizationTable, normalizeBatch } from '../src/data/normalize.js';
import { conv2dBackpropFilterJsConfig } from '../src/worker/kernels/conv2d-backprop-filter.js';
import { registerWasmTrainingKernels, unregisterWasmTrainingKernels } from '../src/worker/kernels/index.js';
import { normalizedImagesOnWasm } from '../src/worker/kernels/normalize-images.js';
import { TANH_GRAD } from '../src/worker/kernels/tanh-grad.js';
import { median } from './stats.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive integer, got ${process.argv[i + 1]}`);
  return v;
}

const REPS = flag('reps', 15);
const STEPS = flag('steps', 8);

function useBefore(): void {
  unregisterWasmTrainingKernels();
  if (tf.getKernel(tf.Conv2DBackpropFilter, 'wasm') === undefined) tf.registerKernel(conv2dBackpropFilterJsConfig);
}

/** Our kernels, all of them or all but `without`. */
function useAfter(without?: readonly string[]): void {
  if (tf.getKernel(tf.Conv2DBackpropFilter, 'wasm') === conv2dBackpropFilterJsConfig) {
    tf.unregisterKernel(tf.Conv2DBackpropFilter, 'wasm');
  }
  registerWasmTrainingKernels();
  if (without !== undefined) unregisterWasmTrainingKernels(without);
}

function rand(shape: number[], seed: number): tf.Tensor {
  return tf.randomUniform(shape, -1, 1, 'float32', seed);
}

/**
 * `before`, where given, is timed in place of `run` with the stock kernels. `expectedOnCpu`: the
 * output to compare with comes from `run` on the cpu backend, not from the stock wasm kernel.
 */
type OpCase = { label: string; run: () => tf.Tensor; before?: () => tf.Tensor; expectedOnCpu?: boolean };

/** A random CIFAR-shaped set and random batches of it, for the input rows. */
function inputCases(): OpCase[] {
  const count = 2000;
  const d: Dataset = allocateDataset(count);
  let s = 1;
  const next = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
  for (let i = 0; i < d.images.length; i++) d.images[i] = next() >>> 24;
  const table = normalizationTable(ARTICLE_NORMALIZATION);
  const buf = new Float32Array(64 * IMAGE_BYTES);
  return [64, 32].map((n) => {
    const indices = Int32Array.from({ length: n }, () => next() % count);
    return {
      label: `Input [${n}] uint8 CHW -> normalised NHWC float32`,
      before: () => {
        normalizeBatch(d, indices, ARTICLE_NORMALIZATION, buf);
        return tf.tensor4d(buf.subarray(0, n * IMAGE_BYTES), [n, 32, 32, 3]);
      },
      run: () => {
        const x = normalizedImagesOnWasm(d, indices, table);
        if (x === null) throw new Error('the input kernel cannot run on this backend');
        return x;
      },
    };
  });
}

function opCases(): OpCase[] {
  const x1 = rand([64, 32, 32, 3], 1);
  const dy1 = rand([64, 32, 32, 16], 2);
  const x2 = rand([64, 16, 16, 16], 3);
  const dy2 = rand([64, 16, 16, 8], 4);
  const w2 = rand([3, 3, 16, 8], 5);
  const pooled1 = tf.maxPool(dy1 as tf.Tensor4D, 2, 2, 'valid');
  const pooled2 = tf.maxPool(x2 as tf.Tensor4D, 2, 2, 'valid');
  const h = rand([64, 512], 6);
  const d3 = rand([64, 32], 7);
  const w3 = rand([512, 32], 8);
  const b16 = rand([16], 9);
  const kernel = (name: string, inputs: tf.NamedTensorMap, attrs: object) => (): tf.Tensor =>
    tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap) as tf.Tensor;
  const bpf = (x: tf.Tensor, dy: tf.Tensor, filterShape: number[]) =>
    kernel(tf.Conv2DBackpropFilter, { x, dy }, { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape });
  const poolGrad = (input: tf.Tensor, output: tf.Tensor, dy: tf.Tensor) =>
    kernel(tf.MaxPoolGrad, { dy, input, output }, { filterSize: 2, strides: 2, pad: 'valid' });
  const w1 = rand([3, 3, 3, 16], 10);
  const y1 = tf.tanh(rand(dy1.shape, 11));
  const y2 = tf.tanh(rand(dy2.shape, 12));
  const tanhGrad = (y: tf.Tensor, dy: tf.Tensor, shape: string): OpCase => ({
    label: `TanhGrad ${shape} (Square,Sub,Mul -> fused)`,
    // What tfjs's Tanh gradient runs.
    before: () => tf.tidy(() => tf.mul(tf.sub(tf.scalar(1), tf.square(y)), dy)),
    run: kernel(TANH_GRAD, { dy, y }, {}),
  });
  return [
    { label: 'Conv2D conv1 [64,32,32,3] * [3,3,3,16]', run: () => tf.conv2d(x1 as tf.Tensor4D, w1 as tf.Tensor4D, 1, 'same') },
    { label: 'Conv2D conv2 [64,16,16,16] * [3,3,16,8]', run: () => tf.conv2d(x2 as tf.Tensor4D, w2 as tf.Tensor4D, 1, 'same') },
    { label: 'Conv2DBackpropFilter conv1 [64,32,32,3]->[3,3,3,16]', run: bpf(x1, dy1, [3, 3, 3, 16]) },
    { label: 'Conv2DBackpropFilter conv2 [64,16,16,16]->[3,3,16,8]', run: bpf(x2, dy2, [3, 3, 16, 8]) },
    {
      label: 'Conv2DBackpropInput conv2 -> [64,16,16,16]',
      run: kernel(tf.Conv2DBackpropInput, { dy: dy2, filter: w2 }, { strides: 1, pad: 'same', dataFormat: 'NHWC', inputShape: [64, 16, 16, 16] }),
    },
    { label: 'Tanh [64,32,32,16]', run: () => tf.tanh(dy1) },
    { label: 'Tanh [64,16,16,8]', run: () => tf.tanh(dy2) },
    tanhGrad(y1, dy1, '[64,32,32,16]'),
    tanhGrad(y2, dy2, '[64,16,16,8]'),
    { label: 'MaxPool [64,32,32,16] 2x2/2', run: () => tf.maxPool(dy1 as tf.Tensor4D, 2, 2, 'valid') },
    { label: 'MaxPoolGrad [64,32,32,16] *', run: poolGrad(dy1, pooled1, pooled1), expectedOnCpu: true },
    { label: 'MaxPoolGrad [64,16,16,16] *', run: poolGrad(x2, pooled2, pooled2), expectedOnCpu: true },
    { label: 'Sum [64,32,32,16] over 0,1,2 (bias grad)', run: () => tf.sum(dy1, [0, 1, 2]) },
    { label: 'Add [64,32,32,16] + [16] (bias)', run: () => tf.add(dy1, b16) },
    { label: 'Identity [64,32,32,16] (tf.clone)', run: () => tf.clone(dy1) },
    { label: 'BatchMatMul [64,512]^T x [64,32]', run: () => tf.matMul(h, d3, true, false) },
    { label: 'BatchMatMul [64,32] x [512,32]^T', run: () => tf.matMul(d3, w3, false, true) },
    ...inputCases(),
  ];
}

/** wasm kernels run synchronously inside runKernel, so no read-back is needed to time them. */
function timeOnce(run: () => tf.Tensor): number {
  const t0 = performance.now();
  const out = run();
  const ms = performance.now() - t0;
  out.dispose();
  return ms;
}

function relDiff(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    max = Math.max(max, Math.abs(b[i]!));
  }
  return max === 0 ? diff : diff / max;
}

function valuesOf(run: () => tf.Tensor): Float32Array {
  const out = run();
  const v = new Float32Array(out.dataSync());
  out.dispose();
  return v;
}

/** `run`'s output on the cpu backend (tfjs moves the inputs there, and back to wasm afterwards). */
async function valuesOnCpu(run: () => tf.Tensor): Promise<Float32Array> {
  if (!(await tf.setBackend('cpu'))) throw new Error('cpu backend failed to initialise');
  try {
    return valuesOf(run);
  } finally {
    if (!(await tf.setBackend('wasm'))) throw new Error('wasm backend failed to initialise');
  }
}

async function benchOps(): Promise<void> {
  console.log(`per op, batch 64, median of ${REPS} (ms); rel diff = max|after-before| / max|before| (* see below):`);
  console.log(`${'op'.padEnd(52)} ${'before'.padStart(8)} ${'after'.padStart(8)} ${'speedup'.padStart(8)}  rel diff`);
  for (const c of opCases()) {
    const runBefore = c.before ?? c.run;
    useBefore();
    const expected = c.expectedOnCpu === true ? await valuesOnCpu(c.run) : valuesOf(runBefore);
    useAfter();
    const actual = valuesOf(c.run);
    const before: number[] = [];
    const after: number[] = [];
    for (let i = 0; i < REPS + 2; i++) {
      useBefore();
      const b = timeOnce(runBefore);
      useAfter();
      const a = timeOnce(c.run);
      if (i >= 2) {
        before.push(b);
        after.push(a);
      }
    }
    const mb = median(before);
    const ma = median(after);
    console.log(
      `${c.label.padEnd(52)} ${mb.toFixed(2).padStart(8)} ${ma.toFixed(2).padStart(8)} ${(mb / ma).toFixed(1).padStart(7)}x  ${relDiff(actual, expected).toExponential(1)}`,
    );
  }
  console.log(
    '* MaxPoolGrad: rel diff against the cpu backend. The stock wasm kernel (the "before" timed) sends\n' +
      '  the gradient to the wrong element of a window whose values are all negative, so against it ~0.9.',
  );
}

/** The model of the brief: conv 3->16, tanh, pool, conv 16->8, tanh, pool, dense 512->32, tanh, dense 32->10. */
function makeStep(batch: number): { step: () => void; dispose: () => void } {
  const v = (shape: number[], seed: number) => tf.variable(tf.randomNormal(shape, 0, 0.1, 'float32', seed));
  const vars = [v([3, 3, 3, 16], 1), v([16], 2), v([3, 3, 16, 8], 3), v([8], 4), v([512, 32], 5), v([32], 6), v([32, 10], 7), v([10], 8)];
  const [w1, b1, w2, b2, w3, b3, w4, b4] = vars as [tf.Variable, tf.Variable, tf.Variable, tf.Variable, tf.Variable, tf.Variable, tf.Variable, tf.Variable];
  const x = tf.randomUniform([batch, 32, 32, 3], -1, 1, 'float32', 9) as tf.Tensor4D;
  const labels = tf.tidy(() => tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32', 10), 10).toFloat());
  const loss = (): tf.Scalar => {
    let h = tf.tanh(tf.add(tf.conv2d(x, w1 as tf.Tensor4D, 1, 'same'), b1)) as tf.Tensor4D;
    h = tf.maxPool(h, 2, 2, 'valid');
    h = tf.tanh(tf.add(tf.conv2d(h, w2 as tf.Tensor4D, 1, 'same'), b2)) as tf.Tensor4D;
    h = tf.maxPool(h, 2, 2, 'valid');
    const f = tf.tanh(tf.add(tf.matMul(tf.reshape(h, [batch, 512]), w3), b3));
    return tf.losses.softmaxCrossEntropy(labels, tf.add(tf.matMul(f, w4), b4));
  };
  const step = (): void => {
    const { value, grads } = tf.variableGrads(loss);
    value.dataSync();
    for (const g of Object.values(grads)) g.dataSync();
    tf.dispose([value, ...Object.values(grads)]);
  };
  return { step, dispose: () => tf.dispose([...vars, x, labels]) };
}

function benchSteps(): void {
  console.log(`\nwhole training step (forward + backward via tf.variableGrads), median of ${STEPS}:`);
  console.log(
    `${'batch'.padEnd(8)} ${'before ms'.padStart(10)} ${'after ms'.padStart(10)} ${'before img/s'.padStart(13)} ${'after img/s'.padStart(12)}` +
      `  ${'after, 3-op tanh grad ms'.padStart(24)}`,
  );
  const time = (step: () => void): number => {
    const t0 = performance.now();
    step();
    return performance.now() - t0;
  };
  for (const batch of [64, 32, 16]) {
    const { step, dispose } = makeStep(batch);
    const before: number[] = [];
    const after: number[] = [];
    const unfused: number[] = [];
    for (let i = 0; i < STEPS + 2; i++) {
      useBefore();
      const b = time(step);
      // A training loop runs steps back to back: time each fast variant after one untimed step of
      // its own, not straight after another variant's (the slow stock step leaves caches cold).
      useAfter();
      step();
      const a = time(step);
      useAfter([TANH_GRAD]);
      step();
      const u = time(step);
      if (i >= 2) {
        before.push(b);
        after.push(a);
        unfused.push(u);
      }
    }
    dispose();
    const [mb, ma, mu] = [median(before), median(after), median(unfused)];
    console.log(
      `${String(batch).padEnd(8)} ${mb.toFixed(1).padStart(10)} ${ma.toFixed(1).padStart(10)} ${((batch * 1000) / mb).toFixed(0).padStart(13)} ${((batch * 1000) / ma).toFixed(0).padStart(12)}` +
        `  ${mu.toFixed(1).padStart(24)}`,
    );
  }
}

async function main(): Promise<void> {
  registerWasmTrainingKernels();
  if (!(await tf.setBackend('wasm'))) throw new Error('wasm backend failed to initialise');
  console.log(`tfjs ${tf.version.tfjs}, wasm threads: 1 (node), SIMD: ${String(tf.env().getBool('WASM_HAS_SIMD_SUPPORT'))}`);
  await benchOps();
  benchSteps();
}

await main();
