/** Shared numeric helpers of the DSE loss tests (not a test module itself). */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";

/** Central finite differences of a float64 function. */
export function fd(f: (v: number[]) => number, v: number[], eps = 1e-6): number[] {
  return v.map((_, i) => {
    const p = v.slice(), m = v.slice();
    p[i] += eps;
    m[i] -= eps;
    return (f(p) - f(m)) / (2 * eps);
  });
}

/** Every entry within `tol` × max(|want|) of `want`. */
export function assertClose(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  tol: number,
  what: string,
): void {
  assertEquals(got.length, want.length);
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) {
    assert(
      Math.abs(got[i] - want[i]) <= tol * Math.max(scale, 1e-3),
      `${what}[${i}]: got ${got[i]}, want ${want[i]}`,
    );
  }
}
