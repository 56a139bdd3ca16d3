import assert from 'node:assert/strict';
import test from 'node:test';
import { selectBackend, type BackendLoader } from '../../src/worker/backend.js';
import { isTrainerError } from '../../src/shared/errors.js';

/** A loader whose packages load or fail as told, recording what was tried. */
function fakeLoader(o: { native?: boolean; gpu?: boolean; usingGpu?: boolean; wasm?: boolean }) {
  const calls: string[] = [];
  const loader: BackendLoader = {
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

test('a GPU that cannot load is an error naming CUDA 11.2 and cuDNN 8.1, never a CPU fallback', async () => {
  const { loader, calls } = fakeLoader({ gpu: false, native: true, wasm: true });
  await assert.rejects(selectBackend('auto', 0, loader, {}), (e) => {
    assert.ok(isTrainerError(e, 'E_BACKEND'));
    assert.match(e.message, /libcudart/);
    assert.match(e.message, /CUDA 11\.2 and cuDNN 8\.1/);
    return true;
  });
  assert.deepEqual(calls, ['load:gpu']);
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
