import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { PNG } from 'pngjs';
import { exportLayersModel } from '../../src/coordinator/export.js';
import { getModel, initParams } from '../../src/worker/model.js';
import { tempDir } from '../helpers.js';
import { trainer } from './cli-helpers.js';

test('words after -- are files (and runs) as typed, a lone "-" is refused, and a command without a list takes none: predict dropped them, exit 0', async () => {
  const dir = await tempDir();
  const model = getModel('net');
  const modelDir = join(dir, 'model');
  await exportLayersModel(modelDir, model, initParams(model, 1), { normalization: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] }, classNames: ['airplane', 'ship'] });
  const png = new PNG({ width: 4, height: 4 });
  png.data.fill(200);
  for (const name of ['a.png', '-x.png', '--train.lr.png']) await writeFile(join(dir, name), PNG.sync.write(png));

  const files = (r: { stdout: string }) => r.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { file: string }).file);
  const both = trainer(['predict', '--run', modelDir, '--json', 'a.png', '--', '-x.png', '--train.lr.png'], dir);
  assert.equal(both.code, 0, both.stderr);
  assert.deepEqual(files(both), ['a.png', '-x.png', '--train.lr.png']);
  const only = trainer(['predict', '--run', modelDir, '--json', '--', '-x.png'], dir);
  assert.equal(only.code, 0, only.stderr); // it was "Not enough non-option arguments"
  assert.deepEqual(files(only), ['-x.png']);

  const dash = trainer(['predict', '--run', modelDir, 'a.png', '-'], dir);
  assert.deepEqual([dash.code, dash.stdout, dash.stderr], [2, '', 'error E_USAGE: "-" (standard input or output) is not read or written by trainer predict: name a file (see trainer predict --help)\n']);
  const report = trainer(['report', '--', join(dir, 'no-such-run')], dir);
  assert.deepEqual([report.code, report.stderr], [2, `error E_USAGE: ${join(dir, 'no-such-run')} is not a run folder: no such file or folder (ENOENT)\n`]);
  const doctor = trainer(['doctor', '--', 'x'], dir);
  assert.deepEqual([doctor.code, doctor.stderr], [2, 'error E_USAGE: unexpected argument "x" after -- (see trainer doctor --help)\n']);
});
