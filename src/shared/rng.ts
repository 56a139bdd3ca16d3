/**
 * Seeded randomness. Every random choice of a run (initial weights, the
 * per-epoch order of examples) comes from a stream derived from (seed, purpose,
 * ...), never from Math.random: that is what lets any number of workers, and a
 * resumed run, take the same global batches.
 */

/**
 * sfc32: small, fast, 128-bit state, good statistical quality. The state words are held as
 * int32 (`| 0`), never as uint32: every operation on them is the same modulo 2^32 either way, but
 * a uint32 above 2^31 is not a small integer to V8, so the fields' representation changed from
 * one generator to the next, and the optimised shuffle of each epoch (epochPermutation, on the
 * coordinator) was thrown away ("wrong map") and compiled again on a helper thread, on a core a
 * compute thread was using.
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(state: readonly [number, number, number, number]) {
    this.a = state[0] | 0;
    this.b = state[1] | 0;
    this.c = state[2] | 0;
    this.d = state[3] | 0;
  }

  /** A stream for (seed, ...labels): the same labels always give the same stream. */
  static derive(seed: number, ...labels: (string | number)[]): Rng {
    const key = [seed, ...labels].join('/');
    let h = 0x811c9dc5;
    const state: number[] = [];
    for (let k = 0; k < 4; k++) {
      for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
      h = Math.imul(h ^ (k + 1), 0x5bd1e995);
      state.push(h >>> 0);
    }
    const rng = new Rng(state as [number, number, number, number]);
    for (let i = 0; i < 12; i++) rng.nextUint32(); // mix the seed in
    return rng;
  }

  /** The state words as uint32. */
  state(): [number, number, number, number] {
    return [this.a >>> 0, this.b >>> 0, this.c >>> 0, this.d >>> 0];
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1) with 32 bits of precision. */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n), without modulo bias. */
  int(n: number): number {
    const limit = 4294967296 - (4294967296 % n);
    let x: number;
    do x = this.nextUint32();
    while (x >= limit);
    return x % n;
  }
}

/** The order of the `n` examples in `epoch`: depends only on (seed, epoch, n). */
export function epochPermutation(seed: number, epoch: number, n: number): Int32Array {
  const rng = Rng.derive(seed, 'permutation', epoch);
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i] as number;
    p[i] = p[j] as number;
    p[j] = t;
  }
  return p;
}
