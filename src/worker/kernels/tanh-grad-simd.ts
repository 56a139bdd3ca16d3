// The fused tanh gradient as wasm SIMD, for simd-module.ts. tfjs computes it as three ops,
// mul(sub(1, square(y)), dy), each rounding to float32; here the same three IEEE operations run
// per lane in the same order and with the same operands, so every result has the same bits.
import { Fn } from './wasm-asm.js';

/** Vectors per iteration of the main loop: the work per vector is tiny, the loop overhead is not. */
const UNROLL = 4;

/** tanhGrad(dyPtr, yPtr, outPtr, n): out[i] = (1 - y[i]*y[i]) * dy[i] for n floats. */
export function tanhGradFn(): Fn {
  const f = new Fn('tanhGrad', ['i32', 'i32', 'i32', 'i32']);
  const [dyPtr, yPtr, outPtr, n] = [0, 1, 2, 3];
  const i = f.local('i32');
  const end = f.local('i32');
  const v = f.local('v128');
  const s = f.local('f32');
  const byteAt = (base: number): Fn => f.get(base).get(i).i32(2).shl().add();
  const vectors = (count: number): void => {
    for (let j = 0; j < count; j++) {
      byteAt(outPtr);
      f.f32x4Const(1);
      byteAt(yPtr).v128Load(16 * j).tee(v).get(v).f32x4Mul().f32x4Sub();
      byteAt(dyPtr).v128Load(16 * j).f32x4Mul().v128Store(16 * j);
    }
  };
  f.get(n).i32(-4 * UNROLL).and().set(end);
  f.forLoop(i, () => f.i32(0), () => f.get(end), 4 * UNROLL, () => vectors(UNROLL));
  f.get(n).i32(-4).and().set(end);
  f.forLoop(i, () => f.get(i), () => f.get(end), 4, () => vectors(1));
  f.forLoop(i, () => f.get(i), () => f.get(n), 1, () => {
    byteAt(outPtr);
    f.f32(1);
    byteAt(yPtr).f32Load().tee(s).get(s).f32Mul().f32Sub();
    byteAt(dyPtr).f32Load().f32Mul().f32Store();
  });
  return f;
}
