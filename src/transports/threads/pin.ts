/**
 * Each compute thread of `trainer train --threads N` on a core of its own
 * (Linux). Measured on 2 cores, 2 threads, configs/cifar10.yaml: faster in
 * 12 of 13 alternating pairs, median +7 % in steady state: the two compute threads never
 * queue behind each other on one core, and keep their caches.
 *
 * Pinned only where it cannot hurt: 2 or more threads, no more than the
 * cores this process may use (its affinity: Slurm's and containers' cpusets
 * included). Behind `trainer worker --threads N` only when the process may use
 * exactly N CPUs (workerPinCores): otherwise several worker processes may share
 * a machine's cores, and each would pin to the same ones.
 * One thread is left to the scheduler, which measured better (the
 * coordinator's thread and V8's helpers then have the other core), and so
 * are `--procs` worker processes: pinned, 2 of them measured the same as
 * unpinned (3 alternating pairs). TRAINER_PIN_THREADS=0 turns it off.
 * Placement changes no result.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { envVar } from '../../worker/kernels/wasm-heap.js';

/** "0-2,5,7-8" (Cpus_allowed_list) as [0, 1, 2, 5, 7, 8]. */
export function parseCpuList(list: string): number[] {
  const out: number[] = [];
  for (const part of list.trim().split(',')) {
    if (part === '') continue;
    const [a, b] = part.split('-').map((x) => Number.parseInt(x, 10));
    if (a === undefined || !Number.isInteger(a)) throw new Error(`not a CPU list: ${list}`);
    const last = b === undefined ? a : b;
    if (!Number.isInteger(last)) throw new Error(`not a CPU list: ${list}`);
    for (let c = a; c <= last; c++) out.push(c);
  }
  return out;
}

/** The CPUs this process may run on; null where the system does not say (not Linux). */
export function allowedCpus(): number[] | null {
  try {
    const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('Cpus_allowed_list:'));
    return line === undefined ? null : parseCpuList(line.slice('Cpus_allowed_list:'.length));
  } catch {
    return null;
  }
}

/** The logical CPUs sharing a physical core with `cpu` (hyperthreads), itself included; [cpu] where the system does not say. */
export function coreSiblings(cpu: number): number[] {
  try {
    return parseCpuList(readFileSync(`/sys/devices/system/cpu/cpu${cpu}/topology/thread_siblings_list`, 'utf8'));
  } catch {
    return [cpu];
  }
}

/**
 * `cpus` ordered one per physical core first, then the second hyperthread of each, and so on:
 * two threads on the two hyperthreads of one core would share its execution units while another
 * core idles, where the scheduler left to itself spreads them.
 */
export function spreadOverCores(cpus: readonly number[], siblings: (cpu: number) => number[] = coreSiblings): number[] {
  const rank = new Map<number, number>();
  for (const c of cpus) rank.set(c, siblings(c).filter((s) => cpus.includes(s)).sort((a, b) => a - b).indexOf(c));
  return [...cpus].sort((a, b) => (rank.get(a) ?? 0) - (rank.get(b) ?? 0) || a - b);
}

/** The core for each thread position, or null: leave the threads to the scheduler. */
export function pinCores(threads: number, cpus: number[] | null = allowedCpus(), siblings: (cpu: number) => number[] = coreSiblings): number[] | null {
  if (envVar('TRAINER_PIN_THREADS') === '0' || cpus === null) return null;
  if (threads < 2 || threads > cpus.length) return null;
  return spreadOverCores(cpus, siblings).slice(0, threads);
}

/**
 * The cores for `trainer worker --threads N`: pinned only when this process may use exactly N
 * CPUs, that is when a scheduler gave it a set of its own (Slurm's --cpus-per-task N with task
 * affinity or cgroups, a Kubernetes pod with exclusive CPUs): on a machine shared with other
 * worker processes, each would pin its threads to the same first cores.
 */
export function workerPinCores(threads: number, cpus: number[] | null = allowedCpus(), siblings: (cpu: number) => number[] = coreSiblings): number[] | null {
  return cpus !== null && cpus.length === threads ? pinCores(threads, cpus, siblings) : null;
}

/** Pins the calling thread to `core`; whether it could (taskset present, the core allowed). */
export function pinThisThread(core: number): boolean {
  try {
    // "PID/task/TID": the kernel's id of this thread, which taskset takes.
    const tid = readlinkSync('/proc/thread-self').split('/').pop() ?? '';
    if (!/^\d+$/.test(tid)) return false;
    execFileSync('taskset', ['-pc', String(core), tid], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}
