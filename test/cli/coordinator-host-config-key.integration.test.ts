import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import test from 'node:test';
import { tempDir } from '../helpers.js';
import { freePort, killAll, spawnMain, waitFor } from '../transports/ws/helpers.js';
import { smallConfigFile } from './cli-helpers.js';

const hasV6Loopback = Object.values(networkInterfaces()).some((list) => list?.some((i) => i.address === '::1'));

test('coordinator --cluster.host [::1] (the config key, as a YAML file gives it) listens on ::1 without a token; it said "needs a shared token"', { skip: !hasV6Loopback && 'no ::1 here' }, async () => {
  const dir = await tempDir();
  const port = await freePort();
  const coordinator = spawnMain(['coordinator', '-c', await smallConfigFile(dir), '--cluster.host', '[::1]', '--port', String(port)]);
  try {
    await waitFor('the coordinator to listen', () => coordinator.output().includes(`listening on ws://[::1]:${port}`));
    coordinator.child.kill('SIGINT');
    assert.equal(await coordinator.exited, 130, coordinator.output());
  } finally {
    killAll([coordinator]);
  }
});

test('coordinator --host hostA:9000 is one E_CONFIG line, exit 2, before the data loads: it was "cannot listen for workers on [hostA:9000]:0: ... ENOTFOUND"', async () => {
  const dir = await tempDir();
  const coordinator = spawnMain(['coordinator', '-c', await smallConfigFile(dir), '--host', 'hostA:9000', '--port', '0'], { TRAINER_TOKEN: '0123456789abcdef0123' });
  try {
    assert.equal(await coordinator.exited, 2, coordinator.output());
    assert.equal(
      coordinator.output().trim(),
      'error E_CONFIG: cluster.host "hostA:9000" holds a port: give the address or name alone, --host hostA and the port in cluster.port (--port 9000)',
    );
  } finally {
    killAll([coordinator]);
  }
});
