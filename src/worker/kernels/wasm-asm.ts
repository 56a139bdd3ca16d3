// A minimal WebAssembly binary writer, just enough to emit the SIMD kernels in simd-module.ts.
// We assemble at run time because the project has no C/wasm toolchain, and a few hundred bytes
// of hand-written SIMD beat the stock kernels by an order of magnitude on the ops we replace.

export type ValType = 'i32' | 'f32' | 'f64' | 'v128';
const VALTYPE: Record<ValType, number> = { i32: 0x7f, f32: 0x7d, f64: 0x7c, v128: 0x7b };

function uleb(n: number, out: number[]): void {
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
}

function sleb(n: number, out: number[]): void {
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return;
    }
    out.push(byte | 0x80);
  }
}

function f32Bytes(v: number): number[] {
  return [...new Uint8Array(new Float32Array([v]).buffer)];
}

/** i8x16.shuffle lanes moving floats 2 and 3 of the first operand to lanes 0 and 1 (for f64x2.promote_low_f32x4). */
export const HIGH_HALF = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];

/** One function body. Locals are numbered after the parameters, as in the binary format. */
export class Fn {
  readonly code: number[] = [];
  private readonly locals: ValType[] = [];

  constructor(
    readonly name: string,
    readonly params: readonly ValType[],
  ) {}

  local(type: ValType): number {
    this.locals.push(type);
    return this.params.length + this.locals.length - 1;
  }

  private op(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }

  private simd(opcode: number): this {
    this.code.push(0xfd);
    uleb(opcode, this.code);
    return this;
  }

  private mem(align: number, offset: number): this {
    uleb(align, this.code);
    uleb(offset, this.code);
    return this;
  }

  get(i: number): this { this.op(0x20); uleb(i, this.code); return this; }
  set(i: number): this { this.op(0x21); uleb(i, this.code); return this; }
  tee(i: number): this { this.op(0x22); uleb(i, this.code); return this; }
  i32(c: number): this { this.op(0x41); sleb(c | 0, this.code); return this; }
  f32(c: number): this { return this.op(0x43, ...f32Bytes(c)); }

  add(): this { return this.op(0x6a); }
  sub(): this { return this.op(0x6b); }
  mul(): this { return this.op(0x6c); }
  shl(): this { return this.op(0x74); }
  ltS(): this { return this.op(0x48); }
  geS(): this { return this.op(0x4e); }
  eqz(): this { return this.op(0x45); }
  eq(): this { return this.op(0x46); }
  /** call of the module's function number `index` (its position in assembleModule's list). */
  call(index: number): this { this.op(0x10); uleb(index, this.code); return this; }
  ltU(): this { return this.op(0x49); }
  and(): this { return this.op(0x71); }

  f32Load(offset = 0): this { return this.op(0x2a).mem(2, offset); }
  f32Store(offset = 0): this { return this.op(0x38).mem(2, offset); }
  i32Load(offset = 0): this { return this.op(0x28).mem(2, offset); }
  i32Load8U(offset = 0): this { return this.op(0x2d).mem(0, offset); }
  f32Add(): this { return this.op(0x92); }
  f32Sub(): this { return this.op(0x93); }
  f32Mul(): this { return this.op(0x94); }
  f32Div(): this { return this.op(0x95); }
  f32Min(): this { return this.op(0x96); }
  f32Max(): this { return this.op(0x97); }
  f32Abs(): this { return this.op(0x8b); }
  f32Lt(): this { return this.op(0x5d); }
  f32Gt(): this { return this.op(0x5e); }
  select(): this { return this.op(0x1b); }

