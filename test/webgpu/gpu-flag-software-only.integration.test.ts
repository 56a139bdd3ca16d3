// `--gpu 0` where Dawn's only adapter is a software one: one clear line naming what each GPU
// backend lacks, exit non-zero, and never a run on the CPU.
import assert from 'node:assert/strict';
import test from 'node:test';
import { spawnSync } from 'node:child_process';
import { CLI, smallConfigFile, trainer } from '../cli/cli-helpers.js';
import { tempDir } from '../helpers.js';
import { webgpuAdapters, webgpuSkip } from './fixtures.js';

const skip = (await webgpuSkip()) ?? ((await webgpuAdapters()).some((n) => !/llvmpipe|lavapipe|swiftshader/i.test(n)) ? 'this machine has a hardware adapter' : false);

test('--gpu 0 with only a software WebGPU adapter fails with one line per cause, for webgpu and for auto', { skip }, async () => {
  const dir = await tempDir();
  const config = await smallConfigFile(dir);
  const asWebgpu = trainer(['train', '--config', config, '--backend', 'webgpu', '--gpu', '0'], dir);
  assert.notEqual(asWebgpu.code, 0);
  const line = asWebgpu.stderr.split('\n').find((l) => l.startsWith('error E_BACKEND')) ?? '';
  assert.match(line, /webgpu: --gpu 0: Dawn sees 0 hardware adapter\(s\) \(adapters: "llvmpipe/);
  assert.match(line, /no GPU's Vulkan driver is installed or visible here/);
  // The packages and a driver are there: not "needs the npm packages ...", but how to use what is.
  assert.doesNotMatch(line, /needs the npm packages/);
  assert.match(line, /without --gpu, --backend webgpu runs on the software adapter "llvmpipe/);
  assert.doesNotMatch(asWebgpu.stderr, /Epoch 1/, 'nothing trained');

  const asAuto = trainer(['train', '--config', config, '--run.name', 'auto', '--backend', 'auto', '--gpu', '0'], dir);
  assert.notEqual(asAuto.code, 0);
  const autoLine = asAuto.stderr.split('\n').find((l) => l.startsWith('error E_BACKEND')) ?? '';
  assert.match(autoLine, /--gpu 0: no GPU backend is usable\. tensorflow-gpu: .*CUDA 11\.2 and cuDNN 8\.1.* \| webgpu: --gpu 0: Dawn sees 0 hardware adapter/);
  assert.doesNotMatch(asAuto.stderr, /Epoch 1/);
});

test('TRAINER_WEBGPU_ADAPTER that matches nothing is named with the adapters there are (it was Dawn\'s "no suitable backends found")', { skip }, async () => {
  const dir = await tempDir();
  const r = spawnSync(process.execPath, [CLI, 'train', '--config', await smallConfigFile(dir), '--backend', 'webgpu'], { encoding: 'utf8', env: { ...process.env, TRAINER_WEBGPU_ADAPTER: 'no-such-gpu' }, timeout: 120_000 });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^error E_BACKEND: webgpu: TRAINER_WEBGPU_ADAPTER=no-such-gpu matches no adapter Dawn sees \(adapters: "llvmpipe/m);
});

test('--threads 4 on webgpu with --gpu 0 (no hardware adapter) fails with one E_BACKEND line every time: no thread is terminated inside Dawn (2 runs in 8 aborted, exit 134)', { skip }, async () => {
  const dir = await tempDir();
  const config = await smallConfigFile(dir);
  for (let i = 0; i < 8; i++) {
    const r = trainer(['train', '--config', config, '--threads', '4', '--backend', 'webgpu', '--gpu', '0', '--run.name', `t${i}`], dir);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^error E_BACKEND: /m);
    assert.doesNotMatch(r.stderr, /FATAL ERROR/);
  }
});
