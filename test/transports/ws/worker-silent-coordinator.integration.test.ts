import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { getEventListeners } from 'node:events';
import { readFile, access, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import test from 'node:test';
import { RunFolder } from '../../../src/coordinator/run-folder.js';
import { isTrainerError } from '../../../src/shared/errors.js';
import { runWsWorker, sleep } from '../../../src/transports/ws/worker.js';
import { tempDir } from '../../helpers.js';
import { TOKEN, freePort, killAll, referenceSha, spawnMain, spawnWorker, waitFor, wsConfig, type Spawned } from './helpers.js';

test('a server that accepts the connection but never answers: the worker gives up after --retry-for-ms with E_TIMEOUT saying so (it waited for ever, silently)', async () => {
  const sockets: Socket[] = [];
  const server = createServer((s) => void sockets.push(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const port = (server.address() as AddressInfo).port;
    const t0 = performance.now();
    const err = await runWsWorker({ url: `ws://127.0.0.1:${port}`, token: null, gpu: null, cacheDir: await tempDir(), retryForMs: 2500, log: () => {} }).then(
      () => assert.fail('the worker should not have ended cleanly'),
      (e: unknown) => e,
    );
    assert.ok(isTrainerError(err, 'E_TIMEOUT'), String(err));
    assert.match((err as Error).message, /no word from the coordinator for 2\.5 s/);
    assert.ok(performance.now() - t0 < 15_000, `took ${Math.round(performance.now() - t0)} ms`);
  } finally {
    sockets.forEach((s) => s.destroy());
    server.close();
  }
});

test('retrying does not pile up abort listeners on the stop signal (Node warned "MaxListenersExceeded" after 45 s of retries)', async () => {
  const stop = new AbortController();
  for (let i = 0; i < 20; i++) await sleep(1, stop.signal);
  assert.equal(getEventListeners(stop.signal, 'abort').length, 0);
});

test('a joined worker whose coordinator goes silent (SIGSTOP: no close frame, as a lost host) drops the link after 4 heartbeats (10 s at least) and rejoins; the run ends bit-identical', async () => {
  const dir = await tempDir();
  const base = wsConfig(dir, 'silent', { train: { epochs: 3 } });
  const config = { ...base, cluster: { ...base.cluster, workers: 1, heartbeatMs: 500, noWorkerTimeoutMs: 60_000 } };
  const expected = await referenceSha(config);
  const file = join(dir, 'config.yaml');
  await writeFile(file, JSON.stringify(config));
  const port = await freePort();
  const procs: Spawned[] = [];
  try {
    const coordinator = spawnMain(['coordinator', '--config', file, '--port', String(port)], { TRAINER_TOKEN: TOKEN });
    procs.push(coordinator);
    await waitFor('the coordinator to listen', () => coordinator.output().includes('listening'));
    const worker = spawnWorker(`127.0.0.1:${port}`, dir, 'w', ['--retry-for-ms', '0']);
    procs.push(worker);
    const runDir = join(config.run.dir, config.run.name);
    await waitFor('a checkpoint', () => access(new RunFolder(runDir).checkpointFile).then(() => true, () => false));
    coordinator.child.kill('SIGSTOP');
    // 4 heartbeats are 2 s: the floor of 10 s applies.
    await waitFor('the worker to drop the silent link', () => /lost \(no word from the coordinator for 10 s\)/.test(worker.output()), 30_000);
    coordinator.child.kill('SIGCONT');
    assert.equal(await coordinator.exited, 0, coordinator.output());
    const sha = createHash('sha256').update(await readFile(join(runDir, 'model', 'weights.bin'))).digest('hex');
    assert.equal(sha, expected);
    assert.equal(await worker.exited, 0, worker.output());
  } finally {
    killAll(procs);
  }
});
