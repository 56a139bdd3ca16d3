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
 *
 * The step loop's own code (the coordinator's trainStep, runStep, the board, the threads' loop:
 * a few calls a step) is not run by the warm-up and got hot during training: 16 KB all along put
 * its compilations (20-40 ms each on a helper thread) in epochs 1-3, epoch 1 at 0.80-0.87 of
 * epochs 3-5; V8's default spread them over epochs 2-10, 20-80 ms of TurboFan a 100-step epoch
 * (`--trace-opt`, 2 threads), each compilation taking a core from a compute thread, so that 2
 * threads ran epochs 3-5 at 13,600-13,800 images/s and reached 14,000-14,900 only from epoch 6
 * (2026-12-01 01:51). Optimising that code gains little: it runs a few times a step, next to 4 ms
 * of wasm. So once the threads have run their warm-up (warmUpOver), `trainer train --threads`
 * sets the budget to AFTER_WARM_UP_FACTOR times V8's default: the same code is optimised over ten
 * times as many steps, and code that deoptimises (an evaluation's shapes) is still optimised again
 * later.
 * 3 alternating rounds at 2 threads (02:0x): epochs 3-5 13,581-13,781 images/s with the default,
 * 14,142-14,573 with 10x; 1 thread and fc the same; 10 epochs evaluating every 2: epochs 6-10
 * 14,200-14,700 with 10x, 13,500-14,800 with the default. (`--no-turbofan` after the warm-up was
 * as fast in epochs 1-5, but then code thrown away by an evaluation is never optimised again.)
 * A ws worker process keeps 16 KB: its per-step JavaScript (frames, session) gains from being
 * optimised early (`--procs 2`, 3 alternating pairs: epochs 3-5 +2 to +4 % with 16 KB all along,
 * epoch 1 -2 to -7 %; 10x after its warm-up: epochs 3-5 no faster, 3 pairs at 02:1x), and so do
 * the threads behind `trainer worker --threads N` (10x after their warm-up, a coordinator and one
 * such worker with 2 threads, 3 pairs of 8 epochs: epochs 6-8 -9, -2 and +2 %, 2026-12-01 03:3x).
 */
const INTERRUPT_BUDGET = 16 * 1024;
/** Node 20's V8 default. */
const DEFAULT_INTERRUPT_BUDGET = 66 * 1024;
/** The budget once the threads are warm, as a multiple of V8's default. */
export const AFTER_WARM_UP_FACTOR = 10;

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
 * Every thread of this process that computes is ready: from now on V8 optimises JavaScript after
 * AFTER_WARM_UP_FACTOR times its default budget when they all ran the warm-up (`warmedUp`: on wasm,
 * the code a micro-batch runs many times is optimised already), after its default budget otherwise
 * (webgpu, cpu, TRAINER_WARMUP_STEPS=0: no warm-up, and the kernels' JavaScript is still to be
 * optimised). For the whole process (flags are process-wide), unless TRAINER_JS_EAGER=0 (then the
 * budget is never changed). A thread started later (a lost thread's replacement) sets the warm-up
 * budget again when it loads its kernels (setWasmFlags runs once per thread), and whoever started
 * it calls this again once it is ready.
 */
export function warmUpOver(warmedUp: boolean): void {
  if (envVar('TRAINER_JS_EAGER') !== '0') setFlagsFromString(`--interrupt-budget=${(warmedUp ? AFTER_WARM_UP_FACTOR : 1) * DEFAULT_INTERRUPT_BUDGET}`);
}
