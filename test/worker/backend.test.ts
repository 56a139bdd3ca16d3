import assert from 'node:assert/strict';
import test from 'node:test';
import { GPU_MICRO_BATCH, gpuMicroBatchNote, selectBackend, type BackendLoader } from '../../src/worker/backend.js';
import { isTrainerError } from '../../src/shared/errors.js';

/** A loader whose packages load or fail as told, recording what was tried. */
function fakeLoader(o: { native?: boolean; gpu?: boolean; usingGpu?: boolean; wasm?: boolean; webgpu?: 'hardware' | 'software' }) {
  const calls: string[] = [];
  const loader: BackendLoader = {
    async loadWebGpu(gpu) {
      calls.push(`load:webgpu:${gpu}`);
      if (!o.webgpu) throw new Error('Dawn found no Vulkan adapter');
      const software = o.webgpu === 'software';
      if (gpu !== null && software) throw new Error(`--gpu ${gpu}: Dawn sees 0 hardware adapter(s)`);
      return software
        ? { description: 'llvmpipe: Mesa 25.0.7', device: 'llvmpipe-llvm-15-0-6-256-bits-', vendor: 'mesa', software }
        : { description: 'NVIDIA H200', device: 'nvidia-h200', vendor: 'nvidia', software };
    },
    async loadNative(gpu) {
      calls.push(gpu ? 'load:gpu' : 'load:native');
      if (gpu ? !o.gpu : !o.native) throw new Error(gpu ? 'libcudart.so.11.0: cannot open shared object file' : 'libtensorflow.so.2 not found');
    },
    async loadWasm() {
      calls.push('load:wasm');
      if (!o.wasm) throw new Error('no wasm');
    },
    async setBackend(name) {
      calls.push(`set:${name}`);
      return true;
    },
    isUsingGpu: () => o.usingGpu ?? false,
  };
  return { loader, calls };
}

test('auto prefers tfjs-node when it loads', async () => {
  const { loader } = fakeLoader({ native: true, wasm: true });
  assert.equal((await selectBackend('auto', null, loader, {})).name, 'tensorflow');
});

test('auto falls back to wasm, then cpu', async () => {
  const a = fakeLoader({ wasm: true });
  assert.equal((await selectBackend('auto', null, a.loader, {})).name, 'wasm');
  assert.deepEqual(a.calls, ['load:native', 'load:wasm', 'set:wasm']);
  const b = fakeLoader({});
  assert.equal((await selectBackend('auto', null, b.loader, {})).name, 'cpu');
});

test('--gpu sets the CUDA environment before tfjs-node-gpu loads and checks the device', async () => {
  const env: NodeJS.ProcessEnv = {};
  const { loader } = fakeLoader({ gpu: true, usingGpu: true });
  const b = await selectBackend('auto', 1, loader, env);
  assert.equal(b.name, 'tensorflow-gpu');
  assert.equal(env.CUDA_VISIBLE_DEVICES, '1');
  assert.equal(env.TF_FORCE_GPU_ALLOW_GROWTH, 'true');
});

test('a GPU that no GPU backend can use is one error naming what each lacks (CUDA 11.2 and cuDNN 8.1; a Vulkan driver), never a CPU fallback', async () => {
  const { loader, calls } = fakeLoader({ gpu: false, native: true, wasm: true });
  await assert.rejects(selectBackend('auto', 0, loader, {}), (e) => {
    assert.ok(isTrainerError(e, 'E_BACKEND'));
    assert.doesNotMatch(e.message, /\n/);
    assert.match(e.message, /tensorflow-gpu: .*libcudart/);
    assert.match(e.message, /CUDA 11\.2 and cuDNN 8\.1/);
    assert.match(e.message, /webgpu: Dawn found no Vulkan adapter.*npm packages webgpu.*Vulkan driver/);
    return true;
  });
  assert.deepEqual(calls, ['load:gpu', 'load:webgpu:0']);
});

test('auto with --gpu takes webgpu on a hardware adapter when tfjs-node-gpu cannot load', async () => {
  const { loader } = fakeLoader({ gpu: false, webgpu: 'hardware' });
  const b = await selectBackend('auto', 0, loader, {});
  assert.deepEqual([b.name, b.detail, b.kind], ['webgpu', 'NVIDIA H200', 'webgpu nvidia-h200']);
});

