// What refuses oversize tasks on webgpu up front (ModelSpec.bytesPerExample, webgpu-errors.ts)
// bounds what tfjs-backend-webgpu really binds: every storage buffer binding of a gradient, an
// evaluation and a prediction, watched at Dawn's createBindGroup, for both models.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ARTICLE_NORMALIZATION } from '../../src/data/normalize.js';
import { generateSynthetic } from '../../src/data/synthetic.js';
import { selectBackend } from '../../src/worker/backend.js';
import { MicroBatchComputer } from '../../src/worker/gradient.js';
import { getModel, initParams } from '../../src/worker/model.js';
import { taskBindingBytes } from '../../src/worker/webgpu-errors.js';
import { webgpuSkip } from './fixtures.js';

// A small task (where tfjs may choose other programs) and the shipped configs' micro-batch (batch
// 64 in 4). On lavapipe each new shape compiles its shaders again, most of this test's time on a
// fresh machine: with Mesa's shader cache filled by the other webgpu tests (which use these
// shapes), the child took 3 s of CPU for 4, 2 s for 16 and 15 s for 8, which it used to run.
const SIZES = [4, 16];

interface Row {
  model: string;
  n: number;
  task: string;
  bound: number;
  seen: number;
}

/** Child mode: the largest binding of each task, and the bound, as JSON rows. */
async function child(): Promise<void> {
  await selectBackend('webgpu', null);
  let seen = 0;
  const proto = (globalThis as unknown as { GPUDevice: { prototype: { createBindGroup(d: { entries: { resource: { buffer?: { size: number }; offset?: number; size?: number } }[] }): unknown } } }).GPUDevice.prototype;
  const create = proto.createBindGroup;
  proto.createBindGroup = function (this: unknown, d) {
    for (const { resource: r } of d.entries) if (r.buffer) seen = Math.max(seen, r.size ?? r.buffer.size - (r.offset ?? 0));
    return create.call(this, d);
  };
  const data = generateSynthetic(16, 3);
  const rows: Row[] = [];
  for (const name of ['net', 'fc'] as const) {
    const model = getModel(name);
    const c = new MicroBatchComputer(model, ARTICLE_NORMALIZATION, 16);
    const w = initParams(model, 0);
    for (const n of SIZES) {
      const idx = Int32Array.from({ length: n }, (_, i) => i);
      const tasks: [string, () => Promise<unknown>][] = [
        ['gradient', () => c.gradientAsync(w, data, idx, new Float32Array(model.size))],
        ['evaluation', () => c.evaluateAsync(w, data, idx)],
        ['prediction', () => c.logits(w, new Float32Array(n * 3072), n)],
      ];
      for (const [task, run] of tasks) {
        seen = 0;
        await run();
        rows.push({ model: name, n, task, bound: taskBindingBytes(model, n), seen });
      }
    }
  }
  process.stdout.write(`${JSON.stringify(rows)}\n`);
}

if (process.argv[2] === 'child') {
  await child();
} else {
  test('webgpu: no task binds more than its model\'s declared bytes per example allow, and net reaches them', { skip: (await webgpuSkip()) ?? false }, () => {
    const text = execFileSync(process.execPath, [fileURLToPath(import.meta.url), 'child'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const rows = JSON.parse(text.trim().split('\n').pop() as string) as Row[];
    assert.equal(rows.length, 2 * SIZES.length * 3);
    for (const r of rows) assert.ok(r.seen > 0 && r.seen <= r.bound, `${r.model} ${r.task} of ${r.n}: bound ${r.bound} bytes, saw a binding of ${r.seen}`);
    // Tight where it matters: net's conv1 output is its largest binding.
    for (const r of rows.filter((x) => x.model === 'net')) assert.equal(r.seen, r.bound, `net ${r.task} of ${r.n}`);
  });
}
