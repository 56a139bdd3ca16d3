import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { tempDir } from '../helpers.js';
import { smallConfigFile, trainer } from './cli-helpers.js';
import { freePort, killAll, spawnMain, waitFor, wsConfig } from '../transports/ws/helpers.js';

test('trainer train --procs 2 --status-port serves the dashboard on 127.0.0.1 with both worker processes, their addresses and backend', async () => {
  const dir = await tempDir();
  const config = wsConfig(dir, 'local-dash', { train: { epochs: 40 }, cluster: { ...wsConfig(dir, 'x').cluster, transport: 'procs' } });
  const file = join(dir, 'config.yaml');
  await writeFile(file, JSON.stringify(config));
  const statusPort = await freePort();
  const train = spawnMain(['train', '--config', file, '--status-port', String(statusPort)]);
  try {
    type Status = { step: number; workers: { worker: string; address: string; backend: string }[] };
    let st: Status | null = null;
    await waitFor('two workers stepping', async () => {
      const r = await fetch(`http://127.0.0.1:${statusPort}/status.json`).catch(() => null);
      st = r ? ((await r.json()) as Status) : null;
      return st !== null && st.step > 0 && st.workers.length === 2;
    });
    const workers = (st as unknown as Status).workers;
    assert.deepEqual(workers.map((w) => w.worker.split(' ')[1]).sort(), ['proc0', 'proc1']);
    for (const w of workers) {
      assert.match(w.address, /^127\.0\.0\.1:\d+$/);
      assert.equal(w.backend, 'wasm');
    }
    train.child.kill('SIGINT');
    assert.equal(await train.exited, 130, train.output());
  } finally {
    killAll([train]);
  }
});

test('--quiet --status-port 0 still says where the dashboard is (nothing else could tell the port)', async () => {
  const dir = await tempDir();
  const r = trainer(['train', '--config', await smallConfigFile(dir, 'quiet', 1), '--status-port', '0', '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^dashboard on http:\/\/127\.0\.0\.1:[1-9]\d*\/\n$/);
});
