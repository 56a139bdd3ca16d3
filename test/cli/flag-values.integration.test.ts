import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { expectFailures, smallConfigFile, trainer } from './cli-helpers.js';

test('a flag typed with a value other than true or false is a usage error naming it; --resume=1 does not start a new run', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'trainer-flag-values-'));
  try {
    const config = await smallConfigFile(dir, 'run', 1);
    const first = trainer(['train', '-c', config, '--quiet']);
    assert.equal(first.code, 0, first.stderr);
    const usage = (flag: string, typed: string, command: string) =>
      `error E_USAGE: --${flag} is given alone, or as --${flag}=true or --${flag}=false; got "${typed}" (see trainer ${command} --help)\n`;
    expectFailures([
      // Was a new run in runs/run-2, exit 0, its note saying "--resume continues it".
      [['train', '-c', config, '--resume=1', '--train.epochs', '2'], usage('resume', '--resume=1', 'train')],
      [['train', '-c', config, '--auto-resume=yes'], usage('auto-resume', '--auto-resume=yes', 'train')],
      [['train', '-c', config, '--autoResume=on'], usage('auto-resume', '--autoResume=on', 'train')],
      // Was the dashboard off.
      [['coordinator', '-c', config, '--dashboard=1'], usage('dashboard', '--dashboard=1', 'coordinator')],
      // Were the text answer, exit 0.
      [['eval', join(dir, 'runs', 'run'), '--json=1'], usage('json', '--json=1', 'eval')],
      [['report', join(dir, 'runs', 'run'), '--quiet=TRUE'], usage('quiet', '--quiet=TRUE', 'report')],
    ]);
    assert.deepEqual(await readdir(join(dir, 'runs')), ['run'], 'no run-2');
    assert.equal(existsSync(join(dir, 'runs', 'run', 'report.html')), false, 'no report written');
    // true and false as typed still work: the run resumes and trains its second epoch.
    const resumed = trainer(['train', '-c', config, '--resume=true', '--train.epochs', '2', '--quiet=false']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, /Epoch 2,/);
    assert.deepEqual(await readdir(join(dir, 'runs')), ['run']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
