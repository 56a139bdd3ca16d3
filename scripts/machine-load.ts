import { readFileSync } from 'node:fs';

/** CPU seconds the whole machine spent busy so far (all cores, from /proc/stat); null off Linux. */
export function machineBusySec(): number | null {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    return (f.reduce((a, b) => a + b, 0) - idle) / 100;
  } catch {
    return null;
  }
}
