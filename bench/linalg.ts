/**
 * Benchmark of the linear-algebra kernels behind the baselines: symmetric eigendecomposition
 * (ml-matrix's tred2/tql2) at 128 (SIFT), 512 and 1000, and the generalized symmetric-definite
 * problem by Cholesky whitening at 138 = 128 + 10 (the Wikipedia GMA/CCA system), and the
 * paper target's PCA-1000 of 4096-d AlexNet fc6 features of Wikipedia's 2173 training images (the
 * Gram path; `DSE_BENCH_PCA_COV=1` also times the d×d covariance path, minutes).
 *
 * Run: `deno run -A bench/linalg.ts`.
 * @module
 */
import { fitPca } from "../stages/baselines/preprocess.ts";
import { crossprod, genSymEig, type Matrix, symEig, zeros } from "../stages/linalg/mod.ts";

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randomSymmetric(n: number, rand: () => number): Matrix {
  const m = zeros(n, n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const v = rand() - 0.5;
      m.data[i * n + j] = v;
      m.data[j * n + i] = v;
    }
  }
  return m;
}

function randomSpd(n: number, rand: () => number): Matrix {
  const g = zeros(2 * n, n);
  for (let i = 0; i < g.data.length; i++) g.data[i] = rand() - 0.5;
  const b = crossprod(g, g);
  for (let i = 0; i < n; i++) b.data[i * n + i] += 1e-3;
  return b;
}

function time(label: string, reps: number, f: () => void, warmUp = true): void {
  if (warmUp) f();
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) f();
  const ms = (performance.now() - t0) / reps;
  console.log(`${label.padEnd(40)} ${ms.toFixed(1).padStart(9)} ms`);
}

/** Print timings of the eigen solvers. */
export async function bench(): Promise<void> {
  const rand = lcg(1);
  for (const n of [128, 512, 1000]) {
    const a = randomSymmetric(n, rand);
    time(`symEig ${n}×${n}`, n >= 1000 ? 1 : 3, () => void symEig(a));
  }
  const a = randomSymmetric(138, rand), b = randomSpd(138, rand);
  time("genSymEig 138×138 (all pairs)", 10, () => void genSymEig(a, b, { reg: 1e-3 }));
  const x = zeros(2173, 4096);
  for (let i = 0; i < x.data.length; i++) x.data[i] = Math.max(0, rand() - 0.7); // ReLU-like
  time("fitPca 2173×4096 → 1000 (Gram path)", 1, () => void fitPca(x, { k: 1000 }), false);
  if (Deno.env.get("DSE_BENCH_PCA_COV") === "1") {
    time(
      "fitPca 2173×4096 → 1000 (covariance)",
      1,
      () => void fitPca(x, { k: 1000, method: "covariance" }),
    );
  }
  await Promise.resolve();
}

if (import.meta.main) await bench();
