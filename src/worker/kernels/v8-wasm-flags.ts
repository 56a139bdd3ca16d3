// V8 flags for the code this process runs (tfjs's wasm backend, our modules, our JavaScript), set
// once, before any of it compiles (flags are process-wide: worker threads share them). None
// changes a result: one adds instructions WebAssembly may use, the others when code is optimised.
import { setFlagsFromString } from 'node:v8';
import { envVar } from './wasm-heap.js';

let done = false;

/**
 * V8's budget of bytecode a function runs between its checks for optimisation (V8 11's default:
 * 132 KB): a function is optimised after several budgets, so JavaScript that runs a few times a
 * step (the kernels' glue, the board, the step loop) was still being optimised in epochs 3 to 10,
 * 60-odd TurboFan compilations taking 0.09-0.12 of a core from the compute threads (schedstat,
 * 2 threads). With 16 KB they are optimised during the warm-up and the first epoch: 3 alternating
 * rounds, 2 threads' steady state +8 % (1 thread +2 %).
 */
const INTERRUPT_BUDGET = 16 * 1024;

/**
 * Allows relaxed SIMD (shipped in Node 22, behind a flag in Node 20) for the fused multiply-add of
 * the products, convolutions and Tanh, unless TRAINER_WASM_FMA=0; compiles every wasm function
 * with the optimising compiler when its module loads, unless TRAINER_WASM_EAGER=0; and optimises
 * JavaScript sooner (INTERRUPT_BUDGET), unless TRAINER_JS_EAGER=0. V8's default for wasm (dynamic
 * tiering) first runs a function as quickly compiled baseline code and optimises it in the
 * background once it has run a while: on 2 cores both taken by compute threads, that background
 * work waits, and the first epoch ran at 0.76-0.87 of the steady state (2 threads, 150 warm-up
 * micro-batches; 0.83-0.86 eager, 0.98-1.01 eager with 300). Compiling tfjs's module eagerly
 * costs a few hundred milliseconds of start-up, which the faster first epoch pays back.
 */
export function setWasmFlags(): void {
  if (done) return;
  done = true;
  if (envVar('TRAINER_WASM_FMA') !== '0') setFlagsFromString('--experimental-wasm-relaxed-simd');
  if (envVar('TRAINER_WASM_EAGER') !== '0') setFlagsFromString('--no-wasm-dynamic-tiering');
  if (envVar('TRAINER_JS_EAGER') !== '0') setFlagsFromString(`--interrupt-budget=${INTERRUPT_BUDGET}`);
}
