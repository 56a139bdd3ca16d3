// `--gpu 0` where Dawn's only adapter is a software one: one clear line naming what each GPU
// backend lacks, exit non-zero, and never a run on the CPU.
import assert from 'node:assert/strict';
import test from 'node:test';
import { smallConfigFile, trainer } from '../cli/cli-helpers.js';
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
  assert.match(line, /Vulkan driver/);
  assert.doesNotMatch(asWebgpu.stderr, /Epoch 1/, 'nothing trained');

  const asAuto = trainer(['train', '--config', config, '--run.name', 'auto', '--backend', 'auto', '--gpu', '0'], dir);
  assert.notEqual(asAuto.code, 0);
  const autoLine = asAuto.stderr.split('\n').find((l) => l.startsWith('error E_BACKEND')) ?? '';
  assert.match(autoLine, /--gpu 0: no GPU backend is usable\. tensorflow-gpu: .*CUDA 11\.2 and cuDNN 8\.1.* \| webgpu: --gpu 0: Dawn sees 0 hardware adapter/);
  assert.doesNotMatch(asAuto.stderr, /Epoch 1/);
});
