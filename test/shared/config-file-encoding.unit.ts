import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { readConfigFile } from '../../src/shared/config-file.js';
import { isTrainerError } from '../../src/shared/errors.js';

test('a config file in UTF-16 (Windows PowerShell\'s `>`) or with NUL bytes says so: it was "must hold a mapping of sections"', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'trainer-encoding-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const yaml = 'train:\n  epochs: 2\n';
  const file = (name: string) => join(dir, name);
  await writeFile(file('le.yaml'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(yaml, 'utf16le')]));
  await writeFile(file('be.yaml'), Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(yaml, 'utf16le').swap16()]));
  await writeFile(file('nul.yaml'), Buffer.from('train:\n  epochs: 2\0\n'));
  for (const name of ['le.yaml', 'be.yaml']) {
    await assert.rejects(readConfigFile(file(name)), (err) => isTrainerError(err, 'E_CONFIG') && err.message === `config file ${file(name)} is UTF-16 text: save it as UTF-8`);
  }
  await assert.rejects(
    readConfigFile(file('nul.yaml')),
    (err) => isTrainerError(err, 'E_CONFIG') && err.message === `config file ${file('nul.yaml')} is not a text file (it holds NUL bytes): a YAML file is UTF-8 text`,
  );
  // UTF-8, with or without its byte order mark, is read as it was.
  await writeFile(file('utf8.yaml'), yaml);
  await writeFile(file('bom.yaml'), `\ufeff${yaml}`);
  assert.deepEqual(await readConfigFile(file('utf8.yaml')), { train: { epochs: 2 } });
  assert.deepEqual(await readConfigFile(file('bom.yaml')), { train: { epochs: 2 } });
});
