// One micro-batch's gradient on webgpu: the same bits every time (no atomics on the path), and
// close to the cpu backend's. Each backend runs in a child process: a process has one tfjs backend.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as tf from '../../src/worker/tf.js';
import { ARTICLE_NORMALIZATION } from '../../src/data/normalize.js';
import { generateSynthetic } from '../../src/data/synthetic.js';
import { selectBackend } from '../../src/worker/backend.js';
import { MicroBatchComputer } from '../../src/worker/gradient.js';
import { getModel, initParams } from '../../src/worker/model.js';
import { webgpuSkip } from './fixtures.js';

const N = 16;

/** Child mode: prints the gradient, loss and correct count of examples 0..N-1, twice, and any atomic program run. */
async function child(backend: 'webgpu' | 'cpu'): Promise<void> {
  await selectBackend(backend, null);
  const model = getModel('net');
  const c = new MicroBatchComputer(model, ARTICLE_NORMALIZATION, N);
  const data = generateSynthetic(64, 7);
  const idx = Int32Array.from({ length: N }, (_, i) => i);
  const atomics: string[] = [];
  if (backend === 'webgpu') {
    const be = tf.backend() as unknown as { runWebGPUProgram: (p: { atomic?: boolean; shaderKey: string }, ...r: unknown[]) => unknown };
    const run = be.runWebGPUProgram.bind(be);
    be.runWebGPUProgram = (p, ...r) => {
      if (p.atomic) atomics.push(p.shaderKey);
      return run(p, ...r);
    };
  }
  const runs: string[] = [];
  for (let r = 0; r < 2; r++) {
    const out = new Float32Array(model.size + 2);
    const s = await c.gradientAsync(initParams(model, 1), data, idx, out.subarray(0, model.size));
    out[model.size] = s.lossSum;
    out[model.size + 1] = s.correct;
    runs.push(Buffer.from(out.buffer).toString('base64'));
  }
  process.stdout.write(`${JSON.stringify({ runs, atomics, tfBackend: tf.getBackend() })}\n`);
}

function run(backend: string) {
  const text = execFileSync(process.execPath, [fileURLToPath(import.meta.url), 'child', backend], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const r = JSON.parse(text.trim().split('\n').pop() as string) as { runs: string[]; atomics: string[]; tfBackend: string };
  return { ...r, runs: r.runs.map((b) => new Float32Array(new Uint8Array(Buffer.from(b, 'base64')).buffer)) };
}

if (process.argv[2] === 'child') {
  await child(process.argv[3] as 'webgpu' | 'cpu');
} else {
  test('webgpu: a micro-batch gradient is the same bits twice, with no atomic program, and within 1e-4 of its scale of cpu', { skip: (await webgpuSkip()) ?? false }, () => {
    const model = getModel('net');
    const gpu = run('webgpu');
    const cpu = run('cpu');
    assert.equal(gpu.tfBackend, 'webgpu');
    assert.deepEqual(gpu.atomics, [], 'no WebGPU program with atomics on the model path');
    const [g0, g1, c] = [gpu.runs[0] as Float32Array, gpu.runs[1] as Float32Array, cpu.runs[0] as Float32Array];
    assert.deepEqual(Buffer.from(g0.buffer), Buffer.from(g1.buffer), 'the same bits twice');
    // Per parameter tensor, against that tensor's largest gradient: measured at most 1.0e-5 (conv1.weight).
    for (const p of model.params) {
      let scale = 0;
      let diff = 0;
      for (let i = p.offset; i < p.offset + p.size; i++) {
        scale = Math.max(scale, Math.abs(c[i] as number));
        diff = Math.max(diff, Math.abs((g0[i] as number) - (c[i] as number)));
      }
      assert.ok(diff <= 1e-4 * scale, `${p.name}: max |webgpu - cpu| ${diff} against max |g| ${scale}`);
    }
    const loss = [g0[model.size] as number, c[model.size] as number];
    assert.ok(Math.abs(loss[0]! - loss[1]!) <= 1e-5 * Math.abs(loss[1]!), `loss ${loss}`);
    assert.equal(g0[model.size + 1], c[model.size + 1], 'correct count');
  });
}
