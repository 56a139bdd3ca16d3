import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers.js';

const ATOMIC_JS = fileURLToPath(new URL('../../src/shared/atomic-file.js', import.meta.url));

test('under a file-size limit a short write is E_IO naming the file, and the previous file stays whole', async () => {
  const dir = await tempDir();
  const file = join(dir, 'state.ckpt');
  await writeFile(file, 'previous');
  // 16 KiB files at most (bash counts ulimit -f in 1024-byte blocks): the 64 KiB write stops a quarter through.
  const script = `import(${JSON.stringify(ATOMIC_JS)}).then((m) => m.writeFileAtomic(${JSON.stringify(file)}, Buffer.alloc(65536, 7)))` +
    `.then(() => console.log('written'), (e) => { console.log(e.code + ' ' + e.message); process.exitCode = 3; })`;
  const r = spawnSync('bash', ['-c', `ulimit -f 16 && exec "${process.execPath}" -e "$0"`, script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 3, `${r.stdout}${r.stderr}`);
  assert.match(r.stdout, new RegExp(`^E_IO cannot write ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: file too large .*\\(EFBIG\\)`));
  assert.equal(await readFile(file, 'utf8'), 'previous');
  assert.deepEqual(await readdir(dir), ['state.ckpt'], 'no temporary file left');
});
