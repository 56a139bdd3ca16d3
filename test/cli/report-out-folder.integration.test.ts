import assert from 'node:assert/strict';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { tempDir } from '../helpers.js';
import { smallConfigFile, trainer } from './cli-helpers.js';

test('report --out naming a folder writes the page in it, by the default page\'s name (it was E_IO EISDIR); a trailing slash makes the folder', async () => {
  const dir = await tempDir();
  assert.equal(trainer(['train', '-c', await smallConfigFile(dir, 'rep', 1)]).code, 0);
  const run = join(dir, 'runs', 'rep');
  const site = join(dir, 'site');
  await mkdir(site);

  const one = trainer(['report', run, '--out', site]);
  assert.equal(one.code, 0, one.stderr);
  assert.equal(one.stdout, `${join(site, 'report.html')}\n`);
  assert.match(await readFile(join(site, 'report.html'), 'utf8'), /^<!doctype html>/i);

  const both = trainer(['report', run, run, '--out', site]);
  assert.equal(both.code, 0, both.stderr);
  assert.equal(both.stdout, `${join(site, 'compare.html')}\n`);
  assert.match(await readFile(join(site, 'compare.html'), 'utf8'), /^<!doctype html>/i);

  const fresh = join(dir, 'new-folder');
  const made = trainer(['report', run, '--out', `${fresh}/`]);
  assert.equal(made.code, 0, made.stderr);
  assert.equal(made.stdout, `${join(fresh, 'report.html')}\n`);
  assert.ok((await stat(join(fresh, 'report.html'))).isFile());
});
