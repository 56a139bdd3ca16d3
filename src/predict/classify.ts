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

/** Ranked classes for each record (3,072 bytes each, CIFAR layout). */
export async function classifyRecords(exported: ExportedModel, records: readonly Uint8Array[]): Promise<ClassScore[][]> {
  const model = getModel(exported.modelName as Parameters<typeof getModel>[0]);
  if (exported.params.length !== model.size) throw new TrainerError('E_MODEL', `weights do not fit model ${model.name}`);
  const { classNames, normalization } = exported.meta;
  if (classNames.length < 1 || classNames.length > NUM_OUTPUTS) {
    throw new TrainerError('E_MODEL', `model metadata names ${classNames.length} classes; expected 1 to ${NUM_OUTPUTS}`);
  }
  const n = records.length;
  if (n === 0) return [];
  const data: Dataset = { images: new Uint8Array(n * IMAGE_BYTES), labels: new Uint8Array(n), count: n };
  records.forEach((r, i) => data.images.set(r, i * IMAGE_BYTES));
  const input = new Float32Array(n * IMAGE_BYTES);
  normalizeBatch(data, Int32Array.from({ length: n }, (_, i) => i), normalization, input);
  const logits = await new MicroBatchComputer(model, normalization, n).logits(exported.params, input, n);
  return records.map((_, i) => rankClasses(logits.subarray(i * NUM_OUTPUTS, (i + 1) * NUM_OUTPUTS), classNames));
}
