/**
 * TensorFlow.js (the @tensorflow/tfjs bundle, CommonJS) loaded with require(). Imported as an ES
 * module, Node first scans the bundle and its parts for their export names: about 0.5 s of CPU
 * at every start of a process or compute thread, against 0.15-0.2 s through require(). trainer's
 * modules take tf from here (`import * as tf from './tf.js'`): its values by name below, its
 * types all.
 */
import { createRequire } from 'node:module';
import type * as TF from '@tensorflow/tfjs';

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

const tfjs = requireTfjs('@tensorflow/tfjs') as typeof TF;

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
  // Namespaces, layers (export and its tests) and versions.
  Tensor, backend_util, io, util, layers, sequential, loadLayersModel, version, version_layers,
} = tfjs;
