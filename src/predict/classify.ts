/**
 * Class probabilities of CIFAR records under an exported model: normalised
 * with the model's stored normalisation by the training code itself, logits
 * from the same forward pass, softmax over the classes the model was trained
 * on (the networks always have 10 outputs; a run on a subset uses the first k).
 */
import type { ExportedModel } from '../coordinator/export.js';
import { IMAGE_BYTES, type Dataset } from '../data/cifar-format.js';
import { normalizeBatch } from '../data/normalize.js';
import { TrainerError } from '../shared/errors.js';
import { MicroBatchComputer } from '../worker/gradient.js';
import { getModel, NUM_OUTPUTS } from '../worker/model.js';
import { largestWebGpuTask } from '../worker/webgpu-errors.js';

export interface ClassScore {
  label: number;
  className: string;
  probability: number;
}

/** Softmax (in float64) of logits[0..k), sorted by probability, highest first; ties by label. */
export function rankClasses(logits: ArrayLike<number>, classNames: readonly string[]): ClassScore[] {
  const k = classNames.length;
  let max = -Infinity;
  for (let i = 0; i < k; i++) max = Math.max(max, logits[i] as number);
  const exps = classNames.map((_, i) => Math.exp((logits[i] as number) - max));
  const total = exps.reduce((a, b) => a + b, 0);
  return classNames
    .map((className, label) => ({ label, className, probability: (exps[label] as number) / total }))
    .sort((a, b) => b.probability - a.probability || a.label - b.label);
}

/**
 * Images a forward pass takes at once: any number of files fits, since the wasm backend's 4 GiB
 * memory does not (30,000 images in one pass were "memory access out of bounds"). An image's
 * logits do not depend on the others in its pass.
 */
export const PREDICT_CHUNK = 1024;

/** Ranked classes for each record (3,072 bytes each, CIFAR layout), `chunk` images a pass. */
export async function classifyRecords(exported: ExportedModel, records: readonly Uint8Array[], chunk = PREDICT_CHUNK): Promise<ClassScore[][]> {
  const model = getModel(exported.modelName as Parameters<typeof getModel>[0]);
  if (exported.params.length !== model.size) throw new TrainerError('E_MODEL', `weights do not fit model ${model.name}`);
  const { classNames, normalization } = exported.meta;
  if (records.length === 0) return [];
  // On webgpu, no more images a pass than the adapter's buffer bindings hold (no key to name: the logits are the same).
  const largest = largestWebGpuTask(model);
  if (largest < 1) throw new TrainerError('E_BACKEND', `webgpu: model ${model.name} does not fit this adapter's storage buffer bindings`);
  const size = Math.min(chunk, records.length, largest);
  const computer = new MicroBatchComputer(model, normalization, size);
  const data: Dataset = { images: new Uint8Array(size * IMAGE_BYTES), labels: new Uint8Array(size), count: size };
  const input = new Float32Array(size * IMAGE_BYTES);
  const ranked: ClassScore[][] = [];
  for (let start = 0; start < records.length; start += size) {
    const part = records.slice(start, start + size);
    const n = part.length;
    part.forEach((r, i) => data.images.set(r, i * IMAGE_BYTES));
    normalizeBatch(data, Int32Array.from({ length: n }, (_, i) => i), normalization, input);
    const logits = await computer.logits(exported.params, input, n);
    for (let i = 0; i < n; i++) ranked.push(rankClasses(logits.subarray(i * NUM_OUTPUTS, (i + 1) * NUM_OUTPUTS), classNames));
  }
  return ranked;
}
