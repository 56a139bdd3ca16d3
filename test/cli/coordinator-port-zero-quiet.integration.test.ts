import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { tempDir } from '../helpers.js';
import { killAll, spawnMain, TOKEN, waitFor, wsConfig } from '../transports/ws/helpers.js';
import { smallConfigFile } from './cli-helpers.js';

const hasV6Loopback = Object.values(networkInterfaces()).some((list) => list?.some((i) => i.address === '::1'));

/** /healthz answers on port `port` of 127.0.0.1, and of ::1 where there is one. */
async function answersOnLoopbacks(port: string): Promise<void> {
  for (const host of hasV6Loopback ? ['127.0.0.1', '[::1]'] : ['127.0.0.1']) {
    assert.equal((await fetch(`http://${host}:${port}/healthz`)).status, 200, host);
  }
}

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

test('trainer coordinator --host all --port 0 --quiet says every address it listens on, and each answers (it said [::] only)', async () => {
  const dir = await tempDir();
  const coordinator = spawnMain(['coordinator', '-c', await smallConfigFile(dir), '--host', 'all', '--port', '0', '--quiet'], { TRAINER_TOKEN: TOKEN });
  try {
    let port = '';
    await waitFor('the addresses', () => (port = /^coordinator listening on \S+:(\d+)/.exec(coordinator.output())?.[1] ?? '') !== '', 60_000);
    await waitFor('the whole line', () => coordinator.output().endsWith('\n'), 60_000);
    const said = hasV6Loopback ? `ws://[::]:${port} and ws://0.0.0.0:${port}` : `ws://0.0.0.0:${port}`;
    assert.equal(coordinator.output(), `coordinator listening on ${said}\n`, 'only the addresses, with --quiet');
    await answersOnLoopbacks(port);
    coordinator.child.kill('SIGINT');
    assert.equal(await coordinator.exited, 130, coordinator.output());
  } finally {
    killAll([coordinator]);
  }
});

test('trainer coordinator --host all --status-port 0 --quiet says every address its dashboard listens on, and each answers (it said [::] only)', async () => {
  const dir = await tempDir();
  const coordinator = spawnMain(['coordinator', '-c', await smallConfigFile(dir), '--host', 'all', '--port', '0', '--status-port', '0', '--quiet'], { TRAINER_TOKEN: TOKEN });
  try {
    // Whole lines only (the last piece may be one half written).
    const line = () => coordinator.output().split('\n').slice(0, -1).find((l) => l.startsWith('dashboard on ')) ?? '';
    await waitFor('the dashboard line', () => line() !== '', 60_000);
    const port = /:(\d+)\/$/.exec(line())?.[1] ?? '';
    const said = hasV6Loopback ? `http://[::]:${port}/ and http://0.0.0.0:${port}/` : `http://0.0.0.0:${port}/`;
    assert.equal(line(), `dashboard on ${said}`);
    await answersOnLoopbacks(port);
    coordinator.child.kill('SIGINT');
    assert.equal(await coordinator.exited, 130, coordinator.output());
  } finally {
    killAll([coordinator]);
  }
});
