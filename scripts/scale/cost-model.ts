/**
 * The coordinator's cost per step, fitted to the scale bench's measurements:
 *
 *   cpu(C, G, S) = a + C·(c0 + c1·S) + G·(g0 + g1·S) + q·G²        [ms per step]
 *
 * The G² term is work per result that grows with the step's results (a
 * median over them per result, in tally.ts when this was written): not a
 * property of the design, so the tables give the worker counts with and
 * without it.
 * C: connections (weights frames sent per step), G: gradients received per
 * step (micro-batches, or block sums), S: the model's frame size in MB.
 * Every run with one thread per connection has C = G; the runs with several
 * threads behind one connection (C = G / threads) separate the two.
 *
 * The link adds no CPU but time: per step, C·S go out and G·S come in. The
 * fan-out is staggered (each worker starts when its weights arrive) and the
 * fan-in follows the same stagger, so in and out overlap on a full-duplex
 * link: link(C, G, S, bw) ≈ max(C, G)·S·8/bw.
 *
 * The step loop is synchronous (SGD needs every gradient; the next weights
 * need SGD), so both lie on the step's critical path: with t the compute time
 * of one micro-batch, a step of K single-micro-batch workers takes about
 * t + overhead(K). One coordinator stops scaling at the K where the overhead
 * reaches t: efficiency 50 %, and adding workers can at most double the
 * throughput reached there.
 */

export interface Observation {
  connections: number;
  gradients: number;
  /** Weights or gradient frame, MB. */
  frameMB: number;
  /** Measured coordinator CPU per step, ms. */
  cpuMs: number;
}

export interface CostModel {
  a: number;
  c0: number;
  c1: number;
  g0: number;
  g1: number;
  /** ms per step per G²: per-result work that grows with the step's results. */
  q: number;
  /** Largest relative error of the fit over the observations. */
  maxRelError: number;
}

const FEATURES = ['a', 'c0', 'c1', 'g0', 'g1', 'q'] as const;

function features(o: Pick<Observation, 'connections' | 'gradients' | 'frameMB'>): number[] {
  return [1, o.connections, o.connections * o.frameMB, o.gradients, o.gradients * o.frameMB, o.gradients * o.gradients];
}

export function predictCpuMs(m: CostModel, connections: number, gradients: number, frameMB: number): number {
  const x = features({ connections, gradients, frameMB });
  return [m.a, m.c0, m.c1, m.g0, m.g1, m.q].reduce((s, c, i) => s + c * (x[i] as number), 0);
}

/** The model without its G² term: the coordinator once its per-result work no longer grows with the step. */
export function linearPart(m: CostModel): CostModel {
  return { ...m, q: 0 };
}

/** Solves A x = b (small, dense) by Gaussian elimination with partial pivoting; null when singular. */
function solve(A: number[][], b: number[]): number[] | null {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i] as number]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs((M[r] as number[])[c] as number) > Math.abs((M[p] as number[])[c] as number)) p = r;
    const pivot = (M[p] as number[])[c] as number;
    if (Math.abs(pivot) < 1e-12) return null;
    [M[c], M[p]] = [M[p] as number[], M[c] as number[]];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = ((M[r] as number[])[c] as number) / pivot;
      for (let k = c; k <= n; k++) (M[r] as number[])[k] = ((M[r] as number[])[k] as number) - f * ((M[c] as number[])[k] as number);
    }
  }
  return M.map((row, i) => (row[n] as number) / (row[i] as number));
}

/**
 * Least squares on relative error (each row divided by its measurement: the
 * figures span four orders of magnitude), with every coefficient kept
 * non-negative: a coefficient that comes out negative is dropped (set to 0)
 * and the rest refitted.
 */
