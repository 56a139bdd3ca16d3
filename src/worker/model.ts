/**
 * Models as a flat parameter layout. The parameters of a model are one
 * Float32Array; each tensor is a (name, shape, offset) window into it. That
 * vector is what the coordinator updates and what travels to workers, so the
 * layout is fixed per model and never depends on the backend.
 *
 * Images are NHWC ([batch, 32, 32, 3]) and kernels use TensorFlow's layout
 * ([kh, kw, in, out] for convolutions, [in, out] for dense layers), so the same
 * vector loads unchanged into a tf.layers model for export.
 */
import * as tf from './tf.js';
import type { ModelName } from '../shared/config.js';
import { TrainerError } from '../shared/errors.js';
import { Rng } from '../shared/rng.js';

export const IMAGE_SHAPE = [32, 32, 3] as const;
/** The article's networks always have 10 outputs, even when trained on a class subset. */
export const NUM_OUTPUTS = 10;

export interface ParamSpec {
  name: string;
  shape: number[];
  offset: number;
  size: number;
  /** Inputs feeding one output unit: the bound of PyTorch's default initialisation. */
  fanIn: number;
}

export interface ModelSpec {
  name: ModelName;
  params: ParamSpec[];
  /** Total number of parameters. */
  size: number;
  /**
   * The largest tensor a gradient, an evaluation or a forward pass holds, in bytes per example:
   * what bounds a task's size on webgpu, whose storage buffer bindings are limited
   * (webgpu-errors.ts; checked against what tfjs-backend-webgpu binds in test/webgpu).
   */
  bytesPerExample: number;
  /** Logits [batch, 10] from parameter tensors in layout order and NHWC images. */
  forward(params: readonly tf.Tensor[], x: tf.Tensor4D): tf.Tensor2D;
  /**
   * Where the first layer is dense on the flattened images (fc), forward in two parts, op for op:
   * forward(w, x) = rest(w.slice(1), matMul(flatten(x), w[0])). A gradient computer can then
   * differentiate `rest` alone and form the first weight's gradient, by far the largest, itself,
   * and never needs that weight as a tensor (gradient.ts).
   */
  firstDense?: {
    flatten(x: tf.Tensor4D): tf.Tensor2D;
    /** The network from the first product z on, given the parameters after the first weight. */
    rest(after: readonly tf.Tensor[], z: tf.Tensor2D): tf.Tensor2D;
  };
  /** The same network as a tf.layers model (logits out), for export. */
  buildLayers(): tf.Sequential;
}

interface LayerDef {
  name: string;
  weightShape: number[];
  fanIn: number;
}

function layout(defs: LayerDef[]): ParamSpec[] {
  const params: ParamSpec[] = [];
  let offset = 0;
  for (const d of defs) {
    const outs = d.weightShape[d.weightShape.length - 1] as number;
    for (const [name, shape] of [
      [`${d.name}.weight`, d.weightShape],
      [`${d.name}.bias`, [outs]],
    ] as const) {
      const size = shape.reduce((a, b) => a * b, 1);
      params.push({ name, shape: [...shape], offset, size, fanIn: d.fanIn });
      offset += size;
    }
  }
  return params;
}

function sizeOf(params: ParamSpec[]): number {
  const last = params[params.length - 1];
  return last ? last.offset + last.size : 0;
}

function p(params: readonly tf.Tensor[], i: number): tf.Tensor {
  const t = params[i];
  if (!t) throw new TrainerError('E_MODEL', `missing parameter tensor ${i}`);
  return t;
}

/** The article's CNN: conv 3→16, tanh, maxpool, conv 16→8, tanh, maxpool, linear 512→32, tanh, linear 32→10. */
function netModel(): ModelSpec {
  const params = layout([
    { name: 'conv1', weightShape: [3, 3, 3, 16], fanIn: 3 * 9 },
    { name: 'conv2', weightShape: [3, 3, 16, 8], fanIn: 16 * 9 },
    { name: 'fc1', weightShape: [512, 32], fanIn: 512 },
    { name: 'fc2', weightShape: [32, NUM_OUTPUTS], fanIn: 32 },
  ]);
  return {
    name: 'net',
    params,
    size: sizeOf(params),
    // conv1's output (and its gradient), 32×32×16 floats.
    bytesPerExample: 32 * 32 * 16 * 4,
    forward(w, x) {
      let h: tf.Tensor4D = tf.maxPool(tf.tanh(tf.add(tf.conv2d(x, p(w, 0) as tf.Tensor4D, 1, 'same'), p(w, 1))), 2, 2, 'valid');
      h = tf.maxPool(tf.tanh(tf.add(tf.conv2d(h, p(w, 2) as tf.Tensor4D, 1, 'same'), p(w, 3))), 2, 2, 'valid');
      const flat = tf.reshape(h, [-1, 8 * 8 * 8]) as tf.Tensor2D;
      const f1 = tf.tanh(tf.add(tf.matMul(flat, p(w, 4) as tf.Tensor2D), p(w, 5))) as tf.Tensor2D;
      return tf.add(tf.matMul(f1, p(w, 6) as tf.Tensor2D), p(w, 7)) as tf.Tensor2D;
    },
    buildLayers() {
      const { sequential, layers } = tf.tfLayers();
      return sequential({
        name: 'net',
        layers: [
          layers.conv2d({ name: 'conv1', inputShape: [...IMAGE_SHAPE], filters: 16, kernelSize: 3, padding: 'same', activation: 'tanh' }),
          layers.maxPooling2d({ name: 'pool1', poolSize: 2, strides: 2 }),
          layers.conv2d({ name: 'conv2', filters: 8, kernelSize: 3, padding: 'same', activation: 'tanh' }),
          layers.maxPooling2d({ name: 'pool2', poolSize: 2, strides: 2 }),
          layers.flatten({ name: 'flatten' }),
          layers.dense({ name: 'fc1', units: 32, activation: 'tanh' }),
          layers.dense({ name: 'fc2', units: NUM_OUTPUTS }),
        ],
      });
    },
  };
}

