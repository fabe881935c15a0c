/**
 * Benchmark of the evaluation: score matrix, ranking and curves at the Wikipedia test size
 * (693 × 693), for the widths of the SIFT features (128) and of a DSE embedding (2048).
 *
 * Run: `deno run -A bench/eval.ts`.
 * @module
 */
import { evaluateDirection, scopeGrid } from "../stages/retrieval/curves.ts";
import {
  averagePrecision,
  rankGallery,
  scoreMatrix,
  SIMILARITIES,
  transposeScores,
} from "../stages/retrieval/map.ts";
import type { Matrix } from "../stages/linalg/matrix.ts";

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function randomMatrix(rows: number, cols: number, rand: () => number): Matrix {
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = rand() - 0.5;
  return { rows, cols, data };
}

function time<T>(f: () => T, repeats = 3): { ms: number; value: T } {
  let best = Infinity;
  let value!: T;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    value = f();
    best = Math.min(best, performance.now() - t0);
  }
  return { ms: best, value };
}

/** Print timings (best of 3) of each evaluation step at 693 × 693. */
export async function bench(): Promise<void> {
  const n = 693;
  const rand = lcg(7);
  const counts = [34, 88, 96, 85, 65, 58, 51, 41, 71, 104];
  const y = new Int32Array(n);
  let o = 0;
  for (const [c, k] of counts.entries()) for (let t = 0; t < k; t++) y[o++] = c;
  const scope = scopeGrid(n, 10);
  console.log(`eval bench: ${n} queries × ${n} gallery, best of 3, ms`);
  for (const d of [128, 2048]) {
    const img = randomMatrix(n, d, rand), txt = randomMatrix(n, d, rand);
    for (const sim of SIMILARITIES) {
      const s = time(() => scoreMatrix(img, txt, { similarity: sim }));
      const e = time(() => evaluateDirection(s.value, { query: y, gallery: y, scope }));
      const t = time(() => transposeScores(s.value, { rows: n, cols: n }));
      console.log(
        `  d=${String(d).padStart(4)} ${sim.padEnd(9)} scores ${s.ms.toFixed(1).padStart(7)}  ` +
          `rank+AP+PR+P@N per direction ${e.ms.toFixed(1).padStart(6)}  ` +
          `transpose ${t.ms.toFixed(1)}  (mAP ${e.value.map.toFixed(4)})`,
      );
    }
  }
  // The full-permutation path (rankGallery + averagePrecision), for comparison.
  const s = scoreMatrix(randomMatrix(n, 128, rand), randomMatrix(n, 128, rand), {
    similarity: "cosine",
  });
  const full = time(() => {
    let tot = 0;
    for (let i = 0; i < n; i++) {
      const yi = y[i];
      tot += averagePrecision(rankGallery(s.subarray(i * n, (i + 1) * n)), (j) => y[j] === yi);
    }
    return tot / n;
  });
  console.log(
    `  full argsort (rankGallery) + AP, one direction: ${full.ms.toFixed(1)} ms ` +
      `(mAP ${full.value.toFixed(4)})`,
  );
  await Promise.resolve();
}

if (import.meta.main) await bench();