  v128Load(offset = 0): this { return this.simd(0x00).mem(4, offset); }
  v128Load32Splat(offset = 0): this { return this.simd(0x09).mem(2, offset); }
  v128Store(offset = 0): this { return this.simd(0x0b).mem(4, offset); }
  v128Load64Splat(offset = 0): this { return this.simd(0x0a).mem(3, offset); }
  f64x2PromoteLow(): this { return this.simd(0x5f); }
  /** f32x4.demote_f64x2_zero: the two doubles rounded to float32 in lanes 0-1, zeros in 2-3. */
  f32x4DemoteF64x2Zero(): this { return this.simd(0x5e); }
  f64x2Splat(): this { return this.simd(0x14); }
  f64x2Mul(): this { return this.simd(0xf2); }
  /** i8x16.shuffle of the two v128 operands on the stack; lanes 0-15 pick from the first. */
  i8x16Shuffle(lanes: readonly number[]): this { return this.simd(0x0d).op(...lanes); }
  f64x2Add(): this { return this.simd(0xf0); }
  v128Zero(): this { return this.simd(0x0c).op(...new Array<number>(16).fill(0)); }
  f32x4Const(v: number): this { return this.simd(0x0c).op(...f32Bytes(v), ...f32Bytes(v), ...f32Bytes(v), ...f32Bytes(v)); }
  i32x4Const(v: number): this {
    const b = [...new Uint8Array(new Int32Array([v, v, v, v]).buffer)];
    return this.simd(0x0c).op(...b);
  }
  i32x4Eq(): this { return this.simd(0x37); }
  f32x4Splat(): this { return this.simd(0x13); }
  f32x4ExtractLane(lane: number): this { return this.simd(0x1f).op(lane); }
  f32x4Lt(): this { return this.simd(0x43); }
  f32x4Gt(): this { return this.simd(0x44); }
  bitselect(): this { return this.simd(0x52); }
  v128And(): this { return this.simd(0x4e); }
  /** v128.andnot: a & ~b, with b on top of the stack. */
  v128Andnot(): this { return this.simd(0x4f); }
  f32x4Eq(): this { return this.simd(0x41); }
  f32x4Abs(): this { return this.simd(0xe0); }
  f32x4Add(): this { return this.simd(0xe4); }
  f32x4Sub(): this { return this.simd(0xe5); }
  f32x4Mul(): this { return this.simd(0xe6); }
  f32x4Div(): this { return this.simd(0xe7); }
  f32x4Min(): this { return this.simd(0xe8); }
  f32x4Max(): this { return this.simd(0xe9); }
  f32x4Pmin(): this { return this.simd(0xea); }
  f32x4Pmax(): this { return this.simd(0xeb); }
  /** Relaxed SIMD (a flag in Node 20): a·b + c, fused into one rounding where the CPU has FMA, else mul then add. */
  f32x4RelaxedMadd(): this { return this.simd(0x105); }
  /**
   * acc = acc + a·b on v128 locals: relaxed SIMD's multiply-add with `fused` (one rounding where
   * the CPU has FMA), else a multiply and an add, each rounded.
   */
  accumulateProduct(acc: number, a: number, b: number, fused: boolean): this {
    if (fused) return this.get(a).get(b).get(acc).f32x4RelaxedMadd().set(acc);
    return this.get(acc).get(a).get(b).f32x4Mul().f32x4Add().set(acc);
  }

  /** `block ... end`; `br 0` inside jumps past the end. */
  block(body: () => void): this { this.op(0x02, 0x40); body(); return this.op(0x0b); }
  /** `loop ... end`; `br 0` inside jumps back to the start. */
  loop(body: () => void): this { this.op(0x03, 0x40); body(); return this.op(0x0b); }
  ifThen(body: () => void): this { this.op(0x04, 0x40); body(); return this.op(0x0b); }
  br(depth: number): this { this.op(0x0c); uleb(depth, this.code); return this; }
  brIf(depth: number): this { this.op(0x0d); uleb(depth, this.code); return this; }

  /**
   * for (i = start; i < end; i += step) body(), with `start`, `end`, `step` emitted by the
   * callbacks. Inside body the loop is label depth 0 (continue) and the block depth 1 (break).
   */
  forLoop(i: number, start: () => void, end: () => void, step: number, body: () => void): this {
    start();
    this.set(i);
    return this.block(() => {
      this.loop(() => {
        this.get(i);
        end();
        this.geS().brIf(1);
        body();
        this.get(i).i32(step).add().set(i).br(0);
      });
    });
  }

  encode(): number[] {
    const body: number[] = [];
    uleb(this.locals.length, body);
    for (const t of this.locals) {
      body.push(1, VALTYPE[t]);
    }
    body.push(...this.code, 0x0b);
    const out: number[] = [];
    uleb(body.length, out);
    return out.concat(body);
  }
}

function section(id: number, content: number[]): number[] {
  const out = [id];
  uleb(content.length, out);
  return out.concat(content);
}

function name(s: string, out: number[]): void {
  const bytes = new TextEncoder().encode(s);
  uleb(bytes.length, out);
  out.push(...bytes);
}

/**
 * A module that imports `env.memory` and exports every function (none returns a value); with
 * `shared`, the memory imported is a shared one (of at most 4 GB), as threads share it.
 */
export function assembleModule(fns: readonly Fn[], shared = false): Uint8Array {
  const types: number[] = [];
  uleb(fns.length, types);
  for (const f of fns) {
    types.push(0x60);
    uleb(f.params.length, types);
    for (const p of f.params) types.push(VALTYPE[p]);
    types.push(0);
  }
  const imports: number[] = [1];
  name('env', imports);
  name('memory', imports);
  if (shared) {
    imports.push(0x02, 0x03, 0x00);
    uleb(65536, imports);
  } else {
    imports.push(0x02, 0x00, 0x00);
  }
  const funcs: number[] = [];
  uleb(fns.length, funcs);
  fns.forEach((_, i) => uleb(i, funcs));
  const exports: number[] = [];
  uleb(fns.length, exports);
  fns.forEach((f, i) => {
    name(f.name, exports);
    exports.push(0x00);
    uleb(i, exports);
  });
  const code: number[] = [];
  uleb(fns.length, code);
  for (const f of fns) code.push(...f.encode());
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, types),
    ...section(2, imports),
    ...section(3, funcs),
    ...section(7, exports),
    ...section(10, code),
  ]);
}
