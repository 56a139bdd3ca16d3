/**
 * The reference the distributed trainer is held to: a plain single-thread
 * loop with no distribution code at all. Full global batch, mean loss,
 * tf.variableGrads, PyTorch's SGD written with tensor ops.
 */
import * as tf from '../src/worker/tf.js';
import { IMAGE_BYTES, type Dataset } from '../src/data/cifar-format.js';
import { normalizeBatch, type Normalization } from '../src/data/normalize.js';
import { getModel, initParams } from '../src/worker/model.js';
import { epochPermutation } from '../src/shared/rng.js';
import type { Config } from '../src/shared/config.js';

export function referenceTrain(config: Config, train: Dataset, norm: Normalization): Float32Array {
  const model = getModel(config.model.name);
  const init = initParams(model, config.run.seed);
  const vars = model.params.map((p) => tf.variable(tf.tensor(init.subarray(p.offset, p.offset + p.size), p.shape)));
  const bufs: (tf.Tensor | null)[] = vars.map(() => null);
  const { lr, momentum, weightDecay, batchSize, epochs } = config.train;
  const input = new Float32Array(batchSize * IMAGE_BYTES);
  for (let epoch = 0; epoch < epochs; epoch++) {
    const order = epochPermutation(config.run.seed, epoch, train.count);
    for (let s = 0; s * batchSize < train.count; s++) {
      const idx = order.subarray(s * batchSize, Math.min(train.count, (s + 1) * batchSize));
      normalizeBatch(train, idx, norm, input);
      tf.tidy(() => {
        const x = tf.tensor4d(input.subarray(0, idx.length * IMAGE_BYTES), [idx.length, 32, 32, 3]);
        const y = tf.oneHot(tf.tensor1d(Array.from(idx, (i) => train.labels[i] as number), 'int32'), 10);
        const { grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, model.forward(vars, x)) as tf.Scalar, vars);
        vars.forEach((v, i) => {
          let g = grads[v.name] as tf.Tensor;
          if (weightDecay) g = g.add(v.mul(weightDecay));
          if (momentum) {
            const prev = bufs[i];
            const b = prev ? prev.mul(momentum).add(g) : g;
            if (prev) prev.dispose();
            bufs[i] = tf.keep(b.clone());
            g = b;
          }
          v.assign(v.sub(g.mul(lr)));
        });
      });
    }
  }
  const out = new Float32Array(model.size);
  model.params.forEach((p, i) => out.set((vars[i] as tf.Variable).dataSync() as Float32Array, p.offset));
  tf.dispose([...vars, ...bufs.filter((b): b is tf.Tensor => b !== null)]);
  return out;
}

/** max |a - b| / max |b|: the relative distance of two parameter vectors. */
export function relativeDistance(a: Float32Array, b: Float32Array): number {
  let diff = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs((a[i] as number) - (b[i] as number)));
    scale = Math.max(scale, Math.abs(b[i] as number));
  }
  return diff / scale;
}
