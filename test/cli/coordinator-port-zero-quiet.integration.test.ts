import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { tempDir } from '../helpers.js';
import { spawnMain, waitFor, wsConfig } from '../transports/ws/helpers.js';

test('trainer coordinator --port 0 --quiet says the address it took, and a worker trains there (it said nothing: no worker could find it)', async () => {
  const dir = await tempDir();
  const file = join(dir, 'config.yaml');
  await writeFile(file, JSON.stringify(wsConfig(dir, 'quiet', { train: { epochs: 1 }, cluster: { transport: 'ws', workers: 1 } })));
  const coordinator = spawnMain(['coordinator', '--config', file, '--port', '0', '--quiet', '--no-dashboard']);
  const worker: { w?: ReturnType<typeof spawnMain> } = {};
  try {
    let url = '';
    await waitFor('the address', () => (url = /^coordinator listening on (ws:\/\/127\.0\.0\.1:\d+)\n/.exec(coordinator.output())?.[1] ?? '') !== '');
    worker.w = spawnMain(['worker', '--connect', url, '--backend', 'wasm']);
    assert.equal(await coordinator.exited, 0, coordinator.output());
    assert.equal(coordinator.output(), `coordinator listening on ${url}\n`, 'only the address, with --quiet');
  } finally {
    coordinator.child.kill('SIGKILL');
    worker.w?.child.kill('SIGKILL');
  }
});
