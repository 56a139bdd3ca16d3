import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { serve, tempDir } from '../data/fixtures.js';
import { CLI } from './cli-helpers.js';

// `doctor --train` with a config that downloads its data probed every backend (half a minute),
// then each training row tried the download itself: with no network, one E_DOWNLOAD per row.
test("doctor --train fetches the config's data once, before any probe: a failed download is one E_DOWNLOAD line, one request, nothing probed", { timeout: 60_000 }, async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const server = await serve((_req, res) => {
    res.writeHead(404);
    res.end('not here');
  });
  t.after(server.close);
  const config = join(dir, 'download.yaml');
  const url = server.url('/cifar-10-binary.tar.gz');
  await writeFile(config, `data: {source: cifar10, path: ${join(dir, 'data')}, download: true, url: "${url}"}\n`);
  const child = spawn(process.execPath, [CLI, 'doctor', '--train', '--config', config], { cwd: dir });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(stdout, '', 'nothing probed');
  assert.notEqual(code, 0);
  const lines = stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0] as string, /^error E_DOWNLOAD: .*HTTP 404/);
  assert.deepEqual(server.requests, ['/cifar-10-binary.tar.gz']);
});
