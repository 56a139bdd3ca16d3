/**
 * The pictures of the synthetic dataset: one shape per class, with its own
 * orientation and a loose colour preference, drawn at a random position and
 * size over a gradient background with clutter, texture and pixel noise.
 *
 * Only IEEE-exact operations (+ - * /, sqrt, floor) and an own PRNG, never
 * Math.random, sin, cos, exp or pow, whose last bits may differ between
 * platforms: the same seed draws the same bytes on every machine.
 */
import { IMAGE_BYTES, IMAGE_SIDE, PLANE_BYTES } from './cifar-format.js';

/** mulberry32: small, fast, good enough for pictures; 32-bit state. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  u32(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  /** Approximately standard normal (Irwin–Hall of 4, no log/cos). */
  normal(): number {
    return (this.next() + this.next() + this.next() + this.next() - 2) * 1.7320508075688772;
  }
}

export function mix32(x: number): number {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

type Rgb = [number, number, number];

/** HSV in [0,1] to RGB in [0,1]; piecewise linear, so exact everywhere. */
function hsv(h: number, s: number, v: number): Rgb {
  const hh = (h - Math.floor(h)) * 6;
  const sector = Math.floor(hh);
  const f = hh - sector;
  const p = v * (1 - s);
  const q = v * (1 - s * f);
  const t = v * (1 - s * (1 - f));
  switch (sector) {
    case 0: return [v, t, p];
    case 1: return [q, v, p];
    case 2: return [p, v, t];
    case 3: return [p, q, v];
    case 4: return [t, p, v];
    default: return [v, p, q];
  }
}

function randomColour(rng: Rng): Rgb {
  return hsv(rng.next(), rng.range(0.2, 1), rng.range(0.15, 1));
}

/** Background colours: any hue, washed out, so the object usually stands out. */
function dullColour(rng: Rng): Rgb {
  return hsv(rng.next(), rng.range(0, 0.4), rng.range(0.15, 0.9));
}

/** Signed distance (pixels, negative inside) from local point (a, b) to a box of half-sizes hx, hy. */
function boxDist(a: number, b: number, hx: number, hy: number): number {
  const qx = Math.abs(a) - hx;
  const qy = Math.abs(b) - hy;
  const ox = qx > 0 ? qx : 0;
  const oy = qy > 0 ? qy : 0;
  return Math.sqrt(ox * ox + oy * oy) + Math.min(Math.max(qx, qy), 0);
}

/**
 * A class's shape: signed distance at local coordinates (a along the shape's
 * axis, b across it), for a shape of size r. `base` is the axis direction
 * before jitter: orientation is part of the class (bar vs bar, + vs ×).
 */
interface Shape {
  base: [number, number];
  hue: number;
  dist(a: number, b: number, r: number): number;
}

const SQRT1_2 = 0.7071067811865476;
export const SHAPES: readonly Shape[] = [
  { base: [1, 0], hue: 0.0, dist: (a, b, r) => Math.sqrt(a * a + b * b) - r }, // disc
  { base: [1, 0], hue: 0.1, dist: (a, b, r) => Math.abs(Math.sqrt(a * a + b * b) - r * 0.8) - Math.max(1, r * 0.18) }, // ring
  { base: [1, 0], hue: 0.2, dist: (a, b, r) => boxDist(a, b, r, Math.max(1.2, r * 0.28)) }, // horizontal bar
  { base: [0, 1], hue: 0.3, dist: (a, b, r) => boxDist(a, b, r, Math.max(1.2, r * 0.28)) }, // vertical bar
  { base: [1, 0], hue: 0.4, dist: (a, b, r) => cross(a, b, r) }, // plus
  { base: [SQRT1_2, SQRT1_2], hue: 0.5, dist: (a, b, r) => cross(a, b, r) }, // diagonal cross
  { base: [1, 0], hue: 0.6, dist: (a, b, r) => boxDist(a, b, r * 0.8, r * 0.8) }, // filled square
  { base: [1, 0], hue: 0.7, dist: (a, b, r) => Math.abs(boxDist(a, b, r * 0.75, r * 0.75)) - Math.max(0.9, r * 0.15) }, // frame
  { base: [1, 0], hue: 0.8, dist: (a, b, r) => triangle(a, b, r) }, // triangle, apex up
  { base: [1, 0], hue: 0.9, dist: (a, b, r) => Math.sqrt(a * a + b * b) - r * 0.9 }, // striped disc (two colours)
];
const STRIPED_CLASS = 9;

function cross(a: number, b: number, r: number): number {
  const w = Math.max(1, r * 0.24);
  return Math.min(boxDist(a, b, r, w), boxDist(a, b, w, r));
}

/** Equilateral-ish triangle, apex towards -b (up), as the max of three edge half-planes. */
function triangle(a: number, b: number, r: number): number {
  // Edge normals (unit): bottom (0, 1); left (-0.866, -0.5); right (0.866, -0.5). Inradius r/2.
  const h = r * 0.5;
  const d0 = b - h;
  const d1 = -0.8660254037844386 * a - 0.5 * b - h;
  const d2 = 0.8660254037844386 * a - 0.5 * b - h;
  return Math.max(d0, d1, d2);
}

/** Blends `colour` into the canvas with coverage from a signed distance (1-pixel soft edge). */
function paint(canvas: Float64Array, p: number, d: number, rgb: Rgb, opacity: number): void {
  let alpha = 0.5 - d;
  if (alpha <= 0) return;
  if (alpha > 1) alpha = 1;
  alpha *= opacity;
  for (let c = 0; c < 3; c++) {
    const at = c * PLANE_BYTES + p;
    canvas[at] = (canvas[at] as number) * (1 - alpha) + rgb[c]! * alpha;
  }
}

export function renderImage(canvas: Float64Array, label: number, rng: Rng): void {
  const S = IMAGE_SIDE;
  // Background: a linear gradient between two colours along a random direction,
  // sometimes with faint stripes.
  const bgA = dullColour(rng);
  const bgB = dullColour(rng);
  const [gdx, gdy] = unitVector(rng.normal(), rng.normal());
  const bgStripes = rng.chance(0.35) ? rng.range(0.04, 0.12) : 0;
  const [sdx, sdy] = unitVector(rng.normal(), rng.normal());
  const bgPeriod = rng.range(3, 9);
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const p = y * S + x;
      let t = ((x - 15.5) * gdx + (y - 15.5) * gdy) / 32 + 0.5;
      t = t < 0 ? 0 : t > 1 ? 1 : t;
      const stripe = bgStripes * triangleWave((x * sdx + y * sdy) / bgPeriod);
      for (let c = 0; c < 3; c++) canvas[c * PLANE_BYTES + p] = bgA[c]! + (bgB[c]! - bgA[c]!) * t + stripe;
    }
  }

  // Clutter: small blobs and short strokes in random colours.
  const clutter = rng.int(3);
  for (let k = 0; k < clutter; k++) drawClutter(canvas, rng);

  // The object.
  const shape = SHAPES[label] as Shape;
  const r = rng.range(6.5, 12);
  const cx = rng.range(r * 0.7, S - r * 0.7);
  const cy = rng.range(r * 0.7, S - r * 0.7);
  const jitter = rng.range(-0.3, 0.3); // about ±17 degrees
  const [ux, uy] = unitVector(shape.base[0] - jitter * shape.base[1], shape.base[1] + jitter * shape.base[0]);
  // Colour is a hint, not the answer: usually near the class's hue, sometimes anything.
  const hue = rng.chance(0.15) ? rng.next() : shape.hue + rng.normal() * 0.04;
  const colour = hsv(hue, rng.range(0.5, 1), rng.range(0.5, 1));
  const second = randomColour(rng);
  const striped = label === STRIPED_CLASS;
  const textured = striped || rng.chance(0.3);
  const texAmount = striped ? 1 : rng.range(0.15, 0.4);
  const [tx, ty] = unitVector(rng.normal(), rng.normal());
  const texPeriod = rng.range(2.5, 5);
  const opacity = rng.range(0.75, 1);
  const rgb: Rgb = [0, 0, 0];
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const px = x + 0.5 - cx;
      const py = y + 0.5 - cy;
      const a = px * ux + py * uy;
      const b = -px * uy + py * ux;
      const d = shape.dist(a, b, r);
      if (d >= 0.5) continue;
      const w = textured ? texAmount * triangleWave((px * tx + py * ty) / texPeriod) : 0;
      for (let c = 0; c < 3; c++) rgb[c] = colour[c]! * (1 - w) + (striped ? second[c]! : colour[c]! * 0.4) * w;
      paint(canvas, y * S + x, d, rgb, opacity);
    }
  }

  // Sometimes one stroke crosses the object.
  if (rng.chance(0.25)) drawClutter(canvas, rng);

  // Per-image contrast/brightness, then per-pixel noise.
  const gain = rng.range(0.75, 1.15);
  const offset = rng.range(-0.08, 0.08);
  const sigma = rng.range(0.01, 0.05);
  for (let i = 0; i < IMAGE_BYTES; i++) canvas[i] = ((canvas[i] as number) - 0.5) * gain + 0.5 + offset + sigma * rng.normal();
}