/** The article's fully connected net: 3072→1024→512→128→10 with tanh. */
function fcModel(): ModelSpec {
  const widths = [32 * 32 * 3, 1024, 512, 128, NUM_OUTPUTS];
  const params = layout(
    widths.slice(1).map((out, i) => ({ name: `fc${i + 1}`, weightShape: [widths[i] as number, out], fanIn: widths[i] as number })),
  );
  const layers = widths.length - 1;
  const firstDense = {
    flatten: (x: tf.Tensor4D) => tf.reshape(x, [-1, widths[0] as number]) as tf.Tensor2D,
    /** From the first layer's product on: its bias (after[0]), then layer after layer. */
    rest(after: readonly tf.Tensor[], z: tf.Tensor2D): tf.Tensor2D {
      let h = tf.add(z, p(after, 0)) as tf.Tensor2D;
      for (let i = 1; i < layers; i++) {
        h = tf.tanh(h);
        h = tf.add(tf.matMul(h, p(after, 2 * i - 1) as tf.Tensor2D), p(after, 2 * i)) as tf.Tensor2D;
      }
      return h;
    },
  };
  return {
    name: 'fc',
    params,
    size: sizeOf(params),
    // The flattened image, 3,072 floats; the hidden layers are narrower.
    bytesPerExample: 32 * 32 * 3 * 4,
    forward: (w, x) => firstDense.rest(w.slice(1), tf.matMul(firstDense.flatten(x), p(w, 0) as tf.Tensor2D)),
    firstDense,
    buildLayers() {
      const { sequential, layers: l } = tf.tfLayers();
      return sequential({
        name: 'fc',
        layers: [
          l.flatten({ name: 'flatten', inputShape: [...IMAGE_SHAPE] }),
          ...widths.slice(1).map((units, i) =>
            l.dense({ name: `fc${i + 1}`, units, activation: i < layers - 1 ? 'tanh' : 'linear' }),
          ),
        ],
      });
    },
  };
}

const MODEL_FACTORIES: Record<ModelName, () => ModelSpec> = { net: netModel, fc: fcModel };

export function getModel(name: ModelName): ModelSpec {
  const make = MODEL_FACTORIES[name];
  if (!make) throw new TrainerError('E_MODEL', `unknown model '${name}' (known: ${Object.keys(MODEL_FACTORIES).join(', ')})`);
  return make();
}

/**
 * PyTorch's default initialisation for Conv2d and Linear: kaiming-uniform with
 * a = √5 for weights, which is uniform(±1/√fan_in), and uniform(±1/√fan_in)
 * for biases; drawn from a stream seeded by `seed`.
 */
export function initParams(model: ModelSpec, seed: number): Float32Array {
  const out = new Float32Array(model.size);
  for (const spec of model.params) {
    const rng = Rng.derive(seed, 'init', spec.name);
    const bound = 1 / Math.sqrt(spec.fanIn);
    for (let i = 0; i < spec.size; i++) out[spec.offset + i] = (rng.next() * 2 - 1) * bound;
  }
  return out;
}

/**
 * Parameter tensors (views copied into the backend) in layout order, from parameter `from` on;
 * where `have` holds one already (not null), that one is returned instead of a new one.
 */
export function paramTensors(model: ModelSpec, flat: Float32Array, from = 0, have: readonly (tf.Tensor | null)[] = []): tf.Tensor[] {
  if (flat.length !== model.size) {
    throw new TrainerError('E_MODEL', `model ${model.name} has ${model.size} parameters, got a vector of ${flat.length}`);
  }
  return model.params.slice(from).map((s, i) => have[from + i] ?? tf.tensor(flat.subarray(s.offset, s.offset + s.size), s.shape, 'float32'));
}
