import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { smallConfigFile, trainer } from './cli-helpers.js';

test('a number typed with a minus sign in a form yargs takes for flags (-1e3, -5x, -Infinity) is E_USAGE saying what is wrong with that option\'s value, not "unknown option -1"; nothing runs', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'trainer-dashed-values-'));
  try {
    const config = await smallConfigFile(dir);
    const run = join(dir, 'runs', 'run');
    const cases: [string[], string][] = [
      // Each was "error E_USAGE: unknown option -1; unknown option -e (see trainer train --help)".
      [['train', '-c', config, '--threads', '-1e3'], 'error E_USAGE: --threads must be a positive integer, got -1000\n'],
      [['train', '-c', config, '--procs', '-2E1'], 'error E_USAGE: --procs must be a positive integer, got -20\n'],
      [['train', '-c', config, '--statusPort', '-1e3'], 'error E_USAGE: --status-port must be a port number (0-65535), got -1000\n'],
      [['coordinator', '-c', config, '--min-workers', '-.5e1'], 'error E_USAGE: --min-workers must be a positive integer, got -5\n'],
      [['predict', '--run', run, '--top', '-1e-3', 'cat.png'], 'error E_USAGE: --top must be a positive integer, got -0.001\n'],
      [['doctor', '--software-limit', '-1e3'], 'error E_USAGE: --software-limit must be a positive integer (images), got -1000\n'],
      [['worker', '--connect', '127.0.0.1:9', '--retry-for-ms', '-1e3'], 'error E_USAGE: --retry-for-ms must be a non-negative integer, got -1000\n'],
      // A text option (the worker's --threads takes "auto") gets the word as typed.
      [['worker', '--connect', '127.0.0.1:9', '--threads', '-1e3'], 'error E_USAGE: --threads must be an integer from 1 to 1024 or auto, got "-1e3"\n'],
      // Not a number at all, or not a finite one: said as typed (Infinity was "got null").
      [['train', '-c', config, '--threads', '-5x'], 'error E_USAGE: --threads must be a number, got "-5x" (see trainer train --help)\n'],
      [['train', '-c', config, '--threads', '-Infinity'], 'error E_USAGE: --threads must be a finite number, got "-Infinity" (see trainer train --help)\n'],
      [['train', '-c', config, '--threads', '1e400'], 'error E_USAGE: --threads must be a finite number, got "1e400" (see trainer train --help)\n'],
    ];
    for (const [args, stderr] of cases) {
      const r = trainer(args, dir);
      assert.equal(r.stderr, stderr, args.join(' '));
      assert.equal(r.code, 2, args.join(' '));
    }
    assert.deepEqual(await readdir(dir), ['c.yaml'], 'no run and no data were made');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
