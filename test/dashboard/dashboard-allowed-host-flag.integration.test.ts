import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import test from 'node:test';
import { tempDir } from '../helpers.js';
import { TOKEN, freePort, killAll, spawnMain, waitFor, wsConfig, type Spawned } from '../transports/ws/helpers.js';

function status(port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/metrics', agent: false, headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    })
      .on('error', reject)
      .end();
  });
}

test('trainer coordinator --allowed-host (repeatable) adds names its dashboard answers; others still get 403', async () => {
  const dir = await tempDir();
  const file = join(dir, 'config.yaml');
  await writeFile(file, JSON.stringify(wsConfig(dir, 'allowed')));
  const [port, statusPort] = [await freePort(), await freePort()];
  const procs: Spawned[] = [];
  try {
    const coordinator = spawnMain(
      ['coordinator', '--config', file, '--port', String(port), '--status-port', String(statusPort), '--allowed-host', 'Dash.Example.org', '--allowed-host', '.lab.example'],
      { TRAINER_TOKEN: TOKEN },
    );
    procs.push(coordinator);
    await waitFor('the dashboard line', () => coordinator.output().includes('dashboard on'));
    assert.equal(await status(statusPort, `dash.example.org:${statusPort}`), 200);
    assert.equal(await status(statusPort, 'gpu1.lab.example'), 200);
    assert.equal(await status(statusPort, 'evil.example'), 403);
    coordinator.child.kill('SIGINT');
    assert.equal(await coordinator.exited, 130, coordinator.output());
  } finally {
    killAll(procs);
  }
});

test('trainer train and trainer coordinator refuse an --allowed-host that is a URL, with E_USAGE, before training', async () => {
  const dir = await tempDir();
  const file = join(dir, 'config.yaml');
  await writeFile(file, JSON.stringify(wsConfig(dir, 'bad-host')));
  for (const command of ['train', 'coordinator']) {
    const p = spawnMain([command, '--config', file, '--status-port', '0', '--allowed-host', 'http://dash.example.org:9000'], { TRAINER_TOKEN: TOKEN });
    try {
      assert.equal(await p.exited, 2, p.output());
      assert.match(p.output(), /E_USAGE: --allowed-host must be a host name .*"http:\/\/dash\.example\.org:9000"/);
    } finally {
      killAll([p]);
    }
  }
});
