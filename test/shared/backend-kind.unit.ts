import assert from 'node:assert/strict';
import test from 'node:test';
import { currentKind, webGpuKind } from '../../src/shared/backend-kind.js';

test("a WebGPU adapter's kind has no dash at either end nor two together: lavapipe's was webgpu llvmpipe-llvm-15-0-6-256-bits-", () => {
  // Dawn's device name for lavapipe (measured), and the name it comes from.
  assert.equal(webGpuKind('llvmpipe-llvm-15-0-6-256-bits-'), 'webgpu llvmpipe-llvm-15-0-6-256-bits');
  assert.equal(webGpuKind('llvmpipe (LLVM 15.0.6, 256 bits)'), 'webgpu llvmpipe-llvm-15-0-6-256-bits');
  assert.equal(webGpuKind('AMD Radeon Pro W7900 (RADV NAVI31)'), 'webgpu amd-radeon-pro-w7900-radv-navi31');
  assert.equal(webGpuKind('-(x)--y-'), 'webgpu x-y');
  assert.equal(webGpuKind('nvidia-h200'), 'webgpu nvidia-h200');
});

test("an older checkpoint's kinds read as this build writes them; kinds of other backends as they are", () => {
  assert.equal(currentKind('webgpu llvmpipe-llvm-15-0-6-256-bits-'), 'webgpu llvmpipe-llvm-15-0-6-256-bits');
  assert.equal(currentKind('webgpu nvidia-h200'), 'webgpu nvidia-h200');
  for (const kind of ['wasm', 'wasm no-fma', 'wasm stock-kernels', 'tensorflow', 'tensorflow-gpu', 'cpu']) assert.equal(currentKind(kind), kind);
});
