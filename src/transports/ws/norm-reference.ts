/**
 * What a gradient's norm is measured against (tally.ts): the other workers'
 * norms, one value per worker, never its sender's own. A liar whose results
 * were most of a step's made the median, and an honest result a thousand
 * times its tiny norms was "suspect" and its sender evicted; and the norms
 * used in one step were the next one's reference, so a liar raised the bound
 * ~1000 times a step.
 */

/** The norms a vote is measured against: above `maxNormRatio` times `upper` is suspect, below `lower` / `maxNormRatio` too small. */
export interface Reference {
  upper: number;
  lower: number;
}

export class NormReference {
  /** Each worker's value (by identity) in the previous training step: where its value may be this step (see values). */
  private last = new Map<string, number>();
  /** Norms per example of each worker's finite gradients in this job, ascending. */
  private norms = new Map<string, number[]>();
  /** The workers' values now, and the same ascending; null when a norm or an eviction changed them. */
  private table: { of: Map<string, number>; sorted: number[] } | null = null;
  /** Workers evicted for a losing result (by identity): their norms are no reference. */
  private readonly refused = new Set<string>();

  /** `maxNormRatio`: cluster.maxNormRatio, which bounds how fast a worker's value moves (see values). */
  constructor(private readonly maxNormRatio: number) {}

  /** Whether a training step is done whose values bound this one's: none in a run's first step. */
  get hasPreviousStep(): boolean {
    return this.last.size > 0;
  }

  /** A new job: its norms start afresh. */
  start(): void {
    this.norms = new Map();
    this.table = null;
  }

  /** A training step is done: the values of the workers that sent gradients bound theirs in the next. */
  stepDone(): void {
    const { of } = this.values();
    const next = new Map([...of].filter(([identity]) => this.norms.has(identity)));
    if (next.size > 0) this.last = next;
  }

  /** A finite gradient of `identity`'s, with this norm per example. */
  add(identity: string, normPerExample: number): void {
    const mine = this.norms.get(identity) ?? [];
    insertSorted(mine, normPerExample);
    this.norms.set(identity, mine);
    this.table = null;
  }

  /** `identity` was evicted for a losing result: its norms are no reference from now on. */
  refuse(identity: string): void {
    this.refused.add(identity);
    this.table = null;
  }

  /**
   * What a norm of `identity`'s is measured against: the median of the
   * values of the workers other than it, one each; of an even count, `upper`
   * is the upper median and `lower` the lower one, so with honest workers the
   * more, neither a liar's tiny norms make an honest result suspect nor its
   * huge ones an honest result too small. Null with no other worker's value.
   */
  around(identity: string): Reference | null {
    const { of, sorted } = this.values();
    const own = of.get(identity);
    // The others: `sorted` less one `own`, at index `skip`.
    const skip = own === undefined ? sorted.length : lowerBound(sorted, own);
    const n = sorted.length - (own === undefined ? 0 : 1);
    if (n === 0) return null;
    const at = (j: number) => sorted[j < skip ? j : j + 1] as number;
    return { upper: at(Math.floor(n / 2)), lower: at(Math.floor((n - 1) / 2)) };
  }

  /**
   * One value per worker (by identity, so a worker reconnecting is the same
   * one; evicted ones left out): the lower median of its norms per example in
   * this job, kept within a factor √maxNormRatio (32 at 1000; 2 at least) of
   * its value in the previous step (one that sent nothing yet counts with
   * that). So a worker's results count once however many it sent, and a
   * liar's value moves 32× a step at most, not the bound's 1000×, and not at
   * once: an honest worker's results are not made too small in the step a
   * liar starts inflating its own. An honest value changing faster only lags:
   * a norm is out of bounds 1000× away. Cached until a norm or an eviction:
   * O(W log W) per change for W workers.
   */
  private values(): { of: Map<string, number>; sorted: number[] } {
    if (this.table) return this.table;
    const growth = Math.max(2, Math.sqrt(this.maxNormRatio));
    const of = new Map<string, number>();
    for (const identity of new Set([...this.last.keys(), ...this.norms.keys()])) {
      if (this.refused.has(identity)) continue;
      const mine = this.norms.get(identity);
      const now = mine ? (mine[Math.floor((mine.length - 1) / 2)] as number) : undefined;
      const before = this.last.get(identity);
      const value = now === undefined ? before : before === undefined ? now : Math.min(before * growth, Math.max(before / growth, now));
      if (value !== undefined) of.set(identity, value);
    }
    this.table = { of, sorted: [...of.values()].sort((a, b) => a - b) };
    return this.table;
  }
}

/** Inserts `x` into the ascending array `a`, keeping it ascending. */
function insertSorted(a: number[], x: number): void {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((a[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  a.splice(lo, 0, x);
}

/** The first index of the ascending array `a` whose value is not below `x`. */
function lowerBound(a: readonly number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((a[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
