import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { tempDir } from '../helpers.js';
import { smallConfigFile, trainer } from './cli-helpers.js';

test('coordinator --status-port that is the workers\' port, or beside --no-dashboard, is E_USAGE before anything starts (the first failed after the data loaded, "in use" by its own dashboard; the second was ignored)', async () => {
  const dir = await tempDir();
  const file = await smallConfigFile(dir, 'ports', 1);
  const cases: [string[], string][] = [
    [['--port', '9517', '--status-port', '9517'], "--status-port 9517 is the workers' port (cluster.port): the dashboard is served there already; leave --status-port out, or give it another port"],
    // cluster.port's default, 9000.
    [['--status-port', '9000'], "--status-port 9000 is the workers' port (cluster.port): the dashboard is served there already; leave --status-port out, or give it another port"],
    [['--status-port', '9518', '--no-dashboard'], '--status-port 9518 asks for the dashboard that --no-dashboard turns off: give one of them'],
  ];
  for (const [flags, line] of cases) {
    const r = trainer(['coordinator', '--config', file, ...flags]);
    assert.equal(r.code, 2, `${flags.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr, `error E_USAGE: ${line}\n`);
    assert.equal(existsSync(join(dir, 'runs')), false, 'no run folder');
  }
});
