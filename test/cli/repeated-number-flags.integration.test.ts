import test from 'node:test';
import { tempDir } from '../helpers.js';
import { expectFailures, smallConfigFile } from './cli-helpers.js';

test('a number option given twice is E_USAGE in every command, also where yargs adds the two up (--threads 3 --threads 1 trained on 4 threads, --gpu 2 --gpu 1 on GPU 3)', async () => {
  const config = await smallConfigFile(await tempDir());
  const twice = (command: string, option: string) => `error E_USAGE: --${option} given more than once (see trainer ${command} --help)\n`;
  expectFailures([
    [['train', '-c', config, '--threads', '3', '--threads', '1'], twice('train', 'threads')],
    [['train', '-c', config, '--threads=3', '--threads=1'], twice('train', 'threads')],
    [['train', '-c', config, '--gpu', '2', '--gpu', '1'], twice('train', 'gpu')],
    [['train', '-c', config, '--status-port', '2', '--statusPort', '1'], twice('train', 'status-port')],
    [['worker', '--connect', '127.0.0.1:9', '--gpu', '2', '--gpu', '1'], twice('worker', 'gpu')],
    [['worker', '--connect', '127.0.0.1:9', '--retry-for-ms', '2', '--retry-for-ms', '1'], twice('worker', 'retry-for-ms')],
    [['coordinator', '-c', config, '--port', '2', '--port', '1'], twice('coordinator', 'port')],
    [['doctor', '--software-limit', '2', '--software-limit', '1'], twice('doctor', 'software-limit')],
    [['predict', 'x.png', '--run', 'r', '--top', '2', '--top', '1'], twice('predict', 'top')],
  ]);
});
