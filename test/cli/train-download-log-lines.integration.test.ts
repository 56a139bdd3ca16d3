import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import test from 'node:test';
import { serve, smallTarball, tempDir } from '../data/fixtures.js';
import { CLI } from './cli-helpers.js';

// With stderr a file or a pipe (a Slurm job's log), a run downloading its data wrote nothing until
// its data line: the download bar is drawn on a terminal only, and a long download read as a hang.
test('train --data.download with stderr not a terminal says in its log that it downloads (the URL without its password, the folder) and that it is done', { timeout: 120_000 }, async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const tarball = await smallTarball(dir);
  const server = await serve((_req, res) => {
    res.writeHead(200, { 'content-length': tarball.bytes.length });
    res.end(tarball.bytes);
  });
  t.after(server.close);
  const data = join(dir, 'data');
  const url = server.url('/cifar-10-binary.tar.gz').replace('http://', 'http://me:secret@');
  const args = ['train', '--data.source', 'cifar10', '--data.path', data, '--data.download', 'true', '--data.url', url, '--data.md5', tarball.md5];
  const child = spawn(process.execPath, [CLI, ...args, '--run.dir', join(dir, 'runs'), '--train.epochs', '1', '--backend', 'wasm'], {
    cwd: dir,
    env: { ...process.env, TRAINER_WARMUP_STEPS: '0' },
  });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  child.stdout.resume();
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0, stderr);
  const mb = (tarball.bytes.length / 1e6).toFixed(1);
  const lines = stderr.split('\n');
  const at = lines.indexOf(`downloading ${url.replace('me:secret', '***')} into ${data} (${mb} MB)`);
  assert.ok(at >= 0, stderr);
  assert.match(lines[at + 1] ?? '', new RegExp(`^downloaded ${mb.replace('.', '\\.')} MB in \\d+\\.\\d s$`));
  assert.ok(!stderr.includes('secret'), 'no password in the log');
  assert.deepEqual(server.requests, ['/cifar-10-binary.tar.gz']);
});
