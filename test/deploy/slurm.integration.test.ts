/**
 * deploy/slurm/trainer.sbatch on a real Slurm: scripts/slurm-cluster.sh runs
 * slurmctld and three slurmd (nodes n1..n3) on this machine, all on 127.0.0.1.
 * Skips, and says why, where Slurm is not installed (.ci/run installs it).
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { pidsWith, tempDir } from '../helpers.js';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = join(REPO, 'dist/src/cli/main.js');
const SBATCH = join(REPO, 'deploy/slurm/trainer.sbatch');
const CLUSTER = join(REPO, 'scripts/slurm-cluster.sh');
// A state folder and ports of the test's own, apart from a cluster someone started by hand.
const STATE = join(tmpdir(), 'trainer-slurm-test');
const SLURM_ENV = { TRAINER_SLURM_DIR: STATE, TRAINER_SLURM_PORT: '16827' };
const SLURM_CONF = join(STATE, 'slurm.conf');
const JOB_LIMIT_MS = 90_000;
const DONE = /^(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|PREEMPTED|BOOT_FAIL|DEADLINE)$/;

const missing = ['sbatch', 'srun', 'scontrol', 'slurmctld', 'slurmd', 'munged'].filter(
  (c) => spawnSync('sh', ['-c', `command -v ${c}`]).status !== 0,
);
const skip = missing.length > 0 ? `Slurm is not installed (no ${missing.join(', ')}): apt-get install slurmctld slurmd slurm-client munge` : false;
if (skip) process.stderr.write(`skipping the Slurm tests: ${skip}\n`);

let dir = '';
const jobs: string[] = [];

before(async () => {
  if (skip) return;
  dir = await tempDir('trainer-slurm-');
  const t0 = performance.now();
  const up = await run(CLUSTER, ['up'], { env: { ...process.env, ...SLURM_ENV }, timeout: 60_000 });
  process.stderr.write(`${up.stdout.trim()} (${Math.round(performance.now() - t0)} ms)\n`);
});

after(async () => {
  if (skip) return;
  for (const id of jobs) spawnSync('scancel', [id], { env: slurmEnv() });
  await run(CLUSTER, ['down'], { env: { ...process.env, ...SLURM_ENV }, timeout: 60_000 });
});

function slurmEnv(over: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  // No warm-up (3 s a worker, at every job start): nothing here measures speed, and the suite's time is short.
  const env: NodeJS.ProcessEnv = { ...process.env, SLURM_CONF, TRAINER_CACHE_DIR: join(dir, 'cache'), TRAINER_WARMUP_STEPS: '0', ...over };
  for (const [k, v] of Object.entries(over)) if (v === undefined) delete env[k];
  return env;
}

/** Flags of a run of a few seconds on synthetic data under the test's folder. */
function runFlags(name: string, epochs: number, limitTrain: number): string[] {
  return [
    '--config', 'configs/demo.yaml',
    '--train.epochs', String(epochs),
    '--data.limitTrain', String(limitTrain),
    '--data.limitVal', '64',
    '--data.synthetic.trainSize', '1200',
    '--data.synthetic.valSize', '200',
    '--data.path', join(dir, 'data'),
    '--run.dir', join(dir, 'runs'),
    '--run.name', name,
  ];
}

/** A process's command line, or null when it has ended meanwhile. */
function cmdlineOf(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return null;
  }
}

const shaOf = (out: string) => /model saved to .* \(weights sha256 ([0-9a-f]{64})\)/.exec(out)?.[1];

const references = new Map<string, Promise<string>>();

/** The weights sha256 of `trainer train --threads 1` on these flags (each computed once, also when tests ask at once). */
function referenceSha(flags: string[]): Promise<string> {
  const key = JSON.stringify(flags);
  let sha = references.get(key);
  if (!sha) {
    sha = run(process.execPath, [CLI, 'train', ...flags, '--threads', '1'], { cwd: REPO, timeout: 120_000 }).then(({ stdout, stderr }) => {
      const found = shaOf(stdout); // results go to stdout
      assert.ok(found, stdout + stderr);
      return found;
    });
    sha.catch(() => {}); // awaited by the tests; they start their jobs meanwhile
    references.set(key, sha);
  }
  return sha;
}

interface Job {
  id: string;
  out: string;
}

