import assert from 'node:assert/strict';
import { getEventListeners, once } from 'node:events';
import { access, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { RunFolder } from '../../../src/coordinator/run-folder.js';
import { isTrainerError } from '../../../src/shared/errors.js';
import { datasetBlob } from '../../../src/transports/ws/wire-dataset.js';
import { decodeMessage } from '../../../src/transports/ws/decode.js';
import { runWsWorker, sleep } from '../../../src/transports/ws/worker.js';
import { modelSha, tempDir } from '../../helpers.js';
import { everyByteDataset } from '../../worker/input-fixtures.js';
import { TOKEN, acceptByHand, challengeFrame, clientFramePayload, datasetCoordinator, freePort, killAll, referenceSha, spawnMain, spawnWorker, waitFor, wsConfig, type Spawned } from './helpers.js';

// Each test waits on silence (timers, a stopped process): they run side by side.
describe('a worker and a silent coordinator', { concurrency: true }, () => {
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

  test('a frame still arriving is not silence: a challenge trickled in over 4 s keeps a link whose limit is 2 s (one large frame on a slow link was dropped before its last byte)', async () => {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    const stop = new AbortController();
    const worker = runWsWorker({ url: `ws://127.0.0.1:${port}`, token: null, gpu: null, cacheDir: await tempDir(), retryForMs: 2000, log: () => {}, signal: stop.signal });
    worker.catch(() => {}); // ended below
    try {
      const { socket, readUntil } = await acceptByHand(server);
      const frame = challengeFrame();
      const t0 = performance.now();
      for (const byte of frame) {
        socket.write(Buffer.from([byte]));
        await sleep(4000 / frame.length);
      }
      assert.ok(performance.now() - t0 > 3000);
      // Its answer: the link was kept, and the challenge arrived whole.
      const hello = await readUntil((b) => clientFramePayload(b) !== null);
      assert.equal(decodeMessage(clientFramePayload(hello) as Buffer, 'worker').type, 'hello');
      socket.destroy();
    } finally {
      stop.abort();
      await worker.catch(() => {});
      server.close();
    }
  });

  test('retrying does not pile up abort listeners on the stop signal (Node warned "MaxListenersExceeded" after 45 s of retries)', async () => {
    const stop = new AbortController();
    for (let i = 0; i < 20; i++) await sleep(1, stop.signal);
    assert.equal(getEventListeners(stop.signal, 'abort').length, 0);
  });

  /** Heartbeats every 500 ms: the coordinator drops a worker silent for 1.5 s, the worker its coordinator after 10 s. */
  function stoppedConfig(dir: string, name: string) {
    const base = wsConfig(dir, name, { train: { epochs: 3 } });
    return { ...base, cluster: { ...base.cluster, workers: 1, heartbeatMs: 500, noWorkerTimeoutMs: 60_000 } };
  }

  /**
   * The weights of those runs undisturbed (neither folder nor name changes them), trained before the
   * tests start: in this process two wasm backends starting at once fail, and the dataset test's worker loads cpu.
   */
  let expected = '';
  before(async () => {
    expected = await referenceSha(stoppedConfig(await tempDir(), 'reference'));
  });

  /**
   * A coordinator process with one worker process (stoppedConfig), stopped by SIGSTOP once its
   * first checkpoint is out; `whileStopped` runs then, and the coordinator goes on (SIGCONT). Checks
   * the run ends bit-identical to one never disturbed, and returns both processes' output.
   */
  async function stopCoordinator(name: string, whileStopped: (worker: Spawned) => Promise<void>): Promise<{ coordinator: string; worker: string }> {
    const dir = await tempDir();
    const config = stoppedConfig(dir, name);
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
      await whileStopped(worker);
      coordinator.child.kill('SIGCONT');
      assert.equal(await coordinator.exited, 0, coordinator.output());
      const sha = await modelSha(runDir);
      assert.equal(sha, expected);
      assert.equal(await worker.exited, 0, worker.output());
      return { coordinator: coordinator.output(), worker: worker.output() };
    } finally {
      killAll(procs);
    }
  }

  test('a joined worker whose coordinator goes silent (SIGSTOP: no close frame, as a lost host) drops the link after 4 heartbeats (10 s at least) and rejoins; the run ends bit-identical', async () => {
    // 4 heartbeats are 2 s: the floor of 10 s applies.
    await stopCoordinator('silent', (worker) => waitFor('the worker to drop the silent link', () => /lost \(no word from the coordinator for 10 s\)/.test(worker.output()), 30_000));
  });

  test('a coordinator paused for a few seconds (SIGSTOP, a suspend) does not blame its workers for the silence: nobody is dropped or counted stalled, and the run ends bit-identical', async () => {
    const out = await stopCoordinator('paused', () => sleep(4000));
    assert.match(out.coordinator, /this coordinator did not run for \d+\.\d s \(stopped or suspended\): its workers' silence meanwhile is not held against them/);
    assert.doesNotMatch(out.coordinator, /gone \(4504|stalled/, 'it was "gone (4504 silent for 4000 ms)", a stall counted');
    assert.doesNotMatch(out.worker, /lost/);
  });

  test('a coordinator that goes silent halfway through sending the dataset (no close: a lost host) is dropped after 10 s, as a joined one is (the worker waited in its join for ever)', async () => {
    const blob = datasetBlob({ train: everyByteDataset(6), val: everyByteDataset(2) });
    const half = Math.ceil(blob.length / 2);
    // The first of two chunks, then nothing more.
    const coordinator = await datasetCoordinator(blob, { trainCount: 6, valCount: 2 }, [blob.subarray(0, half), blob.subarray(half)], { send: 1, welcome: { heartbeatMs: 500 } });
    const stop = new AbortController();
    const hung = setTimeout(() => stop.abort(), 30_000);
    try {
      const url = `ws://${coordinator.address}`;
      const t0 = performance.now();
      const err = await runWsWorker({ url, token: TOKEN, backend: 'cpu', gpu: null, cacheDir: await tempDir(), retryForMs: 2500, log: () => {}, signal: stop.signal }).then(
        () => assert.fail(`the worker ended without an error after ${Math.round(performance.now() - t0)} ms (stopped after 30 s: it waited on the dataset)`),
        (e: unknown) => e,
      );
      assert.ok(isTrainerError(err, 'E_TIMEOUT'), String(err));
      // 4 heartbeats are 2 s: the floor of 10 s applies, as to a joined worker.
      assert.match((err as Error).message, /no word from the coordinator for 10 s/);
    } finally {
      clearTimeout(hung);
      coordinator.close();
    }
  });
});
