// Which adapter name `--gpu N` asks Dawn for, from the names Dawn lists (no GPU needed).
import assert from 'node:assert/strict';
import test from 'node:test';
import { adapterDescription, chooseHardwareAdapter, isCompleteWebGpuError, normaliseDeviceName } from '../../src/worker/webgpu.js';

test('--gpu N is the N-th hardware adapter; software adapters do not count', () => {
  const names = ['llvmpipe (LLVM 15.0.6, 256 bits)', 'NVIDIA H200', 'AMD Radeon Pro W7900'];
  assert.equal(chooseHardwareAdapter(names, 0), 'NVIDIA H200');
  assert.equal(chooseHardwareAdapter(names, 1), 'AMD Radeon Pro W7900');
  assert.throws(() => chooseHardwareAdapter(names, 2), /Dawn sees 2 hardware adapter\(s\)/);
  // With only a software adapter: the GPU's driver is what is missing, and the software adapter works without --gpu.
  assert.throws(
    () => chooseHardwareAdapter(['llvmpipe (LLVM 15.0.6, 256 bits)'], 0),
    (e: unknown) => isCompleteWebGpuError(e) && /0 hardware adapter.*no GPU's Vulkan driver is installed or visible.*without --gpu, --backend webgpu runs on the software adapter "llvmpipe/.test((e as Error).message),
  );
  assert.throws(() => chooseHardwareAdapter(names, 2), (e: unknown) => isCompleteWebGpuError(e) && /--gpu counts hardware adapters from 0/.test((e as Error).message));
  assert.throws(() => chooseHardwareAdapter([], 0), (e: unknown) => !isCompleteWebGpuError(e) && /adapters: none/.test((e as Error).message));
});

test('identical GPUs cannot be told apart by name: the first works, the others say how to isolate GPUs', () => {
  const names = ['NVIDIA H200', 'NVIDIA H200'];
  assert.equal(chooseHardwareAdapter(names, 0), 'NVIDIA H200');
  assert.throws(() => chooseHardwareAdapter(names, 1), /cannot be told apart.*NVIDIA_VISIBLE_DEVICES/);
  // A name that an earlier adapter's name contains would select that earlier one.
  assert.throws(() => chooseHardwareAdapter(['NVIDIA H200 NVL', 'NVIDIA H200'], 1), /cannot be told apart/);
});

test("Dawn's device name normalisation, to check the adapter it gave", () => {
  assert.equal(normaliseDeviceName('llvmpipe (LLVM 15.0.6, 256 bits)'), 'llvmpipe-llvm-15-0-6-256-bits-');
  assert.equal(normaliseDeviceName('NVIDIA H200'), 'nvidia-h200');
});

test("an adapter is shown by its name and Dawn's description, which names only the driver", () => {
  // As Dawn described an H200 (driver 580.159.04) and Debian's lavapipe.
  assert.equal(adapterDescription('NVIDIA H200', 'NVIDIA: 580.159.04 580.159.4.0'), 'NVIDIA H200: 580.159.04 580.159.4.0');
  assert.equal(
    adapterDescription('llvmpipe (LLVM 15.0.6, 256 bits)', 'llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1'),
    'llvmpipe (LLVM 15.0.6, 256 bits): Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1',
  );
  assert.equal(adapterDescription('AMD Radeon Pro W7900', 'radv: Mesa 23.0.1'), 'AMD Radeon Pro W7900 (radv: Mesa 23.0.1)');
  assert.equal(adapterDescription('NVIDIA H200', 'NVIDIA H200 driver'), 'NVIDIA H200 driver');
  assert.equal(adapterDescription(undefined, 'NVIDIA: 580.159.04'), 'NVIDIA: 580.159.04');
  assert.equal(adapterDescription('NVIDIA H200', ''), 'NVIDIA H200');
});
