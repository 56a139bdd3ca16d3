/**
 * Which workers may take part in a run that checks results (cluster.verify > 0), by their backend
 * kind: results are compared bit for bit, and bits agree among workers of one kind only.
 *
 * The kinds are settled by results, not by what workers say: by the first part two workers agree on
 * (settle: their kinds; others are refused for the run from then on). Until then the
 * longest-present ready worker's kind is provisional: while two workers of it are here (they can
 * verify each other), others wait (refused, they retry). A worker's kind is its own claim: one that
 * claimed a made-up kind and left locked every honest worker out for good.
 */
import { CLOSE } from './protocol.js';

/** Why a worker may not take part, and how it is closed: CLOSE.banned for the run, CLOSE.refused for now. */
export interface KindRefusal {
  code: number;
  why: string;
}

export class VerifyKinds {
  private settledKinds: ReadonlySet<string> | null = null;
  private provisionalKind: string | null = null;

  /** The run's kinds once settled, else null. */
  get settled(): ReadonlySet<string> | null {
    return this.settledKinds;
  }

  /**
   * Why a worker of backend `kind` may not take part now, or null. `ready`: the backends of the
   * ready workers, in the order they joined.
   */
  refusal(kind: string, ready: readonly string[]): KindRefusal | null {
    const bitForBit = 'cluster.verify compares results bit for bit';
    if (this.settledKinds !== null) {
      if (this.settledKinds.has(kind)) return null;
      // For good: the worker exits rather than retry for nothing.
      return { code: CLOSE.banned, why: `${bitForBit}: this run computes on ${[...this.settledKinds].join(', ')}, this worker on ${kind}` };
    }
    // In the order they joined: the kind for now is the longest-present worker's, so one that
    // leaves and comes straight back (a new process, no back-off) does not take it from them.
    if (this.provisionalKind === null || !ready.includes(this.provisionalKind)) this.provisionalKind = ready[0] ?? kind;
    if (kind === this.provisionalKind) return null;
    // Others wait only while that kind can verify on its own (two workers of it): a lone worker's
    // claim must not keep out those who can, and whoever agrees with whom settles the kind.
    if (ready.filter((k) => k === this.provisionalKind).length < 2) return null;
    return { code: CLOSE.refused, why: `cluster.verify: this run computes on ${this.provisionalKind} so far (settled when two workers agree); retrying` };
  }

  /** Two workers agreed on a part's bits: their kinds are the run's for good. False if they were settled already. */
  settle(kinds: ReadonlySet<string>): boolean {
    if (this.settledKinds !== null) return false;
    this.settledKinds = kinds;
    return true;
  }
}
