/**
 * Export to the TensorFlow.js layers-model format (model.json + weights.bin),
 * loadable with tf.loadLayersModel. The layers model takes NHWC images
 * normalised as in training and outputs logits; model.json's userDefinedMetadata
 * carries the normalisation and class names needed to use it.
 *
 * The layers' weights, in order, are exactly the flat parameter layout, so
 * weights.bin is byte for byte the trained parameter vector.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '../worker/tf.js';
import { bytesOf, fsFaultText, writeFileAtomic } from '../shared/atomic-file.js';
import type { Normalization } from '../data/normalize.js';
import { quote } from '../shared/config-values.js';
import { TrainerError } from '../shared/errors.js';
import { NUM_OUTPUTS, type ModelSpec } from '../worker/model.js';

export interface ExportMetadata {
  normalization: Normalization;
  classNames: string[];
}

/** Writes model.json and weights.bin into `dir`; returns the sha256 of weights.bin as read back. */
export async function exportLayersModel(dir: string, model: ModelSpec, params: Float32Array, meta: ExportMetadata): Promise<string> {
  const layers = model.buildLayers();
  try {
    const ws = layers.weights;
    if (ws.length !== model.params.length) throw new TrainerError('E_INTERNAL', `layers model ${model.name} does not match its layout`);
    let artifacts: tf.ModelArtifacts | undefined;
    await layers.save(
      tf.io.withSaveHandler(async (a) => {
        artifacts = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    if (!artifacts?.modelTopology || !artifacts.weightSpecs) throw new TrainerError('E_INTERNAL', 'layers model did not serialise');
    const specs = artifacts.weightSpecs;
    model.params.forEach((p, i) => {
      const spec = specs[i];
      if (!spec || spec.shape.reduce((a, b) => a * b, 1) !== p.size) {
        throw new TrainerError('E_INTERNAL', `layers weight ${i} does not match parameter ${p.name}`);
      }
    });
    const json = {
      format: 'layers-model',
      generatedBy: `TensorFlow.js tfjs-layers v${tf.tfLayers().version_layers}`,
      convertedBy: null,
      modelTopology: artifacts.modelTopology,
      weightsManifest: [{ paths: ['weights.bin'], weights: specs }],
      userDefinedMetadata: { trainer: { model: model.name, ...meta } },
    };
    await writeFileAtomic(join(dir, 'weights.bin'), bytesOf(params));
    await writeFileAtomic(join(dir, 'model.json'), Buffer.from(JSON.stringify(json)));
    return createHash('sha256').update(await readFile(join(dir, 'weights.bin'))).digest('hex');
  } finally {
    layers.dispose();
  }
}

/**
 * The float32 bytes a layers model's weightsManifest describes; null when it is not a list of
 * groups of weights with shapes of sizes (a damaged one was E_INTERNAL, "flatMap is not a function").
 */
function describedBytes(manifest: unknown): number | null {
  if (!Array.isArray(manifest)) return null;
  let bytes = 0;
  for (const group of manifest as unknown[]) {
    const weights = (group as { weights?: unknown } | null)?.weights;
    if (!Array.isArray(weights)) return null;
    for (const w of weights as unknown[]) {
      const shape = (w as { shape?: unknown } | null)?.shape;
      if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) return null;
      bytes += 4 * (shape as number[]).reduce((a, b) => a * b, 1);
    }
  }
  return bytes;
}

export interface ExportedModel {
  modelName: string;
  params: Float32Array;
  meta: ExportMetadata;
}

/** Reads an exported model back as a flat parameter vector and its metadata. */
export async function readExportedModel(dir: string): Promise<ExportedModel> {
  let json: {
    userDefinedMetadata?: { trainer?: { model: string } & ExportMetadata };
    weightsManifest?: unknown;
  } | null;
  let bin: Buffer;
  let file = join(dir, 'model.json');
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
    file = join(dir, 'weights.bin');
    bin = await readFile(file);
  } catch (err) {
    // Node's "ENOENT: no such file or directory, open '…'" said in words, naming the file.
    if (err instanceof SyntaxError) throw new TrainerError('E_MODEL', `${file} is not valid JSON: damaged, or not written by trainer`);
    throw new TrainerError('E_MODEL', `cannot read ${file}: ${fsFaultText(err)}`);
  }
  const meta = json?.userDefinedMetadata?.trainer;
  if (typeof meta !== 'object' || meta === null) throw new TrainerError('E_MODEL', `${dir}/model.json was not written by trainer`);
  // The bytes model.json describes (float32 weights): a shorter or longer weights.bin is damaged.
  const described = describedBytes(json?.weightsManifest);
  if (described === null) {
    throw new TrainerError('E_MODEL', `${dir}/model.json: weightsManifest must be a list of {weights: [{shape: [sizes]}]}, got ${quote(json?.weightsManifest)}: damaged, or not written by trainer`);
  }
  if (bin.length % 4 !== 0 || bin.length !== described) {
    throw new TrainerError('E_MODEL', `${dir}/weights.bin has ${bin.length} bytes where model.json describes ${described}: damaged, or not this model's`);
  }
  const params = new Float32Array(bin.length / 4);
  bytesOf(params).set(bin);
  // A run never exports them (a non-finite step is E_DIVERGED): predict printed "NaN %" and eval an accuracy.
  const bad = params.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) throw new TrainerError('E_MODEL', `${dir}/weights.bin holds a non-finite weight (${params[bad]} at parameter ${bad}): damaged`);
  const where = `${dir}/model.json: userDefinedMetadata.trainer`;
  const { classNames, normalization } = meta as { classNames?: unknown; normalization?: unknown };
  if (!Array.isArray(classNames) || classNames.length < 1 || classNames.length > NUM_OUTPUTS || !classNames.every((c) => typeof c === 'string')) {
    throw new TrainerError('E_MODEL', `${where}.classNames must be a list of 1 to ${NUM_OUTPUTS} class names, got ${quote(classNames)}: damaged, or not written by trainer`);
  }
  const three = (v: unknown, ok: (x: number) => boolean) => Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number' && ok(x));
  const n = normalization as { mean?: unknown; std?: unknown } | null;
  if (typeof n !== 'object' || n === null || !three(n.mean, Number.isFinite) || !three(n.std, (x) => Number.isFinite(x) && x > 0)) {
    throw new TrainerError('E_MODEL', `${where}.normalization must be {mean: [r, g, b], std: [r, g, b]} (std positive), got ${quote(normalization)}: damaged, or not written by trainer`);
  }
  return { modelName: meta.model, params, meta: { normalization: normalization as Normalization, classNames } };
}
