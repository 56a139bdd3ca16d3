import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { diskFault, fsFault, fsFaultText, ioError } from '../../src/shared/atomic-file.js';

test('a file operation\'s error is said in words with its code (messages said "EISDIR" or "ENOTDIR" alone)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'trainer-fs-fault-'));
  try {
    const file = join(dir, 'f');
    await writeFile(file, 'x');
    const caught = (p: Promise<unknown>) => p.then(() => assert.fail('no error'), (err: unknown) => err);
    // Real errors of the system, not made-up ones.
    assert.equal(fsFault(await caught(readFile(dir))), 'a folder, not a file (EISDIR)');
    assert.equal(fsFault(await caught(readFile(join(dir, 'missing')))), 'no such file or folder (ENOENT)');
    assert.equal(fsFault(await caught(readFile(join(file, 'below')))), 'a part of the path is a file, not a folder (ENOTDIR)');
    assert.equal(ioError(join(file, 'below'), await caught(writeFile(join(file, 'below'), 'x'))).message, `cannot write ${join(file, 'below')}: a part of the path is a file, not a folder (ENOTDIR)`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  // The disk's faults keep their words; diskFault still knows only them (callers tell a full disk from a bad path by it).
  assert.equal(fsFault({ code: 'ENOSPC' }), 'no space left on the device (ENOSPC)');
  assert.equal(diskFault({ code: 'ENOENT' }), null);
  // A code of no words here: the code; no code: the first line of the message.
  assert.equal(fsFault({ code: 'EWHATEVER' }), null);
  assert.equal(fsFaultText({ code: 'EWHATEVER' }), 'EWHATEVER');
  assert.equal(fsFaultText(new Error('first line\nsecond')), 'first line');
});
