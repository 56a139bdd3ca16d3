// The webgpu backend on this machine's GPU: one micro-batch's gradient of the `net` model (what a
// worker computes, read back to the host) and the convolutions' filter gradients alone, with
// tfjs-backend-webgpu's Conv2DBackpropFilter ("stock") and trainer's (worker/webgpu-kernels.ts),
// interleaved in the same run, medians over --reps. Each filter gradient of trainer's is compared
// with tfjs's (relative difference: float sums in another order).
//   npm run bench:webgpu -- [--gpu N] [--batches 16,64,256,1024] [--reps 7]
import * as tf from '../src/worker/tf.js';
import { generateSynthetic } from '../src/data/synthetic.js';
import { ARTICLE_NORMALIZATION } from '../src/data/normalize.js';
import { selectBackend } from '../src/worker/backend.js';
import { MicroBatchComputer } from '../src/worker/gradient.js';
import { getModel, initParams } from '../src/worker/model.js';
import { useOwnWebGpuKernels } from '../src/worker/webgpu-kernels.js';
import { median } from './stats.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
function positiveInts(name: string, fallback: string): number[] {
  const text = arg(name) ?? fallback;
  const xs = text.split(',').map(Number);
  if (xs.some((x) => !Number.isInteger(x) || x <= 0)) throw new Error(`--${name} takes positive integers, comma-separated, got ${text}`);
  return xs;
}

if (process.argv.includes('--help')) {
  process.stdout.write('npm run bench:webgpu -- [--gpu N] [--batches 16,64,256,1024] [--reps 7]: a micro-batch gradient and the filter gradients on webgpu, tfjs\'s Conv2DBackpropFilter against trainer\'s\n');
  process.exit(0);
}
const gpuText = arg('gpu');
const gpu = gpuText === undefined ? null : Number(gpuText);
if (gpu !== null && !(Number.isInteger(gpu) && gpu >= 0)) throw new Error(`--gpu takes a GPU number from 0, got ${gpuText}`);
const batches = positiveInts('batches', '16,64,256,1024');
const [reps] = positiveInts('reps', '7') as [number];

const selected = await selectBackend('webgpu', gpu);
process.stdout.write(`trainer bench:webgpu, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC: backend webgpu (${selected.detail}), ${reps} reps, medians in ms\n\n`);

/** Median ms of `run` (read back each time), after one untimed call. */
async function time(run: () => Promise<unknown>): Promise<number> {
  await run();
  const ms: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    await run();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

const model = getModel('net');
const weights = initParams(model, 1);
const rows: string[] = ['| batch | what | tfjs ms | trainer ms | tfjs / trainer | images/s (trainer) | max rel. diff |', '| ---: | --- | ---: | ---: | ---: | ---: | ---: |'];
for (const batch of batches) {
  const data = generateSynthetic(batch, 7);
  const idx = Int32Array.from({ length: batch }, (_, i) => i);
  const c = new MicroBatchComputer(model, ARTICLE_NORMALIZATION, batch);
  const out = new Float32Array(model.size);
  const step = { stock: 0, own: 0 };
  for (const own of [false, true]) {
    useOwnWebGpuKernels(own);
    step[own ? 'own' : 'stock'] = await time(() => c.gradientAsync(weights, data, idx, out));
  }
  rows.push(`| ${batch} | gradient of a micro-batch | ${step.stock.toFixed(1)} | ${step.own.toFixed(1)} | ${(step.stock / step.own).toFixed(2)} | ${Math.round((batch / step.own) * 1000)} | |`);
  for (const [size, ci, co] of [[32, 3, 16], [16, 16, 8]] as const) {
    const x = tf.randomNormal([batch, size, size, ci], 0, 1, 'float32', 1);
    const dy = tf.randomNormal([batch, size, size, co], 0, 1, 'float32', 2);
    const run = () => tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, ci, co] }) as tf.Tensor;
    const res: Record<'stock' | 'own', { ms: number; v: ArrayLike<number> }> = { stock: { ms: 0, v: [] }, own: { ms: 0, v: [] } };
    for (const own of [false, true]) {
      useOwnWebGpuKernels(own);
      const r = res[own ? 'own' : 'stock'];
      r.ms = await time(async () => {
        const t = run();
        r.v = await t.data();
        t.dispose();
      });
    }
    let scale = 0;
    let diff = 0;
    for (let i = 0; i < res.stock.v.length; i++) {
      scale = Math.max(scale, Math.abs(res.stock.v[i] as number));
      diff = Math.max(diff, Math.abs((res.stock.v[i] as number) - (res.own.v[i] as number)));
    }
    rows.push(`| ${batch} | filter gradient ${size}×${size}×${ci} → ${co} | ${res.stock.ms.toFixed(2)} | ${res.own.ms.toFixed(2)} | ${(res.stock.ms / res.own.ms).toFixed(2)} | | ${(diff / scale).toExponential(1)} |`);
    x.dispose();
    dy.dispose();
  }
}
process.stdout.write(`${rows.join('\n')}\n`);
process.exit(0);