async function submit(sbatchArgs: string[], trainerArgs: string[], env: NodeJS.ProcessEnv): Promise<Job> {
  const { stdout } = await run('sbatch', ['--parsable', '--output', join(dir, 'job-%j.out'), ...sbatchArgs, SBATCH, ...trainerArgs], {
    cwd: REPO,
    env,
    timeout: 30_000,
  });
  const id = stdout.trim().split(';')[0] ?? '';
  assert.match(id, /^\d+$/);
  jobs.push(id);
  return { id, out: join(dir, `job-${id}.out`) };
}

const output = (job: Job) => readFile(job.out, 'utf8').catch(() => '');

async function finished(job: Job): Promise<{ state: string; exitCode: number; output: string }> {
  const deadline = performance.now() + JOB_LIMIT_MS;
  for (;;) {
    const { stdout } = await run('scontrol', ['-o', 'show', 'job', job.id], { env: slurmEnv(), timeout: 10_000 });
    const state = /JobState=(\S+)/.exec(stdout)?.[1] ?? '';
    if (DONE.test(state)) {
      const exitCode = Number(/ExitCode=(\d+):/.exec(stdout)?.[1] ?? -1);
      return { state, exitCode, output: await output(job) };
    }
    if (performance.now() > deadline) {
      spawnSync('scancel', [job.id], { env: slurmEnv() });
      assert.fail(`job ${job.id} still ${state} after ${JOB_LIMIT_MS} ms:\n${await output(job)}`);
    }
    // Each look is an scontrol process and an RPC to slurmctld: 5 a second, over 3 jobs at a time, cost CPU the jobs want.
    await new Promise((r) => setTimeout(r, 500));
  }
}


/**
 * `scontrol requeue`, what a preemption in a REQUEUE partition does (SIGTERM to the job, then the
 * same job again), without most of Slurm's 120 s wait before a requeued job may start.
 */
