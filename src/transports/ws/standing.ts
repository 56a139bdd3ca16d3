/**
 * Where each worker stands with the coordinator for the rest of the run, by
 * who it is (WorkerConn.identity: the name it gives in its hello and its
 * process's random id): one evicted for a stall (a task past
 * cluster.stepTimeoutMs, or silence) may rejoin only after a backoff that
 * doubles with each stall, and after cluster.maxStalls stalls it is refused
 * for the run, like one caught sending wrong results. Checked right after the
 * token, before the worker gets a welcome.
 *
 * Who a worker is, it says itself: one holding the token can come back as
 * another process or under another name. The backoff and the ban bound what
 * one identity costs; what any identity can do is bounded by verification and
 * speculative re-runs.
 */
import { CLOSE } from './protocol.js';

export interface StandingLimits {
  /** Refusal after the first stall; doubled for each further one (cluster.stallBackoffMs). */
  stallBackoffMs: number;
  /** Stalls after which a worker is refused for the rest of the run (cluster.maxStalls). */
  maxStalls: number;
}

export interface Refusal {
  code: number;
  reason: string;
}

export class Standing {
  private readonly stalls = new Map<string, { count: number; untilMs: number }>();
  private readonly banned = new Map<string, string>();

  constructor(private readonly limits: StandingLimits) {}

  /** Why the worker named `name` may not join now, or null. */
  refusal(name: string, now: number): Refusal | null {
    const ban = this.banned.get(name);
    if (ban !== undefined) return { code: CLOSE.banned, reason: `refused for the rest of the run: ${ban}` };
    const s = this.stalls.get(name);
    if (s && now < s.untilMs) return { code: CLOSE.refused, reason: `stalled ${s.count} time(s): refused for another ${Math.ceil(s.untilMs - now)} ms` };
    return null;
  }

  /** A stall of `name`: returns what it now faces, for the log. */
  stalled(name: string, now: number): string {
    const s = this.stalls.get(name) ?? { count: 0, untilMs: 0 };
    s.count++;
    this.stalls.set(name, s);
    if (s.count >= this.limits.maxStalls) {
      this.ban(name, `${s.count} stalls (cluster.maxStalls)`);
      return `refused for the rest of the run after ${s.count} stalls`;
    }
    const backoffMs = this.limits.stallBackoffMs * 2 ** (s.count - 1);
    s.untilMs = now + backoffMs;
    return `stall ${s.count} of ${this.limits.maxStalls}: may rejoin in ${backoffMs} ms`;
  }

  ban(name: string, why: string): void {
    if (!this.banned.has(name)) this.banned.set(name, why);
  }

  /**
   * Workers refused for a stall's back-off but not for the run, not `connected` now, whose back-off
   * runs or ended less than `graceMs` ago: they are still trying to rejoin (a refused worker tries
   * again within its reconnect delay, which may end after its back-off did).
   */
  rejoining(now: number, graceMs: number, connected: ReadonlySet<string>): number {
    return [...this.stalls].filter(([name, s]) => now < s.untilMs + graceMs && !this.banned.has(name) && !connected.has(name)).length;
  }

  isBanned(name: string): boolean {
    return this.banned.has(name);
  }
}
