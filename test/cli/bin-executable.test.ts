import assert from 'node:assert/strict';
import { constants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import test from 'node:test';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

test("the package's trainer bin is built executable with a node shebang, so `npx trainer` runs in a fresh clone", async () => {
  const pkg = JSON.parse(await readFile(`${ROOT}package.json`, 'utf8')) as { bin: { trainer: string } };
  const bin = `${ROOT}${pkg.bin.trainer}`;
  await access(bin, constants.X_OK);
  assert.match(await readFile(bin, 'utf8'), /^#!\/usr\/bin\/env node\n/);
});
