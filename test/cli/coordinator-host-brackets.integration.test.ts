import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import test from 'node:test';
import { tempDir } from '../helpers.js';
import { freePort, killAll, spawnMain, waitFor } from '../transports/ws/helpers.js';
import { smallConfigFile } from './cli-helpers.js';

const hasV6Loopback = Object.values(networkInterfaces()).some((list) => list?.some((i) => i.address === '::1'));

test('coordinator --host [::1] (brackets, as in a URL) listens on ::1, a loopback address needing no token; it said "needs a shared token"', { skip: !hasV6Loopback && 'no ::1 here' }, async () => {
  const dir = await tempDir();
  const port = await freePort();
  const coordinator = spawnMain(['coordinator', '-c', await smallConfigFile(dir), '--host', '[::1]', '--port', String(port)]);
  try {
    await waitFor('the coordinator to listen', () => coordinator.output().includes(`listening on ws://[::1]:${port}`));
    coordinator.child.kill('SIGINT');
    assert.equal(await coordinator.exited, 130, coordinator.output());
  } finally {
    killAll([coordinator]);
  }
});
