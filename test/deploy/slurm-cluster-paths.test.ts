import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers.js';

const CLUSTER = fileURLToPath(new URL('../../../scripts/slurm-cluster.sh', import.meta.url));

test('scripts/slurm-cluster.sh makes a relative TRAINER_SLURM_DIR absolute: its SLURM_CONF and munge socket work from any folder', async () => {
  const dir = await tempDir();
  // It printed SLURM_CONF=rel-slurm/slurm.conf: srun from elsewhere failed (munge socket not found), down found no PID files.
  const out = execFileSync('bash', [CLUSTER, 'env'], { cwd: dir, env: { ...process.env, TRAINER_SLURM_DIR: 'rel-slurm' }, encoding: 'utf8' });
  assert.equal(out, `SLURM_CONF=${join(realpathSync(dir), 'rel-slurm', 'slurm.conf')}\n`);
});
