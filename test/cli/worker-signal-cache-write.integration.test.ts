import assert from 'node:assert/strict';
import { watch } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { allocateDataset } from '../../src/data/cifar-format.js';
import { datasetBlob } from '../../src/transports/ws/wire-dataset.js';
import { tempDir } from '../helpers.js';
import { datasetCoordinator, killAll, spawnWorker, type Spawned } from '../transports/ws/helpers.js';

test('a worker stopped by SIGTERM while it writes the received dataset to its cache exits 143 and leaves no temporary there (a 157 MB one stayed for 10 minutes)', async () => {
  // 10,000 images: 30 MB to write and fsync, far longer than the worker takes to leave.
  const blob = datasetBlob({ train: allocateDataset(10_000), val: allocateDataset(10) });
  const chunkBytes = 8 << 20;
  const chunks = Array.from({ length: Math.ceil(blob.length / chunkBytes) }, (_, i) => blob.subarray(i * chunkBytes, (i + 1) * chunkBytes));
  const coordinator = await datasetCoordinator(blob, { trainCount: 10_000, valCount: 10 }, chunks, { welcome: { backend: 'wasm', maxBatch: 16, microBatch: 16, heartbeatMs: 5000 } });
  const procs: Spawned[] = [];
  try {
    const dir = await tempDir();
    const datasets = join(dir, 'cache', 'w', 'datasets');
    await mkdir(datasets, { recursive: true });
    const writing = new Promise<void>((resolve) => {
      const watcher = watch(datasets, (_event, name) => {
        if (name?.endsWith('.tmp')) {
          watcher.close();
          resolve();
        }
      });
    });
    const worker = spawnWorker(coordinator.address, dir, 'w');
    procs.push(worker);
    await Promise.race([writing, worker.exited.then((code) => assert.fail(`the worker exited (${code}) before writing its cache: ${worker.output()}`))]);
    worker.child.kill('SIGTERM');
    assert.equal(await worker.exited, 143, worker.output());
    assert.match(worker.output(), /leaving: interrupted/);
    assert.deepEqual((await readdir(datasets)).filter((f) => f.endsWith('.tmp')), []);
  } finally {
    killAll(procs);
    coordinator.close();
  }
});
