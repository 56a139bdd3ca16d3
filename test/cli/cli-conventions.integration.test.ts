import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { trainer } from './cli-helpers.js';

/** Help text with its line wrapping undone. */
const flat = (s: string) => s.replace(/\s+/g, ' ');

const VERSION = (JSON.parse(readFileSync(fileURLToPath(new URL('../../../package.json', import.meta.url)), 'utf8')) as { version: string }).version;

test('the CLI keeps the usual conventions: --version, -c, did you mean, errors pointing at the command\'s help, help that lists what matters', () => {
  const v = trainer(['--version']);
  assert.equal(v.code, 0);
  assert.equal(v.stdout, `${VERSION}\n`);

  const typo = trainer(['trian', '--config', 'x.yaml']);
  assert.equal(typo.code, 2);
  assert.equal(typo.stderr, 'error E_USAGE: unknown command "trian"; did you mean train? (see trainer --help)\n');

  // -c is --config: the file it names is the one read.
  const c = trainer(['train', '-c', '/nonexistent/short.yaml']);
  assert.equal(c.code, 2);
  assert.match(c.stderr, /^error E_CONFIG: cannot read config file \/nonexistent\/short\.yaml/);

  const missing = trainer(['eval']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /\(see trainer eval --help\)\n$/);
  assert.equal(missing.stderr.match(/see trainer/g)?.length, 1, 'pointed at the help once');

  const help = trainer(['train', '--help']);
  assert.equal(help.code, 0);
  const train = flat(help.stdout);
  assert.match(train, /-c, --config/);
  assert.match(train, /--threads/);
  assert.match(train, /--procs/);
  assert.match(train, /Environment: TRAINER_TOKEN/);
  assert.match(train, /the "Config reference" section of README\.md/);
  assert.match(flat(trainer(['--help']).stdout), /trainer train train on this machine: in-process, --threads N worker threads or --procs N worker processes/);
  assert.match(flat(trainer(['worker', '--help']).stdout), /--cache-dir dataset cache \(default \$TRAINER_CACHE_DIR/);
  const predict = flat(trainer(['predict', '--help']).stdout);
  assert.match(predict, /images +PNG or JPEG files/);
  assert.doesNotMatch(predict, /\[default: \[\]\]/);
});
