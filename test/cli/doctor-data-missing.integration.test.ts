import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { trainer } from './cli-helpers.js';

// `doctor --train` with the config's data missing probed every backend (half a minute), then failed
// once per training row with the same E_DATA, each quoting train's flags.
test('doctor --train says once, before any probe, that the config\'s data is missing, naming the config keys, and exits non-zero', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'trainer-doctor-data-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const config = join(dir, 'nodata.yaml');
  const data = join(dir, 'none');
  await writeFile(config, `data: {source: cifar10, path: ${data}}\n`);
  const r = trainer(['doctor', '--train', '--config', config], dir);
  assert.equal(r.code, 2, r.stdout);
  assert.equal(r.stdout, '', 'nothing probed');
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0] as string, new RegExp(`^error E_DATA: no CIFAR-10 data in ${data}: `));
  assert.match(lines[0] as string, new RegExp(`\\(doctor takes no config keys: set data.path, data.download: true or data.source: synthetic in ${config}, or try them on trainer train first\\)$`));
  assert.deepEqual(await readdir(dir), ['nodata.yaml'], 'nothing written');
});
