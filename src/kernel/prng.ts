/**
 * The simulation's only source of randomness: a seeded 32-bit generator
 * (mulberry32). Same seed, same sequence, on every platform.
 */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed | 0;
  }

  // The state and the steps are signed 32-bit values (the same bits as the
  // unsigned ones: every operation here works modulo 2^32), so none is boxed
  // as a heap number; only the result is made unsigned.
  /** The next unsigned 32-bit value. */
  nextU32(): number {
    const s = (this.state + 0x6d2b79f5) | 0;
    this.state = s;
    let z = Math.imul(s ^ (s >>> 15), s | 1);
    z = z ^ (z + Math.imul(z ^ (z >>> 7), z | 61));
    return (z ^ (z >>> 14)) >>> 0;
  }

  /** A uniform integer in [0, n) for 0 < n <= 2^32 (multiply-shift, no modulo bias worth measuring). */
  nextInt(n: number): number {
    return Math.floor((this.nextU32() / 4294967296) * n);
  }

  /** A uniform float in [0, 1). */
  nextFloat(): number {
    return this.nextU32() / 4294967296;
  }
}

/**
 * Derive an independent 32-bit seed for stream `stream` from `seed`
 * (a splitmix-style finaliser), so the scheduler's and the user's random
 * streams never perturb each other.
 */
export function deriveSeed(seed: number, stream: number): number {
  let z = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(stream + 1, 0x85ebca77)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x7feb352d) >>> 0;
  z = Math.imul(z ^ (z >>> 15), 0x846ca68b) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}
