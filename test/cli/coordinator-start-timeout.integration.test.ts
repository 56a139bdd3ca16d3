import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { tempDir } from '../helpers.js';
import { smallConfigFile, trainer } from './cli-helpers.js';

test('trainer coordinator whose workers never come gives up after cluster.startTimeoutMs: exit 1 (a scheduler may try again), one error line, no run folder left (it waited for ever)', async () => {
  const dir = await tempDir();
  const config = await smallConfigFile(dir, 'nobody');
  const t0 = performance.now();
  const r = trainer(['coordinator', '-c', config, '--port', '0', '--cluster.workers', '2', '--cluster.startTimeoutMs', '1500', '--quiet']);
  assert.equal(r.code, 1, r.stderr);
  assert.ok(performance.now() - t0 >= 1500);
  assert.equal(
    r.stderr.split('\n').filter((l) => l.startsWith('error ')).join('\n'),
    'error E_NO_WORKERS: 0 of 2 worker(s) joined within cluster.startTimeoutMs (1.5 s): start the workers (trainer worker --connect HOST:PORT), or raise cluster.startTimeoutMs (0 waits for ever)',
  );
  assert.deepEqual(await readdir(join(dir, 'runs')).catch(() => []), []);
});
