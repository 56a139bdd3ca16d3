import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import * as tf from '../../src/worker/tf.js';
import { readExportedModel } from '../../src/coordinator/export.js';
import { loadRunData, runTraining } from '../../src/coordinator/run.js';
import { resolveNormalization } from '../../src/data/normalize.js';
import { IMAGE_BYTES } from '../../src/data/cifar-format.js';
import { normalizeBatch } from '../../src/data/normalize.js';
import { MicroBatchComputer } from '../../src/worker/gradient.js';
import { getModel } from '../../src/worker/model.js';
import { createInProcessPool } from '../../src/transports/in-process.js';
import { quietLog, smallConfig, tempDir } from '../helpers.js';

/** tf.loadLayersModel over plain files, as a user without tfjs-node would load it. */
function fileHandler(dir: string): tf.IOHandler {
  return {
    async load() {
      const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
      const bin = await readFile(join(dir, 'weights.bin'));
      return {
        modelTopology: json.modelTopology,
        weightSpecs: json.weightsManifest[0].weights,
        weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
        format: json.format,
        userDefinedMetadata: json.userDefinedMetadata,
      };
    },
  };
}

for (const modelName of ['net', 'fc'] as const) {
  test(`the exported ${modelName} loads with tf.loadLayersModel and predicts what the trainer computes`, async () => {
    const dir = await tempDir();
    const config = smallConfig(dir, { model: { name: modelName }, data: { synthetic: { trainSize: 128, valSize: 40 } }, train: { epochs: 1, lr: 0.01 } });
    const r = await runTraining({ config, resume: false, createPool: createInProcessPool, log: quietLog });
    const modelDir = join(r.runDir, 'model');
    const json = JSON.parse(await readFile(join(modelDir, 'model.json'), 'utf8'));
    assert.equal(json.format, 'layers-model');
    assert.deepEqual(json.userDefinedMetadata.trainer.classNames.length, 10);

    const layers = await tf.tfjsBundle().loadLayersModel(fileHandler(modelDir));
    const data = await loadRunData(config);
    const norm = resolveNormalization(config.data.normalize, data.train);
    const n = 16;
    const x = new Float32Array(n * IMAGE_BYTES);
    normalizeBatch(data.val, Int32Array.from({ length: n }, (_, i) => i), norm, x);
    const fromLayers = tf.tidy(() => (layers.predict(tf.tensor4d(x, [n, 32, 32, 3])) as tf.Tensor).dataSync() as Float32Array);
    const exported = await readExportedModel(modelDir);
    const fromTrainer = await new MicroBatchComputer(getModel(modelName), exported.meta.normalization, n).logits(exported.params, x, n);
    assert.equal(fromLayers.length, n * 10);
    for (let i = 0; i < fromLayers.length; i++) {
      assert.ok(Math.abs((fromLayers[i] as number) - (fromTrainer[i] as number)) < 1e-4, `logit ${i}`);
    }
    // Same arg-max class for every image.
    for (let i = 0; i < n; i++) {
      const row = (a: Float32Array) => Array.from(a.subarray(i * 10, i * 10 + 10));
      const argmax = (v: number[]) => v.indexOf(Math.max(...v));
      assert.equal(argmax(row(fromLayers)), argmax(row(fromTrainer)));
    }
    layers.dispose();
  });
}
