// Per-op and whole-step benchmark of the wasm training kernels: "before" is the stock wasm
// kernel (or, for Conv2DBackpropFilter, which wasm lacks, the Part-1 JS loop), "after" is what
// registerWasmTrainingKernels() installs. Both are measured in the same run, interleaved, and
// each op's "after" output is compared with its "before" output (MaxPoolGrad's with the cpu
// backend's: the stock wasm kernel is wrong there). The Input rows compare the batch input made
// in JavaScript (normalizeBatch's table loop, then tf.tensor4d: the path off wasm) with the wasm
// table kernel that MicroBatchComputer uses on wasm. The TanhGrad rows compare tfjs's Tanh gradient (Square, Sub,
// Multiply) with the fused kernel, and the whole-step table also times our kernels without it.
// The products section times BatchMatMul at the fc model's shapes (ours against the stock
// XNNPACK kernel, whose packed weights are cached when the same tensor comes again: in training
// every step brings new ones) in GFLOP/s, next to the machine's wasm SIMD peak: independent
// multiply-then-add chains, and fused multiply-add chains where relaxed SIMD is available.
//   node dist/scripts/bench-kernels.js [--reps 15] [--steps 8] [--only products]
import * as tf from '../src/worker/tf.js';
import '@tensorflow/tfjs-backend-wasm';
import { IMAGE_BYTES, allocateDataset, type Dataset } from '../src/data/cifar-format.js';
import { ARTICLE_NORMALIZATION, normalizationTable, normalizeBatch } from '../src/data/normalize.js';
import { conv2dBackpropFilterJsConfig } from '../src/worker/kernels/conv2d-backprop-filter.js';
import { registerWasmTrainingKernels, unregisterWasmTrainingKernels } from '../src/worker/kernels/index.js';
import { normalizedImagesOnWasm } from '../src/worker/kernels/normalize-images.js';
import { TANH_GRAD } from '../src/worker/kernels/tanh-grad.js';
import { setWasmFlags } from '../src/worker/kernels/v8-wasm-flags.js';
import { Fn, assembleModule } from '../src/worker/kernels/wasm-asm.js';
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

/**
 * peak_{kind}(iters): 12 independent chains acc = acc·x + y of f32x4 (mul then add, or one fused
 * multiply-add): enough chains to cover the latency, so the loop runs at the FP ports' throughput.
 */
function peakFn(fused: boolean): Fn {
  const f = new Fn(fused ? 'peakFma' : 'peakMulAdd', ['i32']);
  const it = f.local('i32');
  const accs = Array.from({ length: 12 }, () => f.local('v128'));
  const [x, y] = [f.local('v128'), f.local('v128')];
  f.f32x4Const(0.999).set(x);
  f.f32x4Const(1e-3).set(y);
  accs.forEach((a, i) => f.f32x4Const(i).set(a));
  f.forLoop(it, () => f.i32(0), () => f.get(0), 1, () => {
    for (const a of accs) {
      if (fused) f.get(a).get(x).get(y).f32x4RelaxedMadd().set(a);
      else f.get(a).get(x).f32x4Mul().get(y).f32x4Add().set(a);
    }
  });
  // Keep the chains alive: store their sum.
  f.i32(0);
  f.get(accs[0]!);
  for (const a of accs.slice(1)) f.get(a).f32x4Add();
  f.v128Store();
  return f;
}

/** GFLOP/s of peakFn, or null where relaxed SIMD does not compile. */
function peakGflops(fused: boolean): number | null {
  type Wasm = { Memory: new (d: { initial: number }) => object; Module: new (b: Uint8Array) => object; Instance: new (m: object, i: object) => { exports: Record<string, (n: number) => void> } };
  const W = (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly;
  let run: (n: number) => void;
  try {
    const instance = new W.Instance(new W.Module(assembleModule([peakFn(fused)])), { env: { memory: new W.Memory({ initial: 1 }) } });
    run = instance.exports[fused ? 'peakFma' : 'peakMulAdd'] as (n: number) => void;
  } catch {
    return null;
  }
  const iters = 2_000_000;
  run(iters / 10);
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    run(iters);
    times.push(performance.now() - t0);
  }
  // 12 chains x 4 lanes x 2 flops per iteration.
  return (iters * 12 * 4 * 2) / (median(times) * 1e6);
}

function benchProducts(): void {
  const mulAdd = peakGflops(false);
  const fma = peakGflops(true);
  console.log(`\nwasm SIMD peak, one thread: ${mulAdd?.toFixed(1)} GFLOP/s multiply then add; ${fma === null ? 'no relaxed SIMD' : `${fma.toFixed(1)} GFLOP/s fused multiply-add (relaxed SIMD)`}`);
  console.log(`BatchMatMul at the fc model's shapes, median of ${REPS} (ms, GFLOP/s); stock = XNNPACK with its packed weights cached:`);
  const cases: [string, number[], number[], boolean, boolean][] = [
    ['fc1 forward [16,3072] x [3072,1024]', [16, 3072], [3072, 1024], false, false],
    ['fc1 weight gradient [16,3072]^T x [16,1024]', [16, 3072], [16, 1024], true, false],
    ['fc2 input gradient [16,512] x [1024,512]^T', [16, 512], [1024, 512], false, true],
    ['fc1 forward [64,3072] x [3072,1024]', [64, 3072], [3072, 1024], false, false],
    ['fc1 weight gradient [64,3072]^T x [64,1024]', [64, 3072], [64, 1024], true, false],
  ];
  for (const [label, as, bs, ta, tb] of cases) {
    const a = rand(as, 1);
    const b = rand(bs, 2);
    const m = (ta ? as[1] : as[0]) as number;
    const k = (ta ? as[0] : as[1]) as number;
    const n = (tb ? bs[0] : bs[1]) as number;
    const time = (): number => {
      const ts: number[] = [];
      for (let i = 0; i < REPS + 1; i++) {
        const ms = timeOnce(() => tf.matMul(a, b, ta, tb));
        if (i > 0) ts.push(ms);
      }
      return median(ts);
    };
    useAfter();
    const ours = time();
    useBefore();
    const stock = time();
    useAfter();
    const gf = (ms: number) => ((2 * m * k * n) / (ms * 1e6)).toFixed(1);
    console.log(`${label.padEnd(46)} ours ${ours.toFixed(2).padStart(7)} ms ${gf(ours).padStart(5)} GFLOP/s   stock ${stock.toFixed(2).padStart(7)} ms ${gf(stock).padStart(5)} GFLOP/s`);
    tf.dispose([a, b]);
  }
}

async function main(): Promise<void> {
  setWasmFlags();
  registerWasmTrainingKernels();
  if (!(await tf.setBackend('wasm'))) throw new Error('wasm backend failed to initialise');
  console.log(`tfjs ${tf.version.tfjs}, wasm threads: 1 (node), SIMD: ${String(tf.env().getBool('WASM_HAS_SIMD_SUPPORT'))}`);
  const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
  if (only === undefined || only === 'ops') await benchOps();
  if (only === undefined || only === 'steps') benchSteps();
  if (only === undefined || only === 'products') benchProducts();
}

await main();
