import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import test from 'node:test';
import { tempDir } from '../helpers.js';
import { freePort, killAll, spawnMain, TOKEN, waitFor } from '../transports/ws/helpers.js';
import { smallConfigFile } from './cli-helpers.js';

const hasV6Loopback = Object.values(networkInterfaces()).some((list) => list?.some((i) => i.address === '::1'));

test('coordinator --host all listens on every IPv6 and IPv4 address, says so, and its port and dashboard answer on ::1 and 127.0.0.1 (0.0.0.0 took IPv4 only)', async () => {
  const dir = await tempDir();
  const port = await freePort();
  const coordinator = spawnMain(['coordinator', '-c', await smallConfigFile(dir), '--host', 'all', '--port', String(port)], { TRAINER_TOKEN: TOKEN });
  try {
    const said = hasV6Loopback ? `listening on ws://[::]:${port} and ws://0.0.0.0:${port};` : `listening on ws://0.0.0.0:${port};`;
    await waitFor('the coordinator to listen', () => coordinator.output().includes(said), 60_000);
    const hosts = hasV6Loopback ? ['127.0.0.1', '[::1]'] : ['127.0.0.1'];
    for (const host of hosts) {
      assert.equal((await fetch(`http://${host}:${port}/healthz`)).status, 200, host);
      // The dashboard on the same port: an IP literal is a Host it answers.
      assert.equal((await fetch(`http://${host}:${port}/`)).status, 200, host);
    }
    coordinator.child.kill('SIGINT');
    assert.equal(await coordinator.exited, 130, coordinator.output());
  } finally {
    killAll([coordinator]);
  }
});
