// A worker whose own --backend cannot load says so at start, before it looks for a coordinator:
// it connected, retried until the coordinator was up (a scheduler often starts workers first),
// and only then failed in its join, the coordinator logging "left while joining".
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import test from 'node:test';
import { spawnMain } from '../transports/ws/helpers.js';
import { webgpuAdapters } from '../webgpu/fixtures.js';

/** A server that counts the connections it is offered and drops each. */
async function knockCounter(): Promise<{ port: number; connections: () => number; close: () => void }> {
  let connections = 0;
  const server = createServer((s) => {
    connections++;
    s.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, connections: () => connections, close: () => server.close() };
}

// One thread loads the backend; several threads (each loads its own once welcomed) check that Dawn
// sees the GPU asked for, without taking it.
for (const threads of ['1', '2']) {
  test(`trainer worker --backend webgpu --gpu 99 (no such adapter) --threads ${threads} is E_BACKEND at start, exit 1, without a connection tried`, async () => {
    const { port, connections, close } = await knockCounter();
    try {
      const worker = spawnMain(['worker', '--backend', 'webgpu', '--gpu', '99', '--threads', threads, '--connect', `127.0.0.1:${port}`, '--retry-for-ms', '60000']);
      const timer = setTimeout(() => worker.child.kill('SIGKILL'), 60_000);
      const code = await worker.exited;
      clearTimeout(timer);
      assert.equal(code, 1, worker.output());
      assert.match(worker.output(), /^error E_BACKEND: webgpu: /m);
      assert.doesNotMatch(worker.output(), /cannot connect|connected/);
      assert.equal(connections(), 0, 'it never knocked');
    } finally {
      close();
    }
  });
}

const hasGpuBackend = (() => {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node-gpu');
    return true;
  } catch {
    return false;
  }
})();
const gpuSkip = hasGpuBackend
  ? '@tensorflow/tfjs-node-gpu is installed here'
  : (await webgpuAdapters()).some((n) => !/llvmpipe|lavapipe|swiftshader/i.test(n)) && 'this machine has a hardware WebGPU adapter';

// Without --backend the run's backend comes with the welcome, and --gpu needs a GPU one: where
// none can take GPU 0 it was said only then (a worker started before its coordinator retried first).
test('trainer worker --gpu 0 without --backend, where no GPU backend is usable, is E_BACKEND at start, exit 1, without a connection tried', { skip: gpuSkip }, async () => {
  const { port, connections, close } = await knockCounter();
  try {
    // A short retry window: before, it retried this long, then said E_TIMEOUT.
    const worker = spawnMain(['worker', '--gpu', '0', '--connect', `127.0.0.1:${port}`, '--retry-for-ms', '3000']);
    const timer = setTimeout(() => worker.child.kill('SIGKILL'), 60_000);
    const code = await worker.exited;
    clearTimeout(timer);
    assert.equal(code, 1, worker.output());
    assert.match(worker.output(), /^error E_BACKEND: --gpu 0: no GPU backend is usable\. tensorflow-gpu: @tensorflow\/tfjs-node-gpu did not load .* \| webgpu: /m);
    assert.doesNotMatch(worker.output(), /cannot connect|connected|E_TIMEOUT/);
    assert.equal(connections(), 0, 'it never knocked');
  } finally {
    close();
  }
});
