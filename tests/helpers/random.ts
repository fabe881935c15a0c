/**
 * Deterministic random test data for the numeric tests (not a test module itself).
 * @module
 */
import { crossprod, type Matrix, zeros } from "../../stages/linalg/matrix.ts";

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A rows × cols matrix of uniform entries in [−1, 1), from `seed`. */
export function randomMatrix(rows: number, cols: number, seed: number): Matrix {
  const r = rng(seed);
  const m = zeros(rows, cols);
  for (let i = 0; i < m.data.length; i++) m.data[i] = r() * 2 - 1;
  return m;
}

/** A symmetric positive-definite n × n matrix: GᵀG + 0.1·I for a random (n + 3) × n G. */
export function randomSpd(n: number, seed: number): Matrix {
  const g = randomMatrix(n + 3, n, seed);
  const b = crossprod(g, g);
  for (let i = 0; i < n; i++) b.data[i * n + i] += 0.1;
  return b;
}
