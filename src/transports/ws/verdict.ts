/**
 * How the coordinator judges what untrusted workers send for one part of a
 * job (a micro-batch, or an evaluation chunk). A result is bit-identical
 * whoever computes it (one backend), so results are compared bit for bit:
 *
 *   - a result is suspect when a value is NaN or infinite, or when its
 *     gradient's norm per example is more than cluster.maxNormRatio times the
 *     norms of the other workers (tally.ts): it is used only if other credible
 *     workers compute the very same bits (two more where there are three, one
 *     more with two; then it is genuine: a non-finite one means the run
 *     diverged);
 *   - a norm that many times smaller than theirs is too small: harmless to
 *     the weights, so usable, but tally.ts lets such a lone result evict no
 *     one (with two workers, the one measured against a liar's tiny norms is
 *     as suspect as a liar measured against its own);
 *   - a part needs `need` identical unsuspected results (2 when verified, else
 *     1); two that differ need a third to decide, a lone result never
 *     outweighs two workers that agree on other finite bits, and whoever sent
 *     a result other than the one used is a liar.
 *
 * Pure functions of the votes; dispatch.ts applies the decisions.
 */
import type { BatchStats } from '../../worker/gradient.js';
import type { MicroBatchResult } from '../pool.js';

export type PartResult = MicroBatchResult | BatchStats;

/** One worker's answer to one part. */
export interface Vote<W> {
  from: W;
  result: PartResult;
  /** Every value (gradient and loss) a finite number. */
  finite: boolean;
  /** The gradient's L2 norm over its examples (0 without gradient or examples). */
  normPerExample: number;
}

export type Decision<W> =
  /** Not yet: `wanted` more results should be under way. */
  | { kind: 'pending'; wanted: number }
  /** Use `vote`; `verified` when 2 or more workers sent the same bits; `losers` sent something else. */
  | { kind: 'use'; vote: Vote<W>; verified: boolean; losers: Vote<W>[] }
  /** Two workers agree that the result is not finite: the run diverged. */
  | { kind: 'diverged'; votes: Vote<W>[] };

/**
 * Sum of squares in float64, in four lanes: NaN or Infinity exactly when a
 * value is (a finite float32 squared is at most 1.2e77, far from overflow), so
 * one pass gives both the finiteness check and the norm, about the cost of
 * the x*0 finiteness pass it replaces on the step's critical path.
 */
export function sumOfSquares(a: Float32Array): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  const n4 = a.length & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const x0 = a[i] as number, x1 = a[i + 1] as number, x2 = a[i + 2] as number, x3 = a[i + 3] as number;
    s0 += x0 * x0;
    s1 += x1 * x1;
    s2 += x2 * x2;
    s3 += x3 * x3;
  }
  for (; i < a.length; i++) s0 += (a[i] as number) * (a[i] as number);
  return s0 + s1 + s2 + s3;
}

export function voteOf<W>(from: W, result: PartResult): Vote<W> {
  if (!('gradient' in result)) return { from, result, finite: Number.isFinite(result.lossSum), normPerExample: 0 };
  const ss = sumOfSquares(result.gradient);
  const finite = Number.isFinite(ss) && Number.isFinite(result.lossSum);
  return { from, result, finite, normPerExample: finite && result.count > 0 ? Math.sqrt(ss) / result.count : 0 };
}

/** The same bits: loss, counts and every gradient byte; any two non-finite results count as the same (both say "diverged"). */
export function sameResult(a: Vote<unknown>, b: Vote<unknown>): boolean {
  if (!a.finite || !b.finite) return !a.finite && !b.finite;
  const x = a.result, y = b.result;
  if (!Object.is(x.lossSum, y.lossSum) || x.correct !== y.correct || x.count !== y.count) return false;
  const gx = 'gradient' in x ? x.gradient : null;
  const gy = 'gradient' in y ? y.gradient : null;
  if (gx === null || gy === null) return gx === gy;
  return gx.length === gy.length && Buffer.from(gx.buffer, gx.byteOffset, gx.byteLength).equals(Buffer.from(gy.buffer, gy.byteOffset, gy.byteLength));
}

/** Median of `xs` (the upper one of an even count); null when empty. */
export function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/** Why a vote is suspect, or null: not finite, or a norm per example past `maxRatio` times `reference`. */
export function suspicion(v: Vote<unknown>, reference: number | null, maxRatio: number): string | null {
  if (!v.finite) return 'a NaN or infinite value';
  if (reference !== null && reference > 0 && v.normPerExample > maxRatio * reference) {
    return `a gradient norm ${(v.normPerExample / reference).toExponential(1)} times the other workers' median (cluster.maxNormRatio ${maxRatio})`;
  }
  return null;
}

/** Why a finite vote is too small, or null: a norm per example under `reference` / `maxRatio`. */
export function smallness(v: Vote<unknown>, reference: number | null, maxRatio: number): string | null {
  if (!v.finite || reference === null || !(reference > 0) || v.normPerExample * maxRatio >= reference) return null;
  return `a gradient norm ${(v.normPerExample / reference).toExponential(1)} times the other workers' median (cluster.maxNormRatio ${maxRatio})`;
}

/**
 * What to do with a part that has `votes` and needs `need` identical
 * unsuspected results. A suspect result counts as genuine once `confirm`
 * credible workers sent its very bits (tally.ts: 3 where there are that many,
 * and only workers whose results were used before: fresh token holders
 * agreeing on NaN must not stop a run). A lone result is never used over two
 * or more that agree on other finite bits.
 */
export function decide<W>(
  votes: readonly Vote<W>[],
  need: number,
  suspect: (v: Vote<W>) => string | null,
  confirm = 2,
  credible: (v: Vote<W>) => boolean = () => true,
): Decision<W> {
  const groups: { votes: Vote<W>[]; suspect: string | null }[] = [];
  for (const v of votes) {
    const g = groups.find((x) => sameResult(x.votes[0] as Vote<W>, v));
    if (g) g.votes.push(v);
    else groups.push({ votes: [v], suspect: suspect(v) });
  }
  const clean = groups.filter((g) => g.suspect === null);
  // Two different unsuspected results: one is wrong, and only a majority can tell which.
  const needed = clean.length >= 2 ? Math.max(need, 2) : need;
  // Usable: unsuspected and enough of them, or a suspect result confirmed (the same bits from `confirm` workers: genuine).
  const usable = groups.filter((g) => (g.suspect === null ? g.votes.length >= needed : g.votes.filter(credible).length >= Math.max(2, confirm)));
  if (usable.length === 0) {
    const best = Math.max(0, ...clean.map((g) => g.votes.length));
    return { kind: 'pending', wanted: Math.max(1, needed - best) };
  }
  const winner = usable.reduce((a, b) => (b.votes.length > a.votes.length ? b : a));
  // Two workers agreeing on finite bits suspect only by norm (not confirmed yet) are not outweighed
  // by one: a liar whose lone clean result beat them had them evicted. More results decide.
  if (winner.votes.length === 1 && groups.some((g) => g !== winner && g.votes.length >= 2 && (g.votes[0] as Vote<W>).finite)) {
    return { kind: 'pending', wanted: 1 };
  }
  const first = winner.votes[0] as Vote<W>;
  if (!first.finite) return { kind: 'diverged', votes: winner.votes };
  return { kind: 'use', vote: first, verified: winner.votes.length >= 2, losers: votes.filter((v) => !winner.votes.includes(v)) };
}
