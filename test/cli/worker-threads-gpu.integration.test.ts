import test from 'node:test';
import { expectFailures } from './cli-helpers.js';

test('trainer worker --threads N --gpu M without --backend webgpu is E_USAGE at start saying why (it blamed "backend wasm", never named, once a coordinator answered)', () => {
  // Port 9 (discard): nothing listens; before, each of these retried until --retry-for-ms.
  const worker = (...flags: string[]) => ['worker', '--connect', '127.0.0.1:9', '--retry-for-ms', '300', ...flags];
  expectFailures([
    [
      worker('--threads', '2', '--gpu', '0'),
      "error E_USAGE: --gpu 0 with --threads 2 needs --backend webgpu (it runs in threads): without --backend the threads take the run's backend, and auto would try tensorflow-gpu, which loads once per process; or run one worker process per GPU, without --threads\n",
    ],
    [
      worker('--threads', '2', '--gpu', '1', '--backend', 'auto'),
      'error E_USAGE: --gpu 1 with --threads 2: backend auto would try tensorflow-gpu, which loads once per process; give --backend webgpu (it runs in threads), or run one worker process per GPU, without --threads\n',
    ],
    [
      worker('--threads', '2', '--backend', 'tensorflow-gpu'),
      'error E_USAGE: backend tensorflow-gpu cannot run in more than one thread (tfjs-node loads once per process): run one worker process per GPU, without --threads, or give --backend webgpu\n',
    ],
  ]);
});
