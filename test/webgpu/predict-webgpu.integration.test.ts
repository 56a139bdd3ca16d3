// `trainer predict --backend webgpu` names the same classes, with the same probabilities to
// float tolerance, as on wasm.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { PNG } from 'pngjs';
import { IMAGE_BYTES, PLANE_BYTES } from '../../src/data/cifar-format.js';
import { generateSynthetic } from '../../src/data/synthetic.js';
import { smallConfigFile, trainer } from '../cli/cli-helpers.js';
import { tempDir } from '../helpers.js';
import { webgpuSkip } from './fixtures.js';

test('predict on webgpu gives the classes and probabilities it gives on wasm', { skip: (await webgpuSkip()) ?? false }, async () => {
  const dir = await tempDir();
  const config = await smallConfigFile(dir, 'p', 2);
  const t = trainer(['train', '--config', config, '--quiet'], dir);
  assert.equal(t.code, 0, t.stderr);
  const images = generateSynthetic(6, 11);
  const files: string[] = [];
  for (let i = 0; i < images.count; i++) {
    const png = new PNG({ width: 32, height: 32 });
    for (let p = 0; p < PLANE_BYTES; p++) {
      for (let c = 0; c < 3; c++) png.data[p * 4 + c] = images.images[i * IMAGE_BYTES + c * PLANE_BYTES + p] as number;
      png.data[p * 4 + 3] = 255;
    }
    const file = join(dir, `img${i}.png`);
    await writeFile(file, PNG.sync.write(png));
    files.push(file);
  }
  const predict = (backend: string) => {
    const r = trainer(['predict', '--run', join(dir, 'runs', 'p'), '--backend', backend, '--json', '--top', '10', ...files]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { label: number; top: { label: number; probability: number }[] });
  };
  const wasm = predict('wasm');
  const gpu = predict('webgpu');
  assert.equal(gpu.length, files.length);
  gpu.forEach((g, i) => {
    const w = wasm[i]!;
    assert.equal(g.label, w.label, `image ${i}: class`);
    for (const s of g.top) {
      const p = w.top.find((x) => x.label === s.label)?.probability ?? NaN;
      assert.ok(Math.abs(s.probability - p) < 1e-4, `image ${i}, class ${s.label}: ${s.probability} vs ${p}`);
    }
  });
});
