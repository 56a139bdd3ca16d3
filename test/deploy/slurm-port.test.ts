import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import { fileURLToPath } from 'node:url';

const SBATCH = fileURLToPath(new URL('../../../deploy/slurm/trainer.sbatch', import.meta.url));

test("trainer.sbatch's default port is below Linux's ephemeral ports for every job id: an outgoing connection's port could hold it, and the job failed E_CONFIG (exit 2, not retried)", () => {
  // The script's own line, run by bash for job ids over two whole cycles of any modulus it may use.
  const line = readFileSync(SBATCH, 'utf8').split('\n').find((l) => l.startsWith('PORT=${TRAINER_PORT:-'));
  assert.ok(line, 'trainer.sbatch sets PORT from TRAINER_PORT or the job id');
  const script = `for id in $(seq 0 7 70000) 4294967295; do SLURM_JOB_ID=$id; ${line}; echo "$id $PORT"; done`;
  const ports = execFileSync('bash', ['-c', script], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '' } })
    .trim()
    .split('\n')
    .map((l) => l.split(' ').map(Number) as [number, number]);
  assert.ok(ports.length > 10_000);
  // Linux's default ip_local_port_range starts at 32768; below 1024 needs privileges.
  const outside = ports.filter(([, port]) => !(port >= 1024 && port < 32768));
  assert.deepEqual(outside.slice(0, 3), [], `job id -> port outside [1024, 32768): ${outside.slice(0, 3).map((p) => p.join(' -> ')).join(', ')}`);
  // Still spread: jobs sharing a node get different ports.
  assert.ok(new Set(ports.map(([, port]) => port)).size > 5000);
});
