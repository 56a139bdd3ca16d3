import test from 'node:test';
import { tempDir } from '../helpers.js';
import { expectFailures, smallConfigFile } from './cli-helpers.js';

test('trainer train --gpus without --procs, or with a CPU backend, stops at start with E_CONFIG (it trained on wasm, exit 0; or failed as E_WORKER_LOST, exit 1)', async () => {
  const config = await smallConfigFile(await tempDir());
  expectFailures([
    [
      ['train', '-c', config, '--gpus', '0,1'],
      'error E_CONFIG: cluster.gpus [0,1] (--gpus) gives each local worker process a GPU, and cluster.transport local starts none: add --procs N (--procs 2 for one process per GPU), or give one GPU with --gpu N\n',
    ],
    [
      ['train', '-c', config, '--threads', '2', '--cluster.gpus', '[0, 1]'],
      'error E_CONFIG: cluster.gpus [0,1] (--gpus) gives each local worker process a GPU, and cluster.transport threads starts none: add --procs N (--procs 2 for one process per GPU), or give one GPU with --gpu N\n',
    ],
    [['train', '-c', config, '--procs', '2', '--gpus', '0,1', '--backend', 'cpu'], 'error E_CONFIG: cluster.gpus [0,1] (--gpus) needs backend tensorflow-gpu, webgpu or auto, got backend cpu\n'],
    [['train', '-c', config, '--procs', '2', '--gpus', '0,1'], 'error E_CONFIG: cluster.gpus [0,1] (--gpus) needs backend tensorflow-gpu, webgpu or auto, got backend wasm\n'],
    [['train', '-c', config, '--gpu', '0'], 'error E_CONFIG: --gpu 0 needs backend tensorflow-gpu, webgpu or auto, got backend wasm\n'],
  ]);
});
