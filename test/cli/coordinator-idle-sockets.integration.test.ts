import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import test from 'node:test';
import { loadCheckpoint } from '../../src/coordinator/checkpoint.js';
import { RunFolder } from '../../src/coordinator/run-folder.js';
import { MAIN_JS } from '../../src/transports/ws/launch.js';
import { modelSha, tempDir } from '../helpers.js';
import { TOKEN, freePort, killAll, referenceSha, spawnWorker, waitFor, wsConfig, type Spawned } from '../transports/ws/helpers.js';

const FILE_LIMIT = 160;
const SOCKETS = 500;

test('idle sockets far past the open-file limit are refused while the coordinator trains, checkpoints and ends bit-identical', async () => {
  const dir = await tempDir();
  const config = wsConfig(dir, 'flooded', { train: { epochs: 3 }, eval: { every: 1, batchSize: 50 }, cluster: { workers: 1, handshakeTimeoutMs: 1000 } });
  const expected = await referenceSha(config);
  const file = join(dir, 'config.yaml');
  await writeFile(file, JSON.stringify(config));
  const port = await freePort();
  // The coordinator under `ulimit -n 160`: 500 sockets that never send a byte would take every descriptor.
  const child = spawn('bash', ['-c', `ulimit -n ${FILE_LIMIT} && exec "$0" "$@"`, process.execPath, MAIN_JS, 'coordinator', '--config', file, '--port', String(port)], {
    env: { ...process.env, TRAINER_TOKEN: TOKEN },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let out = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (out += s));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const coordinator: Spawned = { child, output: () => out, exited };
  const procs: Spawned[] = [coordinator];
  let flooding = true;
  let opened = 0;
  const open = (i: number) => {
    if (!flooding) return;
    const s = connect({ host: '127.0.0.1', port, localAddress: `127.0.0.${10 + (i % 50)}` });
    opened++;
    s.on('error', () => {});
    s.on('close', () => setTimeout(() => open(i), 30).unref());
  };
  try {
    await waitFor('the coordinator to listen', () => out.includes('listening'));
    procs.push(spawnWorker(`127.0.0.1:${port}`, dir, 'a'));
    await waitFor('the worker', () => /ready; 1 worker$/m.test(out));
    for (let i = 0; i < SOCKETS; i++) open(i);
    const code = await exited;
    flooding = false;
    assert.equal(code, 0, out);
    assert.ok(opened > SOCKETS, `${opened} connections`);
    assert.match(out, /refused \d+ connection\(s\) since the last such line/);
    const runDir = join(config.run.dir, config.run.name);
    assert.equal((await loadCheckpoint(new RunFolder(runDir).checkpointFile)).epoch, 3);
    const sha = await modelSha(runDir);
    assert.equal(sha, expected);
  } finally {
    flooding = false;
    killAll(procs);
  }
});
