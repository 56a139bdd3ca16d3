// V8 flags for the code this process runs (tfjs's wasm backend, our modules, our JavaScript), set
// once, before any of it compiles (flags are process-wide: worker threads share them). None
// changes a result: one adds instructions WebAssembly may use, the others when code is optimised.
import { setFlagsFromString } from 'node:v8';
import { envVar } from './wasm-heap.js';

let done = false;

/**
 * V8's budget of bytecode a function runs between its checks for optimisation (Node 20's V8
 * default: 66 KB, `node --v8-options`): a function is optimised after several budgets, so
 * JavaScript that runs a few times a micro-batch (the kernels' glue) was still being optimised in
 * epochs 3 to 10, 60-odd TurboFan compilations taking 0.09-0.12 of a core from the compute threads
 * (schedstat, 2 threads). With 16 KB during the warm-up they are optimised before the first step.
 * The step loop's own code (the coordinator's and the threads' loops, a few calls a step) then
 * still got hot in epochs 1-3, each compilation (20-40 ms on a helper thread) taking a core from a
 * compute thread: epoch 1 at 0.80-0.87 of epochs 3-5 (2 threads). In `trainer train --threads`,
 * once the threads' warm-up is over (warmUpOver), the budget goes back to V8's default and those
 * compilations come later, spread over more steps: 3 alternating rounds at 2 threads, epoch 1
 * 11,400-11,700 images/s with 16 KB all along, 12,600-13,200 with the default after the warm-up;
 * epochs 3-5 the same (13,300-13,600); over 14 epochs the same total time. A ws worker process
 * keeps 16 KB: its per-step JavaScript (frames, session) gains from being optimised early
 * (`--procs 2`, 3 alternating pairs: epochs 3-5 +2 to +4 % with 16 KB all along, epoch 1 -2 to -7 %).
 */
const INTERRUPT_BUDGET = 16 * 1024;
/** Node 20's V8 default, which warmUpOver() restores. */
const DEFAULT_INTERRUPT_BUDGET = 66 * 1024;


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

/**
 * Every thread of this process that computes has run its warm-up: V8's default interrupt budget
 * from now on, for the whole process (flags are process-wide), unless TRAINER_JS_EAGER=0 (then it
 * was never changed). A thread started later (a lost thread's replacement) sets the warm-up budget
 * again when it loads its kernels (setWasmFlags runs once per thread), and whoever started it
 * calls this again once it is ready.
 */
export function warmUpOver(): void {
  if (envVar('TRAINER_JS_EAGER') !== '0') setFlagsFromString(`--interrupt-budget=${DEFAULT_INTERRUPT_BUDGET}`);
}
