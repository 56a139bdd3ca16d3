// A worker whose own --backend cannot load says so at start, before it looks for a coordinator:
// it connected, retried until the coordinator was up (a scheduler often starts workers first),
// and only then failed in its join, the coordinator logging "left while joining".
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import test from 'node:test';
import { spawnMain } from '../transports/ws/helpers.js';

// One thread loads the backend; several threads (each loads its own once welcomed) check that Dawn
// sees the GPU asked for, without taking it.
for (const threads of ['1', '2']) {
  test(`trainer worker --backend webgpu --gpu 99 (no such adapter) --threads ${threads} is E_BACKEND at start, exit 1, without a connection tried`, async () => {
    let connections = 0;
    const server = createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const worker = spawnMain(['worker', '--backend', 'webgpu', '--gpu', '99', '--threads', threads, '--connect', `127.0.0.1:${port}`, '--retry-for-ms', '60000']);
      const timer = setTimeout(() => worker.child.kill('SIGKILL'), 60_000);
      const code = await worker.exited;
      clearTimeout(timer);
      assert.equal(code, 1, worker.output());
      assert.match(worker.output(), /^error E_BACKEND: webgpu: /m);
      assert.doesNotMatch(worker.output(), /cannot connect|connected/);
      assert.equal(connections, 0, 'it never knocked');
    } finally {
      server.close();
    }
  });
}
