import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { tempDir } from '../helpers.js';
import { smallConfigFile, trainer } from './cli-helpers.js';

test('report --out under a regular file is E_USAGE naming that file, exit 2 (it was E_IO "a part of the path is a file", exit 1)', async (t) => {
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  assert.equal(trainer(['train', '-c', await smallConfigFile(dir, 'rep', 1)]).code, 0);
  const run = join(dir, 'runs', 'rep');
  const notes = join(dir, 'notes.txt');
  await writeFile(notes, 'not a folder\n');
  // A trailing slash asks for the default page's name inside it.
  const cases: readonly (readonly [string, string])[] = [
    [join(notes, 'page.html'), join(notes, 'page.html')],
    [join(notes, 'a', 'page.html'), join(notes, 'a', 'page.html')],
    [`${notes}/`, join(notes, 'report.html')],
  ];
  for (const [out, file] of cases) {
    const r = trainer(['report', run, '--out', out]);
    assert.equal(r.stderr, `error E_USAGE: --out ${file} cannot be written: ${notes} is a file, not a folder (name a page in a folder)\n`, out);
    assert.equal(r.code, 2, out);
  }
});
