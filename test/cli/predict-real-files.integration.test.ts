import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import * as tf from '../../src/worker/tf.js';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { loadRunData } from '../../src/coordinator/run.js';
import { selectBackend } from '../../src/worker/backend.js';
import { validateConfig } from '../../src/shared/config-validate.js';
import { IMAGE_BYTES, PLANE_BYTES } from '../../src/data/cifar-format.js';
import { normalizeBatch, type Normalization } from '../../src/data/normalize.js';
import { tempDir } from '../helpers.js';
import { trainer } from './cli-helpers.js';

/** RGBA pixels of record i, each source pixel repeated sx × sy times. */
function rgba(images: Uint8Array, i: number, sx: number, sy: number): { width: number; height: number; data: Buffer } {
  const width = 32 * sx;
  const height = 32 * sy;
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = Math.floor(y / sy) * 32 + Math.floor(x / sx);
      const o = (y * width + x) * 4;
      for (let c = 0; c < 3; c++) data[o + c] = images[i * IMAGE_BYTES + c * PLANE_BYTES + p] as number;
      data[o + 3] = 255;
    }
  }
  return { width, height, data };
}

test('predict names the class the trained model gives the raw image, for PNG and JPEG files at 32×32 and larger', async () => {
  const dir = await tempDir();
  await writeFile(
    join(dir, 'c.yaml'),
    [
      'run: {name: p, dir: runs, seed: 3}',
      'data: {source: synthetic, path: data, classes: [airplane, automobile, ship], synthetic: {trainSize: 3000, valSize: 120, seed: 1}}',
      'train: {epochs: 8, batchSize: 32, microBatches: 2, lr: 0.05, momentum: 0.9}',
      'backend: wasm',
    ].join('\n'),
  );
  const t = trainer(['train', '--config', 'c.yaml', '--quiet'], dir);
  assert.equal(t.code, 0, t.stderr);
  const runDir = join(dir, 'runs', 'p');

  // The reference: the exported layers model itself, on the raw record, normalised as in training.
  await selectBackend('cpu', null);
  const json = JSON.parse(await readFile(join(runDir, 'model', 'model.json'), 'utf8'));
  const bin = await readFile(join(runDir, 'model', 'weights.bin'));
  const layers = await tf.tfjsBundle().loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest[0].weights,
      weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
    }),
  );
  const meta = json.userDefinedMetadata.trainer as { normalization: Normalization; classNames: string[] };
  assert.deepEqual(meta.classNames, ['airplane', 'automobile', 'ship']);
  const config = validateConfig(JSON.parse(await readFile(join(runDir, 'config.json'), 'utf8')));
  const val = (await loadRunData({ ...config, data: { ...config.data, path: join(dir, 'data') } })).val;
  const input = new Float32Array(val.count * IMAGE_BYTES);
  normalizeBatch(val, Int32Array.from({ length: val.count }, (_, i) => i), meta.normalization, input);
  const logits = tf.tidy(() => (layers.predict(tf.tensor4d(input, [val.count, 32, 32, 3])) as tf.Tensor).arraySync() as number[][]);
  const probs = logits.map((l) => {
    const e = l.slice(0, 3).map((v) => Math.exp(v - Math.max(...l.slice(0, 3))));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  });
  // A clear automobile (label 1), for the article's moment, and the clearest image of another class.
  const margin = (i: number) => {
    const sorted = [...probs[i]!].sort((a, b) => b - a);
    return sorted[0]! - sorted[1]!;
  };
  const best = (pred: (label: number) => boolean) =>
    [...Array(val.count).keys()].filter((i) => pred(probs[i]!.indexOf(Math.max(...probs[i]!)))).sort((a, b) => margin(b) - margin(a))[0];
  const car = best((l) => l === 1);
  const other = best((l) => l !== 1);
  assert.ok(car !== undefined && other !== undefined, 'the model predicts automobile for some images and another class for others');
  assert.ok(margin(car) > 0.2, 'the trained model is sure of some automobile');
  const picks = [car, other];

  const files: { file: string; index: number; exact: boolean }[] = [];
  for (const i of picks) {
    for (const [sx, sy] of [[1, 1], [3, 2]] as const) {
      const img = rgba(val.images, i, sx, sy);
      const png = join(dir, `img${i}-${img.width}x${img.height}.png`);
      await writeFile(png, PNG.sync.write(Object.assign(new PNG({ width: img.width, height: img.height }), { data: img.data })));
      files.push({ file: png, index: i, exact: true });
      const jpg = join(dir, `img${i}-${img.width}x${img.height}.jpg`);
      await writeFile(jpg, jpeg.encode(img, 95).data);
      files.push({ file: jpg, index: i, exact: false });
    }
  }
  const r = trainer(['predict', '--run', runDir, '--backend', 'cpu', '--json', ...files.map((f) => f.file)]);
  assert.equal(r.code, 0, r.stderr);
  const out = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { file: string; label: number; class: string; top: { label: number; probability: number }[] });
  assert.equal(out.length, files.length);
  files.forEach((f, k) => {
    const o = out[k]!;
    const want = probs[f.index]!;
    const label = want.indexOf(Math.max(...want));
    assert.equal(o.file, f.file);
    assert.equal(o.label, label, f.file);
    assert.equal(o.class, meta.classNames[label]);
    assert.equal(o.top.length, 3);
    const tol = f.exact ? 1e-5 : 0.15; // PNG is lossless and the resize exact; JPEG is lossy
    for (const s of o.top) assert.ok(Math.abs(s.probability - want[s.label]!) < tol, `${f.file}: p(${s.label}) ${s.probability} vs ${want[s.label]}`);
  });

  const text = trainer(['predict', '--run', runDir, '--backend', 'cpu', files[0]!.file]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^\S+img\d+-32x32\.png: Label: 1 – Class: automobile\n {3}1 automobile +\d+\.\d %\n/);
  assert.equal(text.stdout.split('\n').length, 5, 'the headline and the top 3 classes');
  layers.dispose();
});
