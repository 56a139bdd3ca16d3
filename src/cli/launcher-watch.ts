/**
 * TRAINER_STOP_WITH_PID: a run stops at its next step, with its checkpoint, once that process has
 * gone. trainer.sbatch sets it to its own shell for the coordinator, which it starts in a session of
 * its own (setsid, so that a signal to the job's process group does not reach it twice): where Slurm
 * tracks a job's processes by parentage (proctrack/linuxproc, proctrack/pgid), a batch shell killed
 * outright (`scancel -b -s KILL`, slurmstepd at a node's failure) left the coordinator running
 * outside the job for minutes, holding its port and its run's lock against a requeued job's resume.
 */
import { TrainerError } from '../shared/errors.js';
import { isRunning } from '../shared/processes.js';

export const STOP_WITH_PID = 'TRAINER_STOP_WITH_PID';

/** How often the launcher is looked for: a stop a second late loses nothing. */
const POLL_MS = 1000;

/** The launcher's process id, or null where none is set; E_USAGE for one that is no process id. */
export function launcherPid(env: NodeJS.ProcessEnv = process.env): number | null {
  const value = env[STOP_WITH_PID];
  if (value === undefined || value === '') return null;
  if (!/^\d+$/.test(value) || Number(value) < 1) {
    throw new TrainerError('E_USAGE', `${STOP_WITH_PID} must be a process id (a whole number from 1), got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

/** Calls onGone once the launcher has gone; returns what ends the watch. Keeps no process alive. */
export function watchLauncher(onGone: (pid: number) => void, env: NodeJS.ProcessEnv = process.env): () => void {
  const pid = launcherPid(env);
  if (pid === null) return () => {};
  const timer = setInterval(() => {
    if (isRunning(pid)) return;
    clearInterval(timer);
    onGone(pid);
  }, POLL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
