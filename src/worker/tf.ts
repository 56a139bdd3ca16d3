/**
 * TensorFlow.js (the @tensorflow/tfjs bundle, CommonJS) loaded with require(). Imported as an ES
 * module, Node first scans the bundle and its parts for their export names: about 0.5 s of CPU
 * at every start of a process or compute thread, against 0.15-0.2 s through require(). trainer's
 * modules take tf from here (`import * as tf from './tf.js'`): its values by name below, its
 * types all.
 */
import { createRequire } from 'node:module';
import type * as TF from '@tensorflow/tfjs';
import { withStandIns } from '../shared/stand-ins.js';

export type * from '@tensorflow/tfjs';

/** Types inside namespaces that the values below hide. */
export type Conv2DInfo = TF.backend_util.Conv2DInfo;
export type ExplicitPadding = TF.backend_util.ExplicitPadding;
export type IOHandler = TF.io.IOHandler;
export type ModelArtifacts = TF.io.ModelArtifacts;
/** The class (for instanceof) and its type. */
export type Tensor<R extends TF.Rank = TF.Rank> = TF.Tensor<R>;

/** require() from here: for the other CommonJS packages of TensorFlow.js too (backends, tfjs-node), for the same reason. */
export const requireTfjs = createRequire(import.meta.url);

/**
 * The parts of the bundle that trainer does not compute with: 4.9 of its 7.4 MB of JavaScript,
 * which ran at every start of a process or compute thread (about 0.1 s of CPU, half of loading
 * it). tfjs-layers builds the exported model; the converter (graph models), tf.data and webgl
 * are not used at all. The bundle only re-exports them, so it is loaded with them stood in for by
 * empty modules (stand-ins.ts), and completed when they are wanted (`completeTfjs`).
 */
const DEFERRED = ['@tensorflow/tfjs-layers', '@tensorflow/tfjs-converter', '@tensorflow/tfjs-data', '@tensorflow/tfjs-backend-webgl'] as const;

// Whoever requires them from now on (completeTfjs, tfjs-node) gets the real modules.
const tfjs = withStandIns(
  DEFERRED.map((p) => requireTfjs.resolve(p)),
  () => requireTfjs('@tensorflow/tfjs') as typeof TF,
);
let completed = false;

/**
 * Makes the bundle what `require('@tensorflow/tfjs')` gives: the deferred packages' exports added
 * as the bundle adds them (in its order, none over a name already there), its `data` and `version`.
 * Before tfjs-node loads (it takes classes of tfjs-layers from the bundle) and for layers models.
 */
export function completeTfjs(): void {
  if (completed) return;
  completed = true;
  const bundle = tfjs as unknown as Record<string, unknown> & { version: Record<string, string> };
  const [layersPkg, converter, data, webgl] = DEFERRED.map((p) => requireTfjs(p) as Record<string, unknown>) as Record<string, unknown>[];
  for (const pkg of [layersPkg, converter, webgl] as Record<string, unknown>[]) {
    for (const k of Object.keys(pkg)) {
      if (k !== 'default' && !Object.prototype.hasOwnProperty.call(bundle, k)) Object.defineProperty(bundle, k, { enumerable: true, get: () => pkg[k] });
    }
  }
  // A namespace of tf.data, as the bundle makes it (its exports, and itself as `default`).
  const dataNamespace: Record<string, unknown> = Object.create(null);
  for (const k of Object.keys(data as object)) if (k !== 'default') Object.defineProperty(dataNamespace, k, { enumerable: true, get: () => (data as Record<string, unknown>)[k] });
  dataNamespace.default = data;
  Object.defineProperty(bundle, 'data', { enumerable: true, configurable: true, writable: true, value: Object.freeze(dataNamespace) });
  Object.assign(bundle.version, {
    'tfjs-backend-webgl': webgl?.version_webgl,
    'tfjs-data': data?.version_data,
    'tfjs-layers': layersPkg?.version_layers,
    'tfjs-converter': converter?.version_converter,
  });
}

/**
 * tfjs-layers alone, for the exported layers model (model.ts buildLayers, export.ts): the package the
 * completed bundle takes these names from, without the converter, tf.data and webgl (~70 ms of
 * CPU that completing the bundle costs more, at the end of every run).
 */
export function tfLayers(): Pick<typeof TF, 'sequential' | 'layers' | 'loadLayersModel' | 'version_layers'> {
  return requireTfjs('@tensorflow/tfjs-layers') as typeof TF;
}

/** The completed bundle, all of `require('@tensorflow/tfjs')`: before tfjs-node loads, and for tests comparing it with the package. */
export function tfjsBundle(): typeof TF {
  completeTfjs();
  return tfjs;
}

export const {
  // Engine, backends, kernels and gradients.
  backend, engine, env, enableProdMode, findBackend, findBackendFactory, getBackend, getGradient, getKernel, getKernelsForBackend,
  ready, registerBackend, registerGradient, registerKernel, removeBackend, setBackend, unregisterKernel, profile, memory, tidy, keep, dispose,
  // Kernel names.
  Add, BatchMatMul, Conv2D, Conv2DBackpropFilter, Conv2DBackpropInput, Identity, MaxPool, MaxPoolGrad, Square, Sub, Sum, Tanh,
  // Tensors and ops.
  tensor, tensor1d, tensor2d, tensor4d, scalar, variable, zeros, ones, range, randomNormal, randomUniform, clone, cast, reshape, concat, stack,
  add, sub, mul, neg, square, tanh, matMul, conv2d, maxPool, sum, max, argMax, equal, oneHot, logSoftmax, losses,
  grad, grads, valueAndGrads, variableGrads,
  // Namespaces and versions (layers: tfjsBundle).
  Tensor, backend_util, io, util, version,
} = tfjs;
