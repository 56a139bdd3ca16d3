import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { tempDir } from '../helpers.js';
import { TOKEN, freePort, killAll, spawnMain, spawnWorker, waitFor, wsConfig, type Spawned } from '../transports/ws/helpers.js';

test('with --status-port a real coordinator serves /metrics and /healthz there (no browser), read-only, and its workers\' port only /healthz', async () => {
  const dir = await tempDir();
  const config = wsConfig(dir, 'metrics', { train: { epochs: 50 } });
  const file = join(dir, 'config.yaml');
  await writeFile(file, JSON.stringify(config));
  const [port, statusPort] = [await freePort(), await freePort()];
  const status = `http://127.0.0.1:${statusPort}`;
  const procs: Spawned[] = [];
  try {
    const coordinator = spawnMain(
      ['coordinator', '--config', file, '--port', String(port), '--status-port', String(statusPort), '--min-workers', '1'],
      { TRAINER_TOKEN: TOKEN },
    );
    procs.push(coordinator);
    await waitFor('the coordinator to listen', () => coordinator.output().includes('listening'));
    assert.match(coordinator.output(), new RegExp(`dashboard on ${status}/`));
    assert.equal(await (await fetch(`${status}/healthz`)).text(), 'ok\n');
    // The workers' port keeps /healthz (the Kubernetes readiness probe asks it there; it was 426), and no more.
    assert.equal(await (await fetch(`http://127.0.0.1:${port}/healthz`)).text(), 'ok\n');
    assert.equal((await fetch(`http://127.0.0.1:${port}/`)).status, 426, 'the workers\' port serves no dashboard then');

    procs.push(spawnWorker(`127.0.0.1:${port}`, dir, 'counted'));
    let text = '';
    await waitFor('steps in /metrics', async () => {
      text = await (await fetch(`${status}/metrics`)).text();
      return /^trainer_steps_total [1-9]\d*$/m.test(text);
    });
    const res = await fetch(`${status}/metrics`);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    text = await res.text();
    assert.match(text, /^# TYPE trainer_steps_total counter$/m);
    assert.match(text, /^trainer_workers 1$/m);
    assert.match(text, /^trainer_worker_micro_batches_total\{worker="w\d+-[0-9a-f]{4} counted"\} [1-9]\d*$/m);
    assert.match(text, /^trainer_worker_last_heard_seconds\{worker="w\d+-[0-9a-f]{4} counted"\} \d+(\.\d+)?$/m);
    assert.ok(!text.includes(TOKEN));

    // Read-only: anything but GET/HEAD of its own paths changes nothing and is refused (405 naming
    // the methods it takes on its own paths, 404 elsewhere).
    const before = Number(/^trainer_steps_total (\d+)$/m.exec(text)?.[1]);
    for (const [method, path, code] of [['POST', '/', 405], ['PUT', '/status.json', 405], ['DELETE', '/metrics', 405], ['POST', '/nothing', 404], ['GET', '/../config.json', 404]] as const) {
      const refused = await fetch(`${status}${path}`, { method });
      assert.equal(refused.status, code, `${method} ${path}`);
      if (code === 405) assert.equal(refused.headers.get('allow'), 'GET, HEAD');
    }
    const head = await fetch(`${status}/status.json`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    const after = JSON.parse(await (await fetch(`${status}/status.json`)).text()) as { step: number; workersAlive: number };
    assert.ok(after.step >= before && after.workersAlive === 1, 'training carried on');

    coordinator.child.kill('SIGINT');
    assert.equal(await coordinator.exited, 130, coordinator.output());
    assert.match(coordinator.output(), /checkpoint written, continue with --resume/);
  } finally {
    killAll(procs);
  }
});
