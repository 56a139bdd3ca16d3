import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { tempDir } from '../helpers.js';
import { smallConfigFile, trainer } from './cli-helpers.js';

test('report --out never replaces a file that is not an HTML page (it replaced the run\'s checkpoint); it replaces an earlier report', async () => {
  const dir = await tempDir();
  assert.equal(trainer(['train', '-c', await smallConfigFile(dir, 'rep', 1)]).code, 0);
  const run = join(dir, 'runs', 'rep');
  const checkpoint = join(run, 'checkpoint', 'state.ckpt');
  const before = await readFile(checkpoint);
  const r = trainer(['report', run, '--out', checkpoint]);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, `error E_USAGE: --out ${checkpoint} exists and is not an HTML page: a report does not replace it (name another file)\n`);
  assert.deepEqual(await readFile(checkpoint), before);
  const page = join(dir, 'page.html');
  for (let i = 0; i < 2; i++) assert.equal(trainer(['report', run, '--out', page]).code, 0);
  assert.match(await readFile(page, 'utf8'), /^<!doctype html>/);
});