test('a software WebGPU adapter is used only when webgpu is asked for by name, and the start-up line says so', async () => {
  const { loader, calls } = fakeLoader({ webgpu: 'software', wasm: true });
  const b = await selectBackend('webgpu', null, loader, {});
  assert.equal(b.detail, 'llvmpipe: Mesa 25.0.7 (software)');
  // Dawn's device name ends in a dash where lavapipe's ends in a bracket: the kind did too.
  assert.equal(b.kind, 'webgpu llvmpipe-llvm-15-0-6-256-bits');
  await assert.rejects(selectBackend('webgpu', 0, loader, {}), (e) => isTrainerError(e, 'E_BACKEND') && /0 hardware adapter/.test(e.message));
  await assert.rejects(selectBackend('auto', 0, loader, {}), (e) => isTrainerError(e, 'E_BACKEND'));
  assert.ok(!calls.includes('load:wasm'), 'never a CPU fallback for a GPU asked for');
});

test('--gpu counts among the devices a scheduler made visible, and TensorFlow is told to be deterministic', async () => {
  const env: NodeJS.ProcessEnv = { CUDA_VISIBLE_DEVICES: '2,3' };
  const { loader } = fakeLoader({ gpu: true, usingGpu: true });
  await selectBackend('tensorflow-gpu', 1, loader, env);
  assert.equal(env.CUDA_VISIBLE_DEVICES, '3');
  assert.equal(env.TF_DETERMINISTIC_OPS, '1');
  assert.equal(env.TF_CUDNN_DETERMINISTIC, '1');
  await assert.rejects(selectBackend('tensorflow-gpu', 2, loader, { CUDA_VISIBLE_DEVICES: '2,3' }), (e) => isTrainerError(e, 'E_BACKEND') && /only 2 device/.test(e.message));
  const mine: NodeJS.ProcessEnv = { TF_DETERMINISTIC_OPS: '0' };
  await selectBackend('tensorflow-gpu', 0, loader, mine);
  assert.equal(mine.TF_DETERMINISTIC_OPS, '0', "the user's own setting stands");
});

test('a GPU build that finds no device is an error', async () => {
  const { loader } = fakeLoader({ gpu: true, usingGpu: false });
  await assert.rejects(selectBackend('tensorflow-gpu', 0, loader, {}), (e) => isTrainerError(e, 'E_BACKEND') && /no usable GPU/.test(e.message));
});

test('--gpu with a CPU backend is a config error', async () => {
  const { loader } = fakeLoader({ wasm: true });
  await assert.rejects(selectBackend('wasm', 0, loader, {}), (e) => isTrainerError(e, 'E_CONFIG'));
});

test('an explicit tensorflow backend that cannot load says so', async () => {
  const { loader } = fakeLoader({ wasm: true });
  await assert.rejects(selectBackend('tensorflow', null, loader, {}), (e) => isTrainerError(e, 'E_BACKEND') && /tfjs-node did not load/.test(e.message));
});

test('a backend says whether it computes on a GPU (tensorflow-gpu, webgpu on a hardware adapter), and a GPU given micro-batches under 128 images gets a note', async () => {
  const on = async (requested: Parameters<typeof selectBackend>[0], gpu: number | null, o: Parameters<typeof fakeLoader>[0]) => (await selectBackend(requested, gpu, fakeLoader(o).loader, {})).gpu;
  assert.equal(await on('auto', 0, { gpu: true, usingGpu: true }), true, 'tensorflow-gpu');
  assert.equal(await on('webgpu', 0, { webgpu: 'hardware' }), true, 'webgpu on an H200');
  assert.equal(await on('webgpu', null, { webgpu: 'software' }), false, 'webgpu on lavapipe');
  assert.equal(await on('auto', null, { native: true }), false, 'tensorflow');
  assert.equal(await on('auto', null, { wasm: true }), false, 'wasm');
  assert.equal(await on('auto', null, {}), false, 'cpu');
  assert.match(gpuMicroBatchNote(16) ?? '', /^micro-batches of 16 images leave a GPU mostly waiting: it does better with 128 or more \(configs\/cifar3-gpu\.yaml/);
  assert.equal(gpuMicroBatchNote(GPU_MICRO_BATCH - 1)?.startsWith('micro-batches of 127 images'), true);
  assert.equal(gpuMicroBatchNote(GPU_MICRO_BATCH), null);
  assert.equal(gpuMicroBatchNote(0), null);
});
