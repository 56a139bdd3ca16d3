/**
 * The end of a run as a slow, lossy link delivers it: the worker reads "done" and answers the
 * close at once, but the last packet of its side's close (its FIN, resent after a backed-off
 * retransmission timeout) is late. A TCP relay between the worker and the coordinator stands in
 * for that link: it passes every byte both ways and the coordinator's FIN to the worker, and holds
 * the worker's FIN back.
 */
import assert from 'node:assert/strict';
import { connect, createServer, type Socket } from 'node:net';
import test from 'node:test';
import { runTraining } from '../../../src/coordinator/run.js';
import { tempDir } from '../../helpers.js';
import { killAll, loopbackWsPool, spawnWorker, wsConfig, type Spawned } from './helpers.js';

/** A relay on 127.0.0.1 to `target()`'s port that never passes on the end of the client's side. */
async function finHoldingRelay(target: () => number) {
  const sockets: Socket[] = [];
  const server = createServer((client) => {
    // Half-open allowed: else the coordinator's FIN, arriving, made the relay send one back.
    const upstream = connect({ port: target(), host: '127.0.0.1', allowHalfOpen: true });
    sockets.push(client, upstream);
    client.on('error', () => {});
    upstream.on('error', () => {});
    client.pipe(upstream, { end: false });
    upstream.pipe(client);
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = () => {
    for (const s of sockets) s.destroy();
    server.close();
  };
  return { port: (server.address() as { port: number }).port, close };
}

test('a worker that answered the end of the run, its FIN still on its way, is not waited for nor said to have missed the end (it was, 7.25 s, then "did not read ...: stop it by hand" for a worker that had exited 0)', async (t) => {
  const dir = await tempDir();
  const config = wsConfig(dir, 'fin-late', { train: { epochs: 1 } });
  let coordinatorPort = 0;
  const relay = await finHoldingRelay(() => coordinatorPort);
  const procs: Spawned[] = [];
  const lines: string[] = [];
  let goneAtMs = Number.NaN;
  const log = (l: string) => {
    lines.push(l);
    if (/\(late-fin\) gone \(4000 coordinator done\)/.test(l)) goneAtMs = performance.now();
  };
  const createPool = loopbackWsPool({
    minWorkers: 1,
    onListening: (url) => {
      coordinatorPort = Number(new URL(url).port);
      procs.push(spawnWorker(`127.0.0.1:${relay.port}`, dir, 'late-fin'));
    },
  });
  try {
    const r = await runTraining({ config, resume: false, createPool, log });
    const closedInMs = performance.now() - goneAtMs;
    assert.equal(r.outcome, 'finished');
    const worker = procs[0] as Spawned;
    assert.equal(await Promise.race([worker.exited, new Promise((r) => setTimeout(() => r('still running'), 5000))]), 0, worker.output());
    assert.match(worker.output(), /leaving: coordinator done/);
    assert.ok(!lines.some((l) => /to read that the run is over/.test(l)), lines.join('\n'));
    assert.ok(!lines.some((l) => /did not answer that the run is over/.test(l)), lines.join('\n'));
    // Its answer came within milliseconds; waiting for the FIN held the end BACKOFF_LINGER_MS, 7.25 s.
    assert.ok(closedInMs < 3000, `the pool closed ${Math.round(closedInMs)} ms after telling the worker`);
    t.diagnostic(`the pool closed ${Math.round(closedInMs)} ms after telling the worker`);
  } finally {
    killAll(procs);
    relay.close();
  }
});