function drawClutter(canvas: Float64Array, rng: Rng): void {
  const S = IMAGE_SIDE;
  const colour = randomColour(rng);
  const x0 = rng.range(0, S);
  const y0 = rng.range(0, S);
  const blob = rng.chance(0.5);
  const radius = blob ? rng.range(1.2, 3) : rng.range(0.5, 1);
  const len = blob ? 0 : rng.range(3, 9);
  const [dx, dy] = unitVector(rng.normal(), rng.normal());
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const px = x + 0.5 - x0;
      const py = y + 0.5 - y0;
      // Distance to the segment from (x0, y0) along (dx, dy) for len pixels.
      let t = px * dx + py * dy;
      t = t < 0 ? 0 : t > len ? len : t;
      const ex = px - t * dx;
      const ey = py - t * dy;
      const d = Math.sqrt(ex * ex + ey * ey) - radius;
      if (d < 0.5) paint(canvas, y * S + x, d, colour, 1);
    }
  }
}

/** 0..1..0 every unit of t; a trig-free stand-in for a sine wave. */
function triangleWave(t: number): number {
  const f = t - Math.floor(t);
  return f < 0.5 ? 2 * f : 2 - 2 * f;
}

function unitVector(x: number, y: number): [number, number] {
  const n = Math.sqrt(x * x + y * y);
  return n > 1e-9 ? [x / n, y / n] : [1, 0];
}
