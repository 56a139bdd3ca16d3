import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { pidsWith, tempDir } from '../helpers.js';
import { referenceSha, spawnMain, waitFor, wsConfig } from '../transports/ws/helpers.js';

test('trainer train --procs 2 runs two local worker processes and matches the in-process weights; a config\'s cluster.tls is for remote workers (every such run failed: the local workers did not trust the certificate)', async () => {
  const dir = await tempDir();
  const config = wsConfig(dir, 'procs', { cluster: { transport: 'local', workers: 1 } });
  const expected = await referenceSha(config);
  const file = join(dir, 'config.yaml');
  // A self-signed certificate, as a shared config for remote workers would name.
  const [cert, key] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=trainer-test'], { stdio: 'ignore' });
  } catch {
    // No openssl: the files are not read (the local workers do without them).
    await writeFile(cert, '-----BEGIN CERTIFICATE-----\n');
    await writeFile(key, '-----BEGIN PRIVATE KEY-----\n');
  }
  await writeFile(file, JSON.stringify({ ...config, cluster: { ...config.cluster, tls: { cert, key } } }));
  const run = spawnMain(['train', '--config', file, '--procs', '2'], { TRAINER_CACHE_DIR: join(dir, 'cache') });
  assert.equal(await run.exited, 0, run.output());
  const out = run.output();
  assert.match(out, /cluster\.tls is for workers on other machines: the local worker processes connect over 127\.0\.0\.1 without it/);
  assert.match(out, /listening on ws:\/\/127\.0\.0\.1:\d+/);
  assert.deepEqual(out.match(/ready; \d workers?$/gm), ['ready; 1 worker', 'ready; 2 workers']);
  // Workers told the run is done exit 0, and are not started again.
  assert.doesNotMatch(out, /starting it again/);
  assert.equal(/weights sha256 ([0-9a-f]{64})/.exec(out)?.[1], expected);
  // Each worker's own line about leaving (relayed from its stderr) before the pool's line saying it
  // is gone, as they happened: the "gone" lines came first. It leaves because the run is done, not
  // because the pool's SIGTERM came first: some runs said "leaving: interrupted".
  const lines = out.split('\n');
  for (const i of [0, 1]) {
    assert.deepEqual(lines.filter((l) => l.startsWith(`[worker ${i}] leaving: `)), [`[worker ${i}] leaving: coordinator done`], out);
    const leaving = lines.findIndex((l) => l.startsWith(`[worker ${i}] leaving: `));
    const gone = lines.findIndex((l) => new RegExp(`^worker \\S+ \\(proc${i}\\) gone \\(4000 coordinator done\\); \\d workers? left$`).test(l));
    assert.ok(leaving >= 0 && gone > leaving, `worker ${i}: its leaving line is line ${leaving}, its gone line ${gone}:\n${out}`);
  }
});


test('trainer train --procs 2 whose worker processes are all SIGKILLed mid-run starts them again and ends bit-identical (it waited out noWorkerTimeoutMs, then failed)', { skip: !existsSync('/proc/self') && 'no /proc here' }, async () => {
  const dir = await tempDir();
  const config = wsConfig(dir, 'respawn', { train: { epochs: 4 }, cluster: { transport: 'local', workers: 1 } });
  const expected = await referenceSha(config);
  const file = join(dir, 'config.yaml');
  await writeFile(file, JSON.stringify(config));
  const run = spawnMain(['train', '--config', file, '--procs', '2'], { TRAINER_CACHE_DIR: join(dir, 'cache') });
  try {
    let url = '';
    await waitFor('the first epoch', () => {
      url = /listening on (ws:\/\/[\d.:]+);/.exec(run.output())?.[1] ?? '';
      return url !== '' && /Epoch 1,/.test(run.output());
    });
    const workers = pidsWith(`--connect ${url}`);
    assert.equal(workers.length, 2, run.output());
    for (const pid of workers) process.kill(pid, 'SIGKILL');
    assert.equal(await run.exited, 0, run.output());
    const out = run.output();
    assert.match(out, /worker process 0 exited \(SIGKILL\); starting it again \(1 of 3\)/);
    assert.match(out, /worker process 1 exited \(SIGKILL\); starting it again \(1 of 3\)/);
    assert.equal(/weights sha256 ([0-9a-f]{64})/.exec(out)?.[1], expected);
  } finally {
    run.child.kill('SIGKILL');
  }
});

test('trainer train never stores cluster.token (config.json, the checkpoint): a local run uses none, --procs makes its own', async () => {
  const { readFile: read } = await import('node:fs/promises');
  const { smallConfigFile, trainer } = await import('./cli-helpers.js');
  const dir = await tempDir();
  const secret = 'SECRETTOKEN-abcdef-0123456789-XYZ';
  const r = trainer(['train', '--config', await smallConfigFile(dir, 'tok', 1), '--procs', '2', '--cluster.token', secret]);
  assert.equal(r.code, 0, r.stderr);
  for (const file of ['config.json', 'checkpoint/state.ckpt']) {
    assert.ok(!(await read(join(dir, 'runs', 'tok', file))).includes(secret), `${file} holds the token`);
  }
});
