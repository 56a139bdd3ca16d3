import assert from 'node:assert/strict';
import { rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { exists } from '../../src/coordinator/run-folder.js';
import { tempDir } from '../helpers.js';

// A run's file that is there but cannot be reached counts as there, so that reading it says why:
// a checkpoint folder of mode 000 (as another user) made a stopped run "a finished model but no
// checkpoint: nothing to resume". Root reaches every folder, so a loop of links stands in here.
test('exists: false only for what is not there (ENOENT, ENOTDIR); a path that cannot be reached is there', async (t) => {
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'file');
  await writeFile(file, 'x');
  await symlink(join(dir, 'b'), join(dir, 'a'));
  await symlink(join(dir, 'a'), join(dir, 'b'));
  assert.equal(await exists(file), true);
  assert.equal(await exists(join(dir, 'missing')), false, 'ENOENT');
  assert.equal(await exists(join(file, 'below')), false, 'ENOTDIR: a file on the path');
  assert.equal(await exists(join(dir, 'a')), true, 'ELOOP: there, and reading it says a loop of links');
});