export function fitCostModel(obs: readonly Observation[]): CostModel {
  let active = FEATURES.map((_, i) => i);
  let coef = new Array<number>(FEATURES.length).fill(0);
  for (;;) {
    const A = active.map(() => new Array<number>(active.length).fill(0));
    const b = new Array<number>(active.length).fill(0);
    for (const o of obs) {
      const x = features(o);
      const w = 1 / Math.max(o.cpuMs, 1e-3);
      active.forEach((fi, i) => {
        b[i] = (b[i] as number) + (x[fi] as number) * w * o.cpuMs * w;
        active.forEach((fj, j) => ((A[i] as number[])[j] = ((A[i] as number[])[j] as number) + (x[fi] as number) * w * (x[fj] as number) * w));
      });
    }
    const x = solve(A, b);
    coef = new Array<number>(FEATURES.length).fill(0);
    if (x === null) {
      // Collinear (e.g. no run with several threads per connection): fold the connection terms into the gradient ones.
      active = active.filter((f) => f !== 1 && f !== 2);
      continue;
    }
    active.forEach((f, i) => (coef[f] = x[i] as number));
    const worst = active.reduce((w, f) => ((coef[f] as number) < (coef[w] as number) ? f : w), active[0] as number);
    if ((coef[worst] as number) >= 0) break;
    active = active.filter((f) => f !== worst);
  }
  const [a, c0, c1, g0, g1, q] = coef as [number, number, number, number, number, number];
  const m = { a, c0, c1, g0, g1, q, maxRelError: 0 };
  m.maxRelError = Math.max(...obs.map((o) => Math.abs(predictCpuMs(m, o.connections, o.gradients, o.frameMB) - o.cpuMs) / o.cpuMs));
  return m;
}

/** Link time per step, ms, on a full-duplex link of `gbitPerSec`. */
export function linkMs(connections: number, gradients: number, frameMB: number, gbitPerSec: number): number {
  return (Math.max(connections, gradients) * frameMB * 8) / gbitPerSec;
}

/** How K workers (compute threads, one micro-batch each per step) reach the coordinator. */
export interface Topology {
  label: string;
  /** Connections per worker thread: 1 flat, 1/T with T threads per machine. */
  connectionsPerWorker: number;
  /** Gradients per worker thread: 1, or 1/T when a machine sends one block sum. */
  gradientsPerWorker: number;
}

/**
 * The worker count (threads, one micro-batch each) at which the coordinator's
 * overhead per step, CPU or link, reaches `computeMs`; Infinity when it never does.
 */
export function saturationK(m: CostModel, t: Topology, frameMB: number, computeMs: number, gbitPerSec: number | null): number {
  if (gbitPerSec !== null) return computeMs / linkMs(t.connectionsPerWorker, t.gradientsPerWorker, frameMB, gbitPerSec);
  // a + b·K + q·(g·K)² = computeMs, for K >= 0.
  const b = predictCpuMs(linearPart(m), t.connectionsPerWorker, t.gradientsPerWorker, frameMB) - m.a;
  const qq = m.q * t.gradientsPerWorker ** 2;
  const room = computeMs - m.a;
  if (room <= 0) return 0;
  if (qq === 0) return b <= 0 ? Infinity : room / b;
  return (-b + Math.sqrt(b * b + 4 * qq * room)) / (2 * qq);
}

/** One level's overhead: its coordinator's CPU for `n` children (one gradient each), or its link, whichever is longer. */
function levelMs(m: CostModel, n: number, frameMB: number, gbitPerSec: number | null): number {
  const cpu = predictCpuMs(m, n, n, frameMB);
  return gbitPerSec === null ? cpu : Math.max(cpu, linkMs(n, n, frameMB, gbitPerSec));
}

/**
 * Workers (threads, one micro-batch each) that machines of `threads` sending
 * one block sum each can have before the overhead reaches `computeMs`: with
 * `aggregators` 0, straight to the coordinator; otherwise under a two-level
 * tree, the best number of aggregators chosen (each sums its machines' block
 * sums in a fixed order and sends one gradient up; the levels add up on the
 * step's critical path). `gbitPerSec` null: CPU only.
 */
export function blockSumK(m: CostModel, threads: number, frameMB: number, computeMs: number, gbitPerSec: number | null, tree: boolean): { k: number; aggregators: number } {
  // The largest n with level(n) <= budget, levels being increasing in n.
  const most = (budget: number) => {
    if (levelMs(m, 1, frameMB, gbitPerSec) > budget) return 0;
    let lo = 1;
    let hi = 2;
    while (levelMs(m, hi, frameMB, gbitPerSec) <= budget && hi < 1e9) hi *= 2;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (levelMs(m, mid, frameMB, gbitPerSec) <= budget) lo = mid;
      else hi = mid;
    }
    return lo;
  };
  if (!tree) return { k: threads * most(computeMs), aggregators: 0 };
  let best = { k: 0, aggregators: 0 };
  for (let a = 1; a <= 4096; a++) {
    const root = levelMs(m, a, frameMB, gbitPerSec);
    if (root >= computeMs) break;
    const k = threads * a * most(computeMs - root);
    if (k > best.k) best = { k, aggregators: a };
  }
  return best;
}
