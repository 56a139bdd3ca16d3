import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { expectFailures, smallConfigFile } from './cli-helpers.js';

test('an option that takes one value, given twice, is a usage error naming it; nothing runs', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'trainer-twice-'));
  try {
    const config = await smallConfigFile(dir);
    const cases: [string[], string][] = [
      // Was E_INTERNAL: The "path" argument must be of type string. Received an instance of Array.
      [['eval', '--run', 'a', '--run', 'b'], 'error E_USAGE: --run given more than once (see trainer eval --help)\n'],
      // Was "cannot read config file a.yaml,b.yaml".
      [['train', '-c', config, '-c', config], 'error E_USAGE: --config given more than once (see trainer train --help)\n'],
      [['report', 'x', '--out', 'a.html', '--out', 'b.html'], 'error E_USAGE: --out given more than once (see trainer report --help)\n'],
      [['train', '-c', config, '--threads', '2', '--threads', '3'], 'error E_USAGE: --threads given more than once (see trainer train --help)\n'],
      // The last one won, silently.
      [['train', '-c', config, '--train.lr', '0.1', '--train.lr=0.2'], 'error E_CONFIG: --train.lr given more than once\n'],
      // The positional won, silently: runs/a was not evaluated.
      [['eval', '--run', 'runs/a', 'runs/b'], 'error E_USAGE: the run folder given twice, "runs/a" (--run) and "runs/b": give it once, as RUN or --run RUN\n'],
      // Were "unknown option --runs/b" and "unknown option --extra".
      [['eval', 'runs/a', 'runs/b'], 'error E_USAGE: unexpected argument "runs/b" (see trainer eval --help)\n'],
      [['doctor', 'extra'], 'error E_USAGE: unexpected argument "extra" (see trainer doctor --help)\n'],
      // A flag named as the command: it was "unexpected argument", as if the command word were one.
      [['train', '--train', '5'], 'error E_USAGE: unknown option --train (see trainer train --help)\n'],
      [['doctor', '--doctor'], 'error E_USAGE: unknown option --doctor (see trainer doctor --help)\n'],
      [['doctor', 'doctor'], 'error E_USAGE: unexpected argument "doctor" (see trainer doctor --help)\n'],
      // The shorthand set the key over the key: 1 thread, silently.
      [['train', '--threads', '1', '--cluster.workers', '3'], 'error E_USAGE: --threads 1 and --cluster.workers 3 both say how many workers: give one of them\n'],
    ];
    expectFailures(cases);
    assert.equal(existsSync(join(dir, 'runs')), false, 'no run was started');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a text option typed empty or without its value is a usage error naming it; nothing runs', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'trainer-empty-'));
  try {
    const config = await smallConfigFile(dir);
    const usage = (flag: string, command: string) => `error E_USAGE: ${flag} needs a value (see trainer ${command} --help)\n`;
    const cases: [string[], string, number][] = [
      // Was "cannot read config file : ENOENT".
      [['train', '--config', ''], usage('--config', 'train'), 2],
      [['train', '-c', config, '--config'], usage('--config', 'train'), 2],
      // Its one-letter alias too (it was "cannot read config file : ENOENT" still).
      [['train', '-c'], usage('-c', 'train'), 2],
      [['train', '-c', ''], usage('-c', 'train'), 2],
      [['coordinator', '-c'], usage('-c', 'coordinator'), 2],
      // Was "--trace : is a folder".
      [['train', '-c', config, '--trace='], usage('--trace', 'train'), 2],
      // Was E_IO "cannot write <cwd>: EISDIR".
      [['report', join(dir, 'runs', 'run'), '--out', ''], usage('--out', 'report'), 2],
      // A repeatable option without a value counted as not given: the run went on.
      [['train', '-c', config, '--allowed-host'], usage('--allowed-host', 'train'), 2],
      [['train', '-c', config, '--allowed-host', 'a.example', '--allowed-host', ''], usage('--allowed-host', 'train'), 2],
      [['worker', '--connect', ''], usage('--connect', 'worker'), 2],
      [['eval', '--run', ''], usage('--run', 'eval'), 2],
      // A config key typed empty read as YAML null: "run.name must be a string, got null".
      [['train', '-c', config, '--run.name', ''], 'error E_CONFIG: --run.name needs a value\n', 2],
    ];
    expectFailures(cases);
    assert.equal(existsSync(join(dir, 'runs')), false, 'no run was started');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
