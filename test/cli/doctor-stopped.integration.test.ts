import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { pidsWith, tempDir } from '../helpers.js';
import { spawnMain, waitFor } from '../transports/ws/helpers.js';

test('doctor --train stopped with SIGTERM ends its training child and removes its folder, exit 143 (the child trained on, orphaned, in a folder left behind)', { skip: !existsSync('/proc/self') && 'no /proc here' }, async () => {
  const dir = await tempDir();
  // An epoch long enough to be caught training.
  const config = join(dir, 'c.yaml');
  await writeFile(config, `data: {source: synthetic, synthetic: {trainSize: 20000, valSize: 64, seed: 1}}\nbackend: wasm\n`);
  const doctor = spawnMain(['doctor', '--train', '--config', config]);
  let folder = '';
  try {
    await waitFor('a training child', () => {
      const [pid] = pidsWith(`${config} --backend`);
      if (pid === undefined) return false;
      folder = /--run\.dir (\S+)/.exec(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' '))?.[1] ?? '';
      return folder !== '';
    }, 60_000);
    assert.ok(existsSync(folder), folder);
    doctor.child.kill('SIGTERM');
    assert.equal(await doctor.exited, 143, doctor.output());
    assert.match(doctor.output(), /doctor: stopped \(SIGTERM\); its training runs removed\n/);
    await waitFor('the child gone', () => pidsWith(`--run.dir ${folder}`).length === 0, 10_000);
    assert.equal(existsSync(folder), false, `${folder} left behind`);
  } finally {
    doctor.child.kill('SIGKILL');
    for (const p of folder ? pidsWith(`--run.dir ${folder}`) : []) process.kill(p, 'SIGKILL');
  }
});
