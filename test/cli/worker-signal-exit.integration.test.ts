import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { tempDir } from '../helpers.js';
import { TOKEN, freePort, killAll, spawnMain, spawnWorker, waitFor, wsConfig, type Spawned } from '../transports/ws/helpers.js';

test('a worker stopped by SIGTERM or Ctrl-C leaves cleanly and exits 143 or 130, not 0 (which a Kubernetes Indexed Job took for a finished index)', async () => {
  const procs: Spawned[] = [];
  try {
    const dir = await tempDir();
    const config = wsConfig(dir, 'signals', { cluster: { ...wsConfig(dir, 'signals').cluster, workers: 3, noWorkerTimeoutMs: 120_000 } });
    const file = join(dir, 'config.yaml');
    await writeFile(file, JSON.stringify(config));
    const port = await freePort();
    const coordinator = spawnMain(['coordinator', '--config', file, '--port', String(port)], { TRAINER_TOKEN: TOKEN });
    procs.push(coordinator);
    await waitFor('the coordinator to listen', () => coordinator.output().includes('listening'));
    const url = `127.0.0.1:${port}`;
    for (const [name, signal, code] of [['term', 'SIGTERM', 143], ['int', 'SIGINT', 130]] as const) {
      const worker = spawnWorker(url, dir, name);
      procs.push(worker);
      await waitFor(`worker ${name} ready`, () => new RegExp(`${name}.* ready`).test(coordinator.output()));
      worker.child.kill(signal);
      assert.equal(await worker.exited, code, worker.output());
      assert.match(worker.output(), /leaving: interrupted/);
      assert.doesNotMatch(worker.output(), /error E_|at .*\.js:\d+/);
    }
  } finally {
    killAll(procs);
  }
});
