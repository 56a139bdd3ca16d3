// A config file or run folder whose name starts with a dash, given after the option that takes it
// (`-c -hc.yaml`, `--run -dash`), was read as short flags: `-dash` as -d -a -s -h, so
// `trainer eval --run -dash --json` printed the help on stdout and exited 0, and `trainer train
// -c -hc.yaml` trained nothing, exit 0; `--run -xyz` was "unknown option -x; ...".
import assert from 'node:assert/strict';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'node:test';
import { tempDir } from '../helpers.js';
import { smallConfigFile, trainer } from './cli-helpers.js';

test('names that start with a dash, typed after the option that takes them, are its value; -h alone is still the help', async (t) => {
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  await rename(await smallConfigFile(dir, 'run', 1), join(dir, '-hc.yaml'));

  const trained = trainer(['train', '-c', '-hc.yaml', '--run.name', '-dash'], dir);
  assert.equal(trained.code, 0, trained.stderr);
  assert.match(trained.stdout, /model saved to .*\/runs\/-dash\/model/);

  const evaluated = trainer(['eval', '--run', '-dash', '--json'], join(dir, 'runs'));
  assert.equal(evaluated.code, 0, evaluated.stderr);
  assert.equal(JSON.parse(evaluated.stdout).run, '-dash');

  const missing = trainer(['eval', '--run', '-xyz'], join(dir, 'runs'));
  assert.match(missing.stderr, /^error E_\w+: .*-xyz/m);
  assert.doesNotMatch(missing.stderr, /unknown option/);
  assert.equal(missing.code, 2);

  const help = trainer(['eval', '--run', '-h'], dir);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^trainer eval \[RUN\]/);
});
