import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { tempDir } from '../helpers.js';
import { TOKEN, freePort, killAll, spawnMain, waitFor, wsConfig, type Spawned } from '../transports/ws/helpers.js';

/**
 * Starts `trainer coordinator` on a config that leaves cluster.workers at its default (1) with 4
 * micro-batches, as the Slurm script and the Kubernetes manifest run it (they give the task count
 * as --min-workers), and reads what it says it waits for before any worker comes.
 */
async function waiting(dir: string, name: string, flags: string[]) {
  const config = wsConfig(dir, name) as unknown as { cluster: Record<string, unknown> };
  delete config.cluster.workers;
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, JSON.stringify(config));
  const port = await freePort();
  const procs: Spawned[] = [];
  try {
    const c = spawnMain(['coordinator', '--config', file, '--port', String(port), ...flags], { TRAINER_TOKEN: TOKEN });
    procs.push(c);
    await waitFor('waiting for workers', () => /waiting for \d+ worker\(s\)/.test(c.output()));
    const status = (await (await fetch(`http://127.0.0.1:${port}/status.json`)).json()) as { workersWanted: number };
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    c.child.kill('SIGINT');
    assert.equal(await c.exited, 130, c.output());
    return {
      waitsFor: Number(/waiting for (\d+) worker/.exec(c.output())?.[1]),
      wanted: status.workersWanted,
      metric: Number(/^trainer_workers_wanted (\d+)$/m.exec(metrics)?.[1]),
    };
  } finally {
    killAll(procs);
  }
}

test('coordinator --min-workers above cluster.workers is what the run is set up for: the dashboard and /metrics say it, and cluster.verify takes it (they said 1 of a Slurm job\'s 3, and verify was refused)', async () => {
  const dir = await tempDir();
  assert.deepEqual(await waiting(dir, 'three', ['--min-workers', '3']), { waitsFor: 3, wanted: 3, metric: 3 });
  assert.deepEqual(await waiting(dir, 'verified', ['--min-workers', '3', '--cluster.verify', '1']), { waitsFor: 3, wanted: 3, metric: 3 });
  // With verification on, 3 workers are what makes it start (it was E_CONFIG: cluster.workers 1).
  // More than the micro-batches: spares (cluster.workers stays within train.microBatches), still shown as waited for.
  assert.deepEqual(await waiting(dir, 'spares', ['--min-workers', '5']), { waitsFor: 5, wanted: 5, metric: 5 });
  // Starting with fewer, and a --cluster.workers flag, are as they were.
  assert.deepEqual(await waiting(dir, 'fewer', ['--min-workers', '1', '--cluster.workers', '3']), { waitsFor: 1, wanted: 3, metric: 3 });
  assert.deepEqual(await waiting(dir, 'flag', ['--min-workers', '3', '--cluster.workers', '2']), { waitsFor: 3, wanted: 3, metric: 3 });
});
