import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { smallConfigFile, trainer } from './cli-helpers.js';

test('a number option typed with no number, bare or empty, is a usage error naming it; numbers, 0 and negatives still parse', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'trainer-flag-numbers-'));
  try {
    const config = await smallConfigFile(dir, 'run', 1);
    const usage = (flag: string, command: string) => `error E_USAGE: --${flag} needs a number (see trainer ${command} --help)\n`;
    const cases: [string[], string][] = [
      // Were 3 classes listed (--top's default) and "--top must be a positive integer, got 0".
      [['predict', '--run', join(dir, 'runs', 'run'), 'cat.png', '--top'], usage('top', 'predict')],
      [['predict', '--run', join(dir, 'runs', 'run'), '--top=', 'cat.png'], usage('top', 'predict')],
      // Was "--threads must be a positive integer, got 0".
      [['train', '-c', config, '--threads='], usage('threads', 'train')],
      [['train', '-c', config, '--threads', ''], usage('threads', 'train')],
      [['train', '-c', config, '--statusPort=', '--quiet'], usage('status-port', 'train')],
      // Was a coordinator on any free port (0); in this empty folder it stopped at "no CIFAR-10 data".
      [['coordinator', '--port='], usage('port', 'coordinator')],
      [['coordinator', '--min-workers', '--quiet'], usage('min-workers', 'coordinator')],
      // Was a worker that never gives up (0); --threads 0 stopped the old parse before it connected.
      [['worker', '--connect', '127.0.0.1:9', '--retry-for-ms=', '--threads', '0'], usage('retry-for-ms', 'worker')],
      // Were doctor's probes, with --software-limit at its default 512, and "got 0".
      [['doctor', '--software-limit'], usage('software-limit', 'doctor')],
      [['doctor', '--softwareLimit='], usage('software-limit', 'doctor')],
      // --top took the only image as its value: the mistake is --top's, not "missing images".
      [['predict', '--run', join(dir, 'runs', 'run'), '--top', 'cat.png'], 'error E_USAGE: --top must be a number, got "cat.png" (see trainer predict --help)\n'],
      // Numbers typed, negative and 0 among them, reach the command's own checks as numbers.
      [['train', '-c', config, '--threads=-1'], 'error E_USAGE: --threads must be a positive integer, got -1\n'],
      [['train', '-c', config, '--threads', '-1'], 'error E_USAGE: --threads must be a positive integer, got -1\n'],
      [['doctor', '--software-limit', '0'], 'error E_USAGE: --software-limit must be a positive integer (images), got 0\n'],
    ];
    for (const [args, stderr] of cases) {
      const r = trainer(args, dir);
      assert.equal(r.stderr, stderr, args.join(' '));
      assert.equal(r.code, 2, args.join(' '));
    }
    assert.deepEqual(await readdir(dir), ['c.yaml'], 'no run and no data were made');
    // A run given numbers in every form, config keys among them, trains.
    const run = trainer(['train', '-c', config, '--threads=1', '--status-port', '0', '--train.epochs', '1', '--train.batchSize=64', '--quiet']);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(await readdir(join(dir, 'runs')), ['run']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
