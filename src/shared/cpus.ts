/**
 * How many CPUs this process may use: the cores it may run on (its affinity), capped by a cgroup
 * CPU quota when one is set (a Kubernetes CPU limit, `docker run --cpus`, systemd's CPUQuota),
 * rounded up. Node's availableParallelism() sees only the affinity, so `--threads auto` in a
 * container limited to 2 CPUs on a 64-core node started 64 compute threads.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';

export function usableCpus(o: { cgroupRoot?: string; procCgroup?: string; cores?: number } = {}): number {
  const cores = o.cores ?? availableParallelism();
  const quota = cgroupCpuLimit(o.cgroupRoot ?? '/sys/fs/cgroup', o.procCgroup ?? '/proc/self/cgroup');
  return quota === null ? cores : Math.max(1, Math.min(cores, Math.ceil(quota)));
}

/**
 * The tightest CPU quota over this process's cgroup and its parents, in CPUs (1.5: one and a half),
 * for cgroup v2 (cpu.max) and v1 (cpu.cfs_quota_us over cpu.cfs_period_us); null when none is set
 * or none can be read.
 */
export function cgroupCpuLimit(cgroupRoot: string, procCgroup: string): number | null {
  let lines: string[];
  try {
    lines = readFileSync(procCgroup, 'utf8').split('\n');
  } catch {
    return null;
  }
  let tightest: number | null = null;
  for (const line of lines) {
    const m = /^\d+:([^:]*):(\/.*)$/.exec(line);
    if (!m) continue;
    const controllers = m[1] as string;
    const v2 = controllers === '';
    if (!v2 && !controllers.split(',').includes('cpu')) continue;
    // v1 mounts the cpu controller under its controllers' name (cpu,cpuacct) or a link to it (cpu).
    const bases = v2 ? [cgroupRoot] : [...new Set([join(cgroupRoot, controllers), join(cgroupRoot, 'cpu')])];
    for (const base of bases) {
      // Up to the root: a parent's quota caps its children. Without a cgroup namespace the path is
      // the host's and only the part that exists in this mount is read (its root, in a container).
      for (let p = m[2] as string; ; p = dirname(p)) {
        const limit = v2 ? readCpuMax(join(base, p)) : readCfsQuota(join(base, p));
        if (limit !== null) tightest = tightest === null ? limit : Math.min(tightest, limit);
        if (p === '/') break;
      }
    }
  }
  return tightest;
}

/** cgroup v2: "max 100000" (no limit) or "QUOTA PERIOD". */
function readCpuMax(dir: string): number | null {
  const text = readText(join(dir, 'cpu.max'));
  const m = text === null ? null : /^(\d+)\s+(\d+)/.exec(text);
  return m && Number(m[2]) > 0 ? Number(m[1]) / Number(m[2]) : null;
}

/** cgroup v1: a quota of -1 is no limit. */
function readCfsQuota(dir: string): number | null {
  const quota = Number(readText(join(dir, 'cpu.cfs_quota_us')));
  const period = Number(readText(join(dir, 'cpu.cfs_period_us')));
  return quota > 0 && period > 0 ? quota / period : null;
}

function readText(file: string): string | null {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}
