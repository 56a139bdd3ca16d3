/**
 * WebGPU errors as task failures. A WebGPU validation error does not throw: the call that made
 * it returns an invalid object, the commands using it are dropped, and a readback then returns
 * whatever the output buffer held (zeros: a loss of exactly ln 10 and a model saved with exit 0).
 * So each task's device work runs inside error scopes, and any error in them fails that task with
 * E_BACKEND instead of giving a result. Errors outside the scopes (a lost device, an upload made
 * while staging) reach the device's uncapturederror handler (webgpu.ts), which marks the device
 * failed: every task after that fails too.
 *
 * The error that larger tasks meet first is a storage buffer binding over the adapter's
 * maxStorageBufferBindingSize (128 MiB on lavapipe: 2,048 images of `net`, whose first
 * convolution's output is 64 KiB an image). A task's largest binding is known from the model
 * (ModelSpec.bytesPerExample), so refuseOversizeTasks refuses such sizes when the backend loads.
 */
import * as tf from './tf.js';
import { TrainerError } from '../shared/errors.js';
import type { ModelSpec } from './model.js';
import { firstLineOf, webGpuDevice, webGpuFailure, type GpuErrorFilter } from './webgpu.js';

/** What a task computes, which names the config keys that set its size. */
export type TaskKind = 'gradient' | 'evaluation' | 'prediction';

const FILTERS: readonly GpuErrorFilter[] = ['internal', 'out-of-memory', 'validation'];

/**
 * The bytes WebGPU may bind at once on this device: the smaller of its binding and buffer limits;
 * null unless webgpu is the backend computing (a device held after webgpu lost to another backend
 * bounds nothing).
 */
export function webGpuBindingLimit(): number | null {
  if (tf.getBackend() !== 'webgpu') return null;
  const l = webGpuDevice()?.limits;
  if (!l) return null;
  return Math.min(l.maxStorageBufferBindingSize ?? Infinity, l.maxBufferSize ?? Infinity);
}

/** The largest storage buffer binding a task of `n` examples makes (measured on lavapipe, test/webgpu/binding-size.test.ts). */
export function taskBindingBytes(model: ModelSpec, n: number): number {
  // The fixed part: the flat gradient with loss and count (gradientAsync's one readback).
  return Math.max(n * model.bytesPerExample, (model.size + 2) * 4);
}

/** The most examples a task may hold on this device, or Infinity where there is no webgpu device. */
export function largestWebGpuTask(model: ModelSpec): number {
  const limit = webGpuBindingLimit();
  if (limit === null) return Infinity;
  if (taskBindingBytes(model, 0) > limit) return 0;
  return Math.floor(limit / model.bytesPerExample);
}

/** What to change when a task of `kind` is too large for the device. */
function lower(kind: TaskKind, largest: number): string {
  const most = largest > 0 ? `at most ${largest} images a task fit this adapter` : 'no task fits this adapter';
  if (kind === 'gradient') return `lower train.batchSize or raise train.microBatches (a micro-batch is train.batchSize / train.microBatches images; ${most})`;
  if (kind === 'evaluation') return `lower eval.batchSize (${most})`;
  return most;
}

/**
 * Refuses, before anything is computed, task sizes whose bindings the webgpu device cannot hold:
 * `microBatch` (a training micro-batch) and `maxBatch` (the largest task of any kind: an evaluation
 * chunk where it exceeds the micro-batch). Does nothing on other backends.
 */
export function refuseOversizeTasks(model: ModelSpec, sizes: { microBatch?: number; maxBatch: number }): void {
  const limit = webGpuBindingLimit();
  if (limit === null) return;
  const largest = largestWebGpuTask(model);
  const refuse = (kind: TaskKind, n: number, what: string) => {
    throw new TrainerError(
      'E_BACKEND',
      `webgpu: ${what} of ${n} images binds ${taskBindingBytes(model, n)} bytes (model ${model.name}), over this adapter's ` +
        `maximum storage buffer binding size of ${limit} bytes; ${lower(kind, largest)}`,
    );
  };
  const micro = sizes.microBatch ?? 0;
  if (micro > largest) refuse('gradient', micro, 'a training micro-batch');
  if (sizes.maxBatch > largest) {
    if (sizes.microBatch === undefined) refuse('gradient', sizes.maxBatch, 'a task (a training micro-batch or an evaluation chunk)');
    refuse('evaluation', sizes.maxBatch, 'an evaluation chunk');
  }
}

/**
 * Runs a task's device work on webgpu and returns its result, or fails with E_BACKEND if WebGPU
 * reported any error meanwhile. `start` must issue all of the task's device calls before its first
 * await (a readback's copy and submit are issued when it starts): the scopes are pushed and popped
 * around that synchronous part, so tasks that overlap in time never share a scope.
 */
export async function webGpuTask<T>(kind: TaskKind, n: number, model: ModelSpec, start: () => Promise<T>): Promise<T> {
  const device = webGpuDevice();
  const failedBefore = webGpuFailure();
  if (device === null || failedBefore !== null) throw failed(kind, n, model, failedBefore ?? 'the webgpu device is not loaded');
  for (const f of FILTERS) device.pushErrorScope(f);
  let result: Promise<T>;
  try {
    result = start();
  } catch (err) {
    result = Promise.reject(err);
  }
  // Popped at once, in reverse order: validation, out-of-memory, internal.
  const scopes = FILTERS.map(() => device.popErrorScope());
  const [outcome, errors] = await Promise.allSettled([result, Promise.all(scopes)]);
  const error = errors.status === 'fulfilled' ? errors.value.find((e) => e !== null) : null;
  if (error) throw failed(kind, n, model, firstLineOf(error.message));
  const failedMeanwhile = webGpuFailure();
  if (failedMeanwhile !== null) throw failed(kind, n, model, failedMeanwhile);
  if (outcome.status === 'rejected') throw outcome.reason;
  return outcome.value;
}

/** The task's E_BACKEND: what failed, WebGPU's first line, and for a binding over the limit what to lower. */
function failed(kind: TaskKind, n: number, model: ModelSpec, why: string): TrainerError {
  const what = kind === 'gradient' ? 'a training micro-batch' : kind === 'evaluation' ? 'an evaluation chunk' : 'a prediction pass';
  const tooLarge = /binding size|maxStorageBufferBindingSize|maxBufferSize|out of memory/i.test(why);
  return new TrainerError('E_BACKEND', `webgpu: ${what} of ${n} images failed: ${why}${tooLarge ? `; ${lower(kind, largestWebGpuTask(model))}` : ''}`);
}
