import assert from 'node:assert/strict';
import test from 'node:test';
import { resolveConfig } from '../../src/shared/config-file.js';
import { isTrainerError } from '../../src/shared/errors.js';

const rejects = (overrides: object, message: string) =>
  assert.rejects(resolveConfig(undefined, overrides), (err) => isTrainerError(err, 'E_CONFIG') && err.message === message, JSON.stringify(overrides));

test('cluster.gpus outside worker processes is E_CONFIG saying to add --procs N (the run trained on the CPU, exit 0)', async () => {
  await rejects(
    { cluster: { gpus: [0, 1] } },
    'cluster.gpus [0,1] (--gpus) gives each local worker process a GPU, and cluster.transport local starts none: add --procs N (--procs 2 for one process per GPU), or give one GPU with --gpu N',
  );
  await rejects(
    { cluster: { gpus: [0, 1], transport: 'threads', workers: 2 } },
    'cluster.gpus [0,1] (--gpus) gives each local worker process a GPU, and cluster.transport threads starts none: add --procs N (--procs 2 for one process per GPU), or give one GPU with --gpu N',
  );
  await rejects(
    { cluster: { gpus: [0], transport: 'ws' } },
    "cluster.gpus [0] (--gpus) gives each local worker process a GPU, and cluster.transport ws starts none: a coordinator's workers take their own --gpu N; clear it with --cluster.gpus '[]'",
  );
  assert.deepEqual((await resolveConfig(undefined, { cluster: { gpus: [0, 1], transport: 'procs', workers: 2 } })).cluster.gpus, [0, 1]);
});

test('cluster.gpus and gpu need a GPU backend: E_CONFIG before anything starts (worker processes refused it, E_WORKER_LOST exit 1)', async () => {
  for (const backend of ['wasm', 'cpu', 'tensorflow']) {
    await rejects(
      { backend, cluster: { gpus: [0, 1], transport: 'procs', workers: 2 } },
      `cluster.gpus [0,1] (--gpus) needs backend tensorflow-gpu, webgpu or auto, got backend ${backend}`,
    );
    await rejects({ backend, gpu: 1 }, `--gpu 1 needs backend tensorflow-gpu, webgpu or auto, got backend ${backend}`);
  }
  for (const backend of ['auto', 'tensorflow-gpu', 'webgpu']) {
    assert.equal((await resolveConfig(undefined, { backend, gpu: 0, cluster: { gpus: [1], transport: 'procs' } })).backend, backend);
  }
});
