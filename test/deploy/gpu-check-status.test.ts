import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import test from 'node:test';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../../../scripts/gpu-check.sh', import.meta.url));

test("scripts/gpu-check.sh exits with trainer doctor --train's status (it always exited 0, also where a backend could not train)", () => {
  const r = spawnSync('bash', [SCRIPT, '--config', '/nonexistent/gpu-check.yaml'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr, 'error E_USAGE: --config /nonexistent/gpu-check.yaml: cannot read it: no such file or folder (ENOENT)\n');
});
