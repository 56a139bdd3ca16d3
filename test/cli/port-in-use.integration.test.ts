import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { smallConfigFile, trainer } from './cli-helpers.js';

test('a port in use is one E_CONFIG line saying so, for the workers\' port and the dashboard\'s (was an uncaught exception for the workers\' port)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'trainer-port-'));
  const taken = createServer();
  try {
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    const config = await smallConfigFile(dir);
    const workers = trainer(['coordinator', '-c', config, '--port', String(port)]);
    assert.equal(workers.stderr.split('\n').filter((l) => l.startsWith('error ')).join('\n'), `error E_CONFIG: cannot listen for workers on 127.0.0.1:${port}: port ${port} is in use (another coordinator or dashboard?): choose another port`);
    assert.doesNotMatch(workers.stderr, /at Server|node:events/, 'no stack trace');
    assert.equal(workers.code, 2);
    const dashboard = trainer(['train', '-c', config, '--status-port', String(port), '--run.name', 'dash']);
    assert.equal(dashboard.stderr, `error E_CONFIG: cannot serve the dashboard on 127.0.0.1:${port}: port ${port} is in use (another coordinator or dashboard?): choose another port\n`);
    assert.equal(dashboard.code, 2);
    assert.equal(existsSync(join(dir, 'runs')), false, 'a run that never began leaves no folder, nor the runs/ folder made for it');
  } finally {
    taken.close();
    await rm(dir, { recursive: true, force: true });
  }
});
