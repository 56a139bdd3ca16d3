// The webgpu backend on this machine's GPU: one micro-batch's gradient of the `net` model (what a
// worker computes, read back to the host) through tfjs's engine and replayed from a GPU command
// plan (worker/webgpu-plan.ts), and the convolutions' filter gradients alone, with
// tfjs-backend-webgpu's Conv2DBackpropFilter ("stock") and trainer's (worker/webgpu-kernels.ts),
// alternating in the same run, medians over --reps. Each filter gradient of trainer's is compared
// with tfjs's (relative difference: float sums in another order).
//   npm run bench:webgpu -- [--gpu N] [--batches 16,64,256,1024] [--reps 7]   (--help lists them)
import * as tf from '../src/worker/tf.js';
import { generateSynthetic } from '../src/data/synthetic.js';
import { ARTICLE_NORMALIZATION } from '../src/data/normalize.js';
import { selectBackend } from '../src/worker/backend.js';
import { MicroBatchComputer } from '../src/worker/gradient.js';
import { getModel, initParams } from '../src/worker/model.js';
import { useOwnWebGpuKernels } from '../src/worker/webgpu-kernels.js';
import { intOption, listOption, parseOptions, runMain } from './options.js';
import { median } from './stats.js';

const ABOUT =
  "npm run bench:webgpu -- [options]: one micro-batch's gradient of the net model and the convolutions' filter gradients on webgpu,\n" +
  "tfjs-backend-webgpu's Conv2DBackpropFilter against trainer's (worker/webgpu-kernels.ts), and the gradient through tfjs's engine\n" +
  "against its GPU command plan (worker/webgpu-plan.ts), interleaved; medians in ms.";
const OPTIONS = {
  gpu: { type: 'string', help: "the N-th hardware adapter (as trainer's --gpu); without it Dawn's first adapter, a software one included" },
  batches: { type: 'string', default: '16,64,256,1024', arg: 'LIST', help: 'micro-batch sizes' },
  reps: { type: 'string', default: '7', help: 'timed repetitions of each, after one untimed' },
} as const;

async function main(): Promise<void> {
  const values = parseOptions(ABOUT, OPTIONS);
  const gpu = values.gpu === undefined ? null : intOption('gpu', values.gpu, 0);
  const batches = listOption('batches', values.batches, intOption);
  const reps = intOption('reps', values.reps);
  const selected = await selectBackend('webgpu', gpu);
  process.stdout.write(`trainer bench:webgpu, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC: backend webgpu (${selected.detail}), ${reps} reps, medians in ms\n\n`);

  const model = getModel('net');
  const weights = initParams(model, 1);
  const rows: string[] = ['| batch | what | tfjs ms | trainer ms | tfjs / trainer | images/s (trainer) | max rel. diff |', '| ---: | --- | ---: | ---: | ---: | ---: | ---: |'];
  for (const batch of batches) {
    const data = generateSynthetic(batch, 7);
    const idx = Int32Array.from({ length: batch }, (_, i) => i);
    // Through tfjs's engine for both kernels: a GPU plan replays the kernels it was recorded with.
    const engine = new MicroBatchComputer(model, ARTICLE_NORMALIZATION, batch);
    engine.usePlans = false;
    const out = new Float32Array(model.size);
    const step = await alternate(reps, () => engine.gradientAsync(weights, data, idx, out));
    rows.push(`| ${batch} | gradient of a micro-batch, engine | ${step.stock.toFixed(1)} | ${step.own.toFixed(1)} | ${(step.stock / step.own).toFixed(2)} | ${Math.round((batch / step.own) * 1000)} | |`);
    // trainer's kernels, through the engine ("tfjs" column) and replayed from a GPU plan ("trainer").
    const planned = new MicroBatchComputer(model, ARTICLE_NORMALIZATION, batch);
    const plan = await alternate(reps, (replay) => (replay ? planned : engine).gradientAsync(weights, data, idx, out), () => {});
    rows.push(`| ${batch} | the same, engine / GPU plan | ${plan.stock.toFixed(1)} | ${plan.own.toFixed(1)} | ${(plan.stock / plan.own).toFixed(2)} | ${Math.round((batch / plan.own) * 1000)} | |`);
    for (const [size, ci, co] of [[32, 3, 16], [16, 16, 8]] as const) {
      const x = tf.randomNormal([batch, size, size, ci], 0, 1, 'float32', 1);
      const dy = tf.randomNormal([batch, size, size, co], 0, 1, 'float32', 2);
      const run = () => tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, ci, co] }) as tf.Tensor;
      const values: Record<'stock' | 'own', ArrayLike<number>> = { stock: [], own: [] };
      const res = await alternate(reps, async (own) => {
        const t = run();
        values[own ? 'own' : 'stock'] = await t.data();
        t.dispose();
      });
      let scale = 0;
      let diff = 0;
      for (let i = 0; i < values.stock.length; i++) {
        scale = Math.max(scale, Math.abs(values.stock[i] as number));
        diff = Math.max(diff, Math.abs((values.stock[i] as number) - (values.own[i] as number)));
      }
      rows.push(`| ${batch} | filter gradient ${size}×${size}×${ci} → ${co} | ${res.stock.toFixed(2)} | ${res.own.toFixed(2)} | ${(res.stock / res.own).toFixed(2)} | | ${(diff / scale).toExponential(1)} |`);
      x.dispose();
      dy.dispose();
    }
  }
  process.stdout.write(`${rows.join('\n')}\n`);
}

/**
 * Median ms of `run` with tfjs's kernel and with trainer's (each read back), the two alternating
 * `reps` times after one untimed call of each, so that both see the same minutes of the machine.
 * `choose` sets which kernel runs (by default; another pair of variants gives its own).
 */
async function alternate(reps: number, run: (own: boolean) => Promise<unknown>, choose: (own: boolean) => void = useOwnWebGpuKernels): Promise<{ stock: number; own: number }> {
  const ms = { stock: [] as number[], own: [] as number[] };
  for (let r = -1; r < reps; r++) {
    for (const own of [false, true]) {
      choose(own);
      const t0 = performance.now();
      await run(own);
      if (r >= 0) ms[own ? 'own' : 'stock'].push(performance.now() - t0);
    }
  }
  useOwnWebGpuKernels(true);
  return { stock: median(ms.stock), own: median(ms.own) };
}

await runMain(main);
process.exit(process.exitCode ?? 0);