async function requeueNow(job: Job): Promise<void> {
  await run('scontrol', ['requeue', job.id], { env: slurmEnv(), timeout: 10_000 });
  const deadline = performance.now() + JOB_LIMIT_MS;
  for (;;) {
    const { stdout } = await run('scontrol', ['-o', 'show', 'job', job.id], { env: slurmEnv(), timeout: 10_000 });
    if (/JobState=PENDING/.test(stdout)) break;
    assert.ok(performance.now() < deadline, `job ${job.id} not pending after its requeue: ${stdout}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  // Not at once: a slurmd that has just killed the job refuses to launch it again ("Job N already
  // killed, do not launch batch job") and the job FAILED; a few seconds is what Slurm's delay is for.
  await run('scontrol', ['update', `JobId=${job.id}`, 'StartTime=now+5'], { env: slurmEnv(), timeout: 10_000 });
}

// The jobs run side by side (the test cluster has room for several; Slurm queues those that do not
// fit): most of a job's time is Slurm's own start and polling, not CPU.
describe('trainer.sbatch on a real Slurm', { concurrency: 3 }, () => {
  test('sbatch on three nodes trains to the same weights sha256 as trainer train --threads 1', { skip }, async () => {
    const flags = runFlags('parity', 1, 256);
    const expected = referenceSha(runFlags('parity-ref', 1, 256));
    const job = await submit(['--nodes', '3', '--ntasks-per-node', '1'], flags, slurmEnv({ TRAINER_TOKEN: undefined }));
    const r = await finished(job);
    assert.equal(r.state, 'COMPLETED', r.output);
    assert.equal(r.exitCode, 0);
    assert.equal(shaOf(r.output), await expected, r.output);
    // The coordinator ran on the first node, at its NodeAddr, on a port derived from the job id.
    const port = 20000 + (Number(job.id) % 12000);
    assert.match(r.output, new RegExp(`coordinator on n1 listening on 127\\.0\\.0\\.1:${port}, workers dial 127\\.0\\.0\\.1:${port}`));
    assert.match(r.output, /token: a fresh one for this job/);
    assert.doesNotMatch(r.output, /\b[0-9a-f]{48}\b/, 'the generated token is never printed');
    // One worker per node, no GPU asked for: no --gpu; each left when the coordinator was done.
    for (const [task, node] of [['0', 'n1'], ['1', 'n2'], ['2', 'n3']]) {
      assert.match(r.output, new RegExp(`task ${task} on ${node}: CUDA_VISIBLE_DEVICES=\\(unset\\) -> worker \\(no --gpu\\)`));
      assert.match(r.output, new RegExp(`worker \\S+ \\(job${job.id}\\.task${task}@${node}\\) gone \\(4000 coordinator done\\)`));
    }
    assert.equal(r.output.match(/leaving: coordinator done/g)?.length, 3);
    assert.doesNotMatch(r.output, /trainer\.sbatch: error/);
  });

  test('a worker task SIGKILLed mid-run loses its micro-batches to the others and the sha256 stays the same', { skip }, async () => {
    // Six epochs: the kill lands once epoch 1's line shows, and the run must go on after it; with
    // three, on a loaded machine the kill came after epoch 2's line, and nothing was left to see.
    const flags = runFlags('killed', 6, 1024);
    const expected = referenceSha(runFlags('ref-6x1024', 6, 1024));
    const token = 'test-token-that-must-stay-out-of-output-and-argv';
    const job = await submit(['--nodes', '3', '--ntasks-per-node', '1'], flags, slurmEnv({ TRAINER_TOKEN: token }));
    const victim = `job${job.id}.task1@n2`;
    const deadline = performance.now() + JOB_LIMIT_MS;
    let killed = 0;
    while (killed === 0 && performance.now() < deadline) {
      if (/Epoch 1,/.test(await output(job))) {
        // Neither the coordinator's nor any worker's command line holds the token.
        // This job's only: the other jobs run side by side, and theirs may end meanwhile.
        for (const pid of [...pidsWith(`job${job.id}.task`), ...pidsWith('--run.name killed')]) {
          assert.ok(!(cmdlineOf(pid) ?? '').includes(token), `pid ${pid} has the token in argv`);
        }
        const [pid] = pidsWith(victim).filter((p) => (cmdlineOf(p) ?? '').includes('worker'));
        assert.ok(pid, `no process named ${victim}:\n${await output(job)}`);
        process.kill(pid, 'SIGKILL');
        killed = pid;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(killed > 0, 'the run reached the end of epoch 1');
    const r = await finished(job);
    assert.equal(r.state, 'COMPLETED', r.output);
    assert.equal(r.exitCode, 0, 'the job succeeds: the coordinator finished');
    assert.equal(shaOf(r.output), await expected, r.output);
    const gone = r.output.search(new RegExp(`\\(${victim.replace(/\./g, '\\.')}\\) gone`));
    assert.ok(gone > 0, `the coordinator noticed ${victim} gone:\n${r.output}`);
    assert.match(r.output.slice(gone), /Epoch [2-6],/, 'training went on after the kill');
    assert.match(r.output, /task 1 on n2: worker exited with status 137/);
    assert.ok(!r.output.includes(token), 'the token is not in the job output');
  });

  test('near the time limit the coordinator checkpoints, and a job submitted with --resume ends with the same sha256', { skip }, async () => {
    // 10 epochs: the signal must land mid-run. With 3, under a loaded CI the run ended in the 2.5 s
    // between its first epoch line and the USR1 reaching the coordinator (exit 0, not 130).
    const flags = runFlags('resumed', 10, 1024);
    const expected = referenceSha(runFlags('ref-10x1024', 10, 1024));
    const first = await submit(['--nodes', '3', '--ntasks-per-node', '1'], flags, slurmEnv());
    const deadline = performance.now() + JOB_LIMIT_MS;
    while (!/Epoch 1,/.test(await output(first)) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    // What #SBATCH --signal=B:USR1@120 sends 120 s before the time limit: the batch shell alone.
    await run('scancel', ['--batch', '--signal=USR1', first.id], { env: slurmEnv(), timeout: 10_000 });
    const r1 = await finished(first);
    assert.equal(r1.exitCode, 130, r1.output);
    assert.match(r1.output, /USR1 \(the time limit is near, or scancel -b -s USR1\): asking the coordinator to stop/);
    assert.match(r1.output, /stopped at epoch \d, step \d+; checkpoint written/);
    assert.match(r1.output, /trainer\.sbatch: error: the coordinator stopped early \(exit 130\).*resubmit with --resume/);
    const second = await submit(['--nodes', '3', '--ntasks-per-node', '1'], [...flags, '--resume'], slurmEnv());
    const r2 = await finished(second);
    assert.equal(r2.exitCode, 0, r2.output);
    assert.match(r2.output, /resuming .* at epoch/);
    assert.equal(shaOf(r2.output), await expected, r2.output);
  });

  test('sbatch --requeue with --auto-resume: a requeued job resumes its run and ends with the same sha256 (it started NAME-2)', { skip }, async () => {
    // 10 epochs, so that the requeue lands mid-run (see 'near the time limit').
    const flags = [...runFlags('requeued', 10, 1024), '--auto-resume'];
    const expected = referenceSha(runFlags('ref-10x1024', 10, 1024));
    // --open-mode append: the output of both attempts, in one file.
    const job = await submit(['--nodes', '3', '--ntasks-per-node', '1', '--requeue', '--open-mode', 'append'], flags, slurmEnv());
    const deadline = performance.now() + JOB_LIMIT_MS;
    while (!/Epoch 1,/.test(await output(job)) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await requeueNow(job);
    const r = await finished(job);
    assert.equal(r.state, 'COMPLETED', r.output);
    assert.equal(r.exitCode, 0, r.output);
    // The workers get the SIGTERM too: the coordinator stops at its next step, or, when they have all
    // left first, while waiting for them; a checkpoint either way.
    assert.match(r.output, /stopped at epoch \d, step \d+; checkpoint written|stopped while waiting for workers; checkpoint in /);
    assert.match(r.output, /trainer\.sbatch: error: the coordinator stopped early \(exit 130\).*the same command resumes it/);
    assert.match(r.output, /requeued has a checkpoint: resuming it \(--auto-resume\)/);
    assert.match(r.output, /resuming .* at epoch/);
    assert.equal(shaOf(r.output), await expected, r.output);
    assert.doesNotMatch(r.output, /requeued-2/);
  });

  test('a plain scancel: the script waits for the coordinator to write its checkpoint and says so (it exited at once, 143, leaving the coordinator running outside the job)', { skip }, async () => {
    const job = await submit(['--nodes', '2', '--ntasks-per-node', '1'], runFlags('cancelled', 40, 1024), slurmEnv());
    const deadline = performance.now() + JOB_LIMIT_MS;
    while (!/Epoch 1,/.test(await output(job)) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await run('scancel', [job.id], { env: slurmEnv(), timeout: 10_000 });
    const r = await finished(job);
    // The workers get the SIGTERM too: the coordinator stops at its next step, or, when they have all
    // left first (a loaded machine), while waiting for them; a checkpoint either way.
    assert.match(r.output, /stopped at epoch \d+, step \d+; checkpoint written|stopped while waiting for workers; checkpoint in /);
    assert.match(r.output, /trainer\.sbatch: error: the coordinator stopped early \(exit 130\).*resubmit with --resume/);
    assert.deepEqual(pidsWith('--run.name cancelled'), [], 'no coordinator or worker left once the job has ended');
  });

  test('scancel -b (the batch shell alone) is passed on: the coordinator stops at the next step with a checkpoint (it said so and trained on)', { skip }, async () => {
    const job = await submit(['--nodes', '1'], runFlags('batch-only', 40, 1024), slurmEnv());
    const deadline = performance.now() + JOB_LIMIT_MS;
    while (!/Epoch 1,/.test(await output(job)) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await run('scancel', ['-b', '-s', 'TERM', job.id], { env: slurmEnv(), timeout: 10_000 });
    const r = await finished(job);
    assert.match(r.output, /trainer\.sbatch: cancelled: asking the coordinator to stop at the next step and write its checkpoint/);
    assert.match(r.output, /SIGUSR1: stopping at the next step/);
    assert.match(r.output, /stopped at epoch \d+, step \d+; checkpoint written/);
    assert.doesNotMatch(r.output, /Epoch 40,/);
    assert.deepEqual(pidsWith('--run.name batch-only'), [], 'no coordinator or worker left once the job has ended');
  });

  test('scancel -b -s KILL (the batch shell killed outright): the coordinator, in a session of its own, stops at the next step with a checkpoint (it trained on outside the job)', { skip }, async () => {
    const job = await submit(['--nodes', '1'], runFlags('killed-shell', 40, 1024), slurmEnv());
    const deadline = performance.now() + JOB_LIMIT_MS;
    while (!/Epoch 1,/.test(await output(job)) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await run('scancel', ['-b', '-s', 'KILL', job.id], { env: slurmEnv(), timeout: 10_000 });
    await finished(job);
    // The job has ended; its coordinator writes on into the job's output file until it has stopped.
    while (pidsWith('--run.name killed-shell').length > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(pidsWith('--run.name killed-shell'), [], 'no coordinator left');
    const out = await output(job);
    assert.match(out, /the process that launched it \(pid \d+, TRAINER_STOP_WITH_PID\) is gone: stopping at the next step/);
    assert.match(out, /stopped at epoch \d+, step \d+; checkpoint written/);
    assert.doesNotMatch(out, /Epoch 40,/);
  });

  test('--gpus-per-task 1 gives each task its own CUDA_VISIBLE_DEVICES and each worker --gpu 0', { skip }, async () => {
    // A stand-in trainer: no GPU backend can load here, and the choice is made before it would.
    const stub = join(dir, 'stub-trainer.sh');
    await writeFile(stub, '#!/bin/sh\necho "stub $* (token ${TRAINER_TOKEN:+set})" >&2\n[ "$1" = coordinator ] && sleep 1\nexit 0\n');
    await chmod(stub, 0o755);
    // --export=NONE too: the job starts without the submitter's environment, and the workers still get the token.
    const job = await submit(
      ['--nodes', '3', '--ntasks-per-node', '2', '--gpus-per-task', '1', `--export=NONE,TRAINER_BIN=${stub}`],
      ['--config', 'x.yaml'],
      slurmEnv(),
    );
    const r = await finished(job);
    assert.equal(r.state, 'COMPLETED', r.output);
    assert.match(r.output, /stub coordinator --host 127\.0\.0\.1 --port \d+ --min-workers 6 --config x\.yaml \(token set\)/);
    const seen = new Map<string, string[]>();
    for (const m of r.output.matchAll(/task (\d) on (n\d): CUDA_VISIBLE_DEVICES=(\S+) -> worker --gpu 0/g)) {
      seen.set(m[2] ?? '', [...(seen.get(m[2] ?? '') ?? []), m[3] ?? ''].sort());
    }
    assert.deepEqual(Object.fromEntries(seen), { n1: ['0', '1'], n2: ['0', '1'], n3: ['0', '1'] }, r.output);
    assert.equal(r.output.match(/stub worker --connect 127\.0\.0\.1:\d+ --retry-for-ms \d+ --name job\d+\.task\d@n\d --gpu 0 \(token set\)/g)?.length, 6);
  });

  test('--gres gpu:2 with two tasks a node gives task i of the node --gpu i (each saw both devices and took the first); with a certificate the workers dial wss:// and trust it; a head given by name has the coordinator on all addresses, IPv6 too (it was 0.0.0.0)', { skip }, async () => {
    const stub = join(dir, 'stub-gres.sh');
    await writeFile(stub, '#!/bin/sh\necho "stub $*" >&2\n[ "$1" = coordinator ] && sleep 1\nexit 0\n');
    await chmod(stub, 0o755);
    const cert = join(dir, 'cert.pem');
    await writeFile(cert, '-----BEGIN CERTIFICATE-----\n(only its path matters to the script)\n');
    const job = await submit(
      ['--nodes', '2', '--ntasks-per-node', '2', '--gres', 'gpu:2'],
      ['--config', 'x.yaml', '--cluster.tls.cert', cert, '--cluster.tls.key', cert],
      // A name, which may resolve to an IPv6 address on the workers' nodes (the stubs dial nothing).
      slurmEnv({ TRAINER_BIN: stub, TRAINER_HEAD_ADDR: 'head.example' }),
    );
    const r = await finished(job);
    assert.equal(r.state, 'COMPLETED', r.output);
    // The two nodes are whichever Slurm gave (the tests' jobs share the cluster); the head is the first.
    const head = /coordinator on (n\d) listening on every IPv6 and IPv4 address, port (\d+), workers dial wss:\/\/head\.example:\2;/.exec(r.output)?.[1];
    assert.ok(head !== undefined, r.output);
    assert.match(r.output, /stub coordinator --host all --port \d+ --min-workers 4 --config x\.yaml/);
    const seen = new Map<string, string[]>();
    for (const m of r.output.matchAll(/task \d on (n\d): CUDA_VISIBLE_DEVICES=0,1 -> worker --gpu (\d)/g)) {
      seen.set(m[1] ?? '', [...(seen.get(m[1] ?? '') ?? []), m[2] ?? ''].sort());
    }
    const nodes = [...seen.keys()].sort();
    assert.equal(nodes.length, 2, r.output);
    assert.equal(head, nodes[0], 'the coordinator on the allocation\'s first node');
    for (const n of nodes) assert.deepEqual(seen.get(n), ['0', '1'], r.output);
    assert.equal(r.output.match(new RegExp(`stub worker --connect wss://head\\.example:\\d+ --retry-for-ms \\d+ --ca ${cert.replace(/[.]/g, '\\.')} --name`, 'g'))?.length, 4, r.output);
  });

  test('the script checks its environment and where it runs before starting anything', { skip }, async () => {
    for (const [env, message] of [
      [{ TRAINER_GRACE_S: '1.5' }, "trainer.sbatch: error: TRAINER_GRACE_S must be a whole number of seconds, got '1.5'"],
      [{ TRAINER_RETRY_FOR_MS: '10s' }, "trainer.sbatch: error: TRAINER_RETRY_FOR_MS must be a whole number of milliseconds, got '10s'"],
    ] as const) {
      const r = await finished(await submit(['--nodes', '1'], ['--config', 'x.yaml'], slurmEnv(env)));
      assert.equal(r.state, 'FAILED', r.output);
      assert.equal(r.output.trim(), message);
    }
    // salloc runs its command where it was typed, here the "login host" (no SLURMD_NODENAME): refused
    // unless every node is this host (loopback, as in this test cluster, where it is allowed).
    const r = await run('salloc', ['--nodes', '1', '--quiet', SBATCH, '--config', 'x.yaml'], {
      cwd: REPO,
      env: slurmEnv({ TRAINER_HEAD_ADDR: '10.255.255.1', SLURMD_NODENAME: undefined }),
      timeout: 30_000,
    }).then(
      () => ({ status: 0, stderr: '' }),
      (e: { code?: number; stderr?: string }) => ({ status: e.code, stderr: e.stderr ?? '' }),
    );
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /trainer\.sbatch: error: this runs on \S+, not on the allocation's first node n1 \(salloc runs a command where it is typed\)/);
  });

  test('a coordinator that cannot start fails the job with its error and one line of the script', { skip }, async () => {
    // As a requeued job sees it (Slurm sets SLURM_RESTART_COUNT then): without --auto-resume it starts a new run, and says so.
    const job = await submit(['--nodes', '3'], [...runFlags('bad', 1, 256), '--train.batchSize', '-3'], slurmEnv({ SLURM_RESTART_COUNT: '1' }));
    const r = await finished(job);
    assert.equal(r.state, 'FAILED', r.output);
    assert.equal(r.exitCode, 2);
    assert.match(r.output, /error E_CONFIG: train\.batchSize must be a positive integer, got -3/);
    assert.match(r.output, /trainer\.sbatch: warning: this job was requeued \(restart 1\) without --auto-resume: it starts a new run; the one it started before keeps its checkpoint/);
    const ours = r.output.split('\n').filter((l) => l.startsWith('trainer.sbatch: error:'));
    assert.deepEqual(ours, ['trainer.sbatch: error: the coordinator on n1 exited with status 2 (its message is above); workers stopped']);
  });

  test('workers that cannot start fail the job instead of leaving the coordinator waiting', { skip }, async () => {
    const stub = join(dir, 'stub-no-workers.sh');
    // The coordinator waits (as a real one would for its workers); every worker fails at once.
    await writeFile(stub, '#!/bin/sh\nif [ "$1" = coordinator ]; then exec sleep 300; fi\necho "cannot load a backend" >&2\nexit 3\n');
    await chmod(stub, 0o755);
    const job = await submit(['--nodes', '3'], ['--config', 'x.yaml'], slurmEnv({ TRAINER_BIN: stub, TRAINER_GRACE_S: '2' }));
    const r = await finished(job);
    assert.equal(r.state, 'FAILED', r.output);
    assert.equal(r.output.match(/worker exited with status 3/g)?.length, 3, r.output);
    const ours = r.output.split('\n').filter((l) => l.startsWith('trainer.sbatch: error:'));
    assert.equal(ours.length, 1, r.output);
    assert.match(ours[0] ?? '', /every worker task ended \(srun exit 3\) while the coordinator was still running/);
  });
});
