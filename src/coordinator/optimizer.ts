/**
 * SGD with momentum and weight decay, in the coordinator, on the flat parameter
 * vector: PyTorch's torch.optim.SGD (dampening 0, no Nesterov):
 *   g = grad + weightDecay·p;  buf = momentum·buf + g (buf = g on the first step);  p -= lr·buf
 * Plain loops over Float32Arrays: every intermediate is rounded to float32 the
 * same way on every run, which the parity promise relies on.
 */
export interface SgdOptions {
  lr: number;
  momentum: number;
  weightDecay: number;
}

export interface SgdState {
  /** Momentum buffer; null until the first step with momentum > 0. */
  momentum: Float32Array | null;
}

export function sgdStep(params: Float32Array, grad: Float32Array, state: SgdState, opt: SgdOptions): void {
  const { lr, momentum, weightDecay } = opt;
  const n = params.length;
  if (momentum === 0) {
    for (let i = 0; i < n; i++) {
      const p = params[i] as number;
      const g = weightDecay === 0 ? (grad[i] as number) : Math.fround((grad[i] as number) + Math.fround(weightDecay * p));
      params[i] = p - Math.fround(lr * g);
    }
    return;
  }
  const first = state.momentum === null;
  const buf = (state.momentum ??= new Float32Array(n));
  for (let i = 0; i < n; i++) {
    const p = params[i] as number;
    const g = weightDecay === 0 ? (grad[i] as number) : Math.fround((grad[i] as number) + Math.fround(weightDecay * p));
    const b = first ? g : Math.fround(Math.fround(momentum * (buf[i] as number)) + g);
    buf[i] = b;
    params[i] = p - Math.fround(lr * b);
  }
}

/**
 * The step gradient: micro-batch gradients added in micro-batch order (a fixed
 * left-to-right sum, rounded to float32 after each addition), then divided by
 * the number of examples in the global batch.
 */
export function reduceGradients(out: Float32Array, parts: readonly Float32Array[], examples: number): void {
  out.fill(0);
  for (const part of parts) {
    for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) + (part[i] as number);
  }
  for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) / examples;
}
