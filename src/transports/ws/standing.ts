/**
 * Where each worker stands with the coordinator for the rest of the run, by
 * who it is (WorkerConn.identity: the name it gives in its hello and its
 * process's random id): one evicted for a stall (a task past
 * cluster.stepTimeoutMs, or silence) or for a bad result (one that does not
 * fit its task: dispatch.ts) may rejoin only after a backoff that doubles with
 * each eviction, and after cluster.maxStalls evictions it is refused for the
 * run, like one caught sending wrong results. Checked right after the token,
 * before the worker gets a welcome.
 *
 * Bad results share the stall limits, since each eviction costs the run the
 * same (a step's parts computed again, a welcome, a dataset proof), and one
 * count of evictions of both kinds is held against them: counted apart, a
 * worker that alternated stalls and bad results was refused only after
 * 2 * cluster.maxStalls - 1 evictions (5 at the default 3). Each log line and
 * ban still says which kinds the worker's evictions were. With no standing for
 * bad results, a token holder answering every task with one was evicted,
 * rejoined at once and was evicted again, every step of the run.
 *
 * A worker that took part (it was ready) and then broke the protocol (a frame
 * the decoder refuses, a message out of turn: the coordinator closes it with
 * 4400) counts the same: each costs the run its tasks computed again and a
 * welcome, and without it such a token holder rejoined at once, every time.
 *
 * Who a worker is, it says itself: one holding the token can come back as
 * another process or under another name. The backoff and the ban bound what
 * one identity costs; what any identity can do is bounded by verification and
 * speculative re-runs.
 */
import { CLOSE } from './protocol.js';

export interface StandingLimits {
  /** Refusal after the first eviction (a stall or a bad result); doubled for each further one, of either kind (cluster.stallBackoffMs). */
  stallBackoffMs: number;
  /** Evictions (stalls, bad results, protocol errors) together, after which a worker is refused for the rest of the run (cluster.maxStalls). */
  maxStalls: number;
}

/** Why a worker was evicted, as its standing counts it. */
type Offence = 'stall' | 'bad result' | 'protocol error';

export interface Refusal {
  code: number;
  reason: string;
}

interface Strikes {
  stalls: number;
  badResults: number;
  protocolErrors: number;
  /** Refused until then (performance.now()). */
  untilMs: number;
}

export class Standing {
  private readonly strikes = new Map<string, Strikes>();
  private readonly banned = new Map<string, string>();

  constructor(private readonly limits: StandingLimits) {}

  /** Why the worker named `name` may not join now, or null. */
  refusal(name: string, now: number): Refusal | null {
    const ban = this.banned.get(name);
    if (ban !== undefined) return { code: CLOSE.banned, reason: `refused for the rest of the run: ${ban}` };
    const r = this.strikes.get(name);
    if (!r || now >= r.untilMs) return null;
    const what = [
      r.stalls > 0 ? `stalled ${r.stalls} time(s)` : '',
      r.badResults > 0 ? `sent ${r.badResults} bad result(s)` : '',
      r.protocolErrors > 0 ? `broke the protocol ${r.protocolErrors} time(s)` : '',
    ]
      .filter((s) => s !== '')
      .join(' and ');
    return { code: CLOSE.refused, reason: `${what}: refused for another ${Math.ceil(r.untilMs - now)} ms` };
  }

  /** A stall of `name`: returns what it now faces, for the log. */
  stalled(name: string, now: number): string {
    return this.evicted(name, 'stall', now);
  }

  /** A bad result of `name` (one that does not fit its task): returns what it now faces, for the log. */
  badResult(name: string, now: number): string {
    return this.evicted(name, 'bad result', now);
  }

  /** A protocol error of `name` after it was ready (closed with 4400 by this side): returns what it now faces, for the log. */
  protocolError(name: string, now: number): string {
    return this.evicted(name, 'protocol error', now);
  }

  private evicted(name: string, offence: Offence, now: number): string {
    const r = this.strikes.get(name) ?? { stalls: 0, badResults: 0, protocolErrors: 0, untilMs: 0 };
    this.strikes.set(name, r);
    if (offence === 'stall') r.stalls++;
    else if (offence === 'bad result') r.badResults++;
    else r.protocolErrors++;
    const count = r.stalls + r.badResults + r.protocolErrors;
    const kinds = evictions(r);
    if (count >= this.limits.maxStalls) {
      this.ban(name, `${kinds} (cluster.maxStalls)`);
      return `refused for the rest of the run after ${kinds}`;
    }
    const backoffMs = this.limits.stallBackoffMs * 2 ** (count - 1);
    r.untilMs = Math.max(r.untilMs, now + backoffMs);
    const of = `${count} of ${this.limits.maxStalls}`;
    const oneKind = [r.stalls, r.badResults, r.protocolErrors].filter((n) => n > 0).length === 1;
    return `${oneKind ? `${offence} ${of}` : `eviction ${of} (${kinds})`}: may rejoin in ${backoffMs} ms`;
  }

  ban(name: string, why: string): void {
    if (!this.banned.has(name)) this.banned.set(name, why);
  }

  /**
   * Workers refused for a back-off (a stall's or a bad result's) but not for the run, not
   * `connected` now, whose back-off runs or ended less than `graceMs` ago: they are still trying to
   * rejoin (a refused worker tries again within its reconnect delay, which may end after its
   * back-off did).
   */
  rejoining(now: number, graceMs: number, connected: ReadonlySet<string>): number {
    return [...this.strikes].filter(([name, r]) => now < r.untilMs + graceMs && !this.banned.has(name) && !connected.has(name)).length;
  }

  isBanned(name: string): boolean {
    return this.banned.has(name);
  }
}

/** "2 stalls", "1 bad result", "1 stall and 2 bad results", "1 stall, 1 bad result and 1 protocol error". */
function evictions(r: Strikes): string {
  const of = (n: number, what: string) => (n === 0 ? [] : [`${n} ${what}${n > 1 ? 's' : ''}`]);
  const parts = [...of(r.stalls, 'stall'), ...of(r.badResults, 'bad result'), ...of(r.protocolErrors, 'protocol error')];
  return parts.length > 2 ? `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}` : parts.join(' and ');
}
