// Whether a process of this machine is there, for the files and locks that name their writer's pid.
import { readFileSync } from 'node:fs';

/** Linux's /proc/<pid>/stat: the process's state (field 3) and start time (field 22); null without /proc or that process. */
export function procStat(pid: number): { state: string; startTicks: number } | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // After the command's name in parentheses, which may hold spaces and parentheses itself.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const startTicks = Number(fields[19]);
  return Number.isSafeInteger(startTicks) ? { state: fields[0] ?? '', startTicks } : null;
}

/** Whether process `pid` runs: another user's counts; a killed one its parent has not reaped yet does not. */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // A zombie still answers kill(pid, 0).
  return procStat(pid)?.state !== 'Z';
}
