import assert from "node:assert/strict";
import {
  averagePrecision,
  averagePrecisionFromPositions,
  averagePrecisions,
  meanAveragePrecision,
  rankGallery,
  relevantPositions,
  scoreMatrix,
  SIMILARITIES,
  type Similarity,
  transposeScores,
} from "../../../stages/retrieval/map.ts";
import type { Matrix } from "../../../stages/linalg/matrix.ts";

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function mat(rows: number[][]): Matrix {
  return { rows: rows.length, cols: rows[0].length, data: Float64Array.from(rows.flat()) };
}

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-12) {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) {
    assert.ok(Math.abs(a[i] - b[i]) <= tol, `index ${i}: ${a[i]} vs ${b[i]}`);
  }
}

// ---- an independent brute force: plain arrays, comparator sort, AP by its definition ----

function bruteScore(q: number[], g: number[], sim: Similarity): number {
  const dot = (a: number[], b: number[]) => a.reduce((s, v, k) => s + v * b[k], 0);
  const centre = (a: number[]) => {
    const m = a.reduce((s, v) => s + v, 0) / a.length;
    return a.map((v) => v - m);
  };
  if (sim === "inner") return dot(q, g);
  if (sim === "euclidean") return -q.reduce((s, v, k) => s + (v - g[k]) ** 2, 0);
  const [a, b] = sim === "nc" ? [centre(q), centre(g)] : [q, g];
  const den = Math.sqrt(dot(a, a)) * Math.sqrt(dot(b, b));
  return den > 0 ? dot(a, b) / den : 0;
}

function bruteRank(scores: number[]): number[] {
  const idx = scores.map((_, i) => i);
  const key = (s: number) => (Number.isNaN(s) ? -Infinity : s);
  idx.sort((a, b) => {
    const sa = key(scores[a]), sb = key(scores[b]);
    if (sa !== sb) return sb > sa ? 1 : -1;
    return a - b;
  });
  return idx;
}

function bruteAP(scores: number[], rel: boolean[]): number {
  const order = bruteRank(scores);
  const R = rel.filter(Boolean).length;
  if (R === 0) return 0;
  let sum = 0;
  for (let k = 1; k <= order.length; k++) {
    if (!rel[order[k - 1]]) continue;
    let hits = 0;
    for (let j = 1; j <= k; j++) if (rel[order[j - 1]]) hits++;
    sum += hits / k;
  }
  return sum / R;
}

// ---- hand-computed cases ----

Deno.test("averagePrecision: hand-computed ranking 1,0,1,0,0,1", () => {
  const rel = [true, false, true, false, false, true];
  const ap = averagePrecision([0, 1, 2, 3, 4, 5], (j) => rel[j]);
  assert.ok(Math.abs(ap - (1 + 2 / 3 + 3 / 6) / 3) < 1e-15);
  assert.ok(Math.abs(averagePrecisionFromPositions([1, 3, 6]) - ap) < 1e-15);
  assert.equal(averagePrecision([0, 1], () => false), 0);
  assert.equal(averagePrecisionFromPositions([]), 0);
});

Deno.test("tie rule: equal scores rank by gallery index ascending, NaN last", () => {
  const s = [0.5, 0.9, 0.5, 0.5];
  assert.deepEqual([...rankGallery(s)], [1, 0, 2, 3]);
  assert.deepEqual([...relevantPositions(s, (j) => j === 2)], [3]);
  assert.deepEqual([...relevantPositions(s, (j) => j === 0 || j === 3)], [2, 4]);
  // AP of relevant {0, 3}: hits at ranks 2 and 4 → (1/2 + 2/4) / 2.
  const ap = averagePrecisionFromPositions(relevantPositions(s, (j) => j === 0 || j === 3));
  assert.equal(ap, 0.5);
  const withNaN = [NaN, 1, NaN, 0];
  assert.deepEqual([...rankGallery(withNaN)], [1, 3, 0, 2]);
  assert.deepEqual([...relevantPositions(withNaN, (j) => j === 2)], [4]);
  assert.deepEqual([...rankGallery([])], []);
  assert.deepEqual([...rankGallery([7])], [0]);
});

Deno.test("scoreMatrix: hand-computed values for every similarity", () => {
  const q = mat([[1, 0], [0, 2]]);
  const g = mat([[1, 1], [0, -1]]);
  const r = Math.SQRT1_2;
  close(scoreMatrix(q, g, { similarity: "cosine" }), [r, 0, r, -1]);
  close(scoreMatrix(q, g, { similarity: "euclidean" }), [-1, -2, -2, -9]);
  close(scoreMatrix(q, g, { similarity: "inner" }), [1, 0, 2, -2]);
  // nc: g0 centres to zero (scores 0); q0 and g1 centre to ±(0.5, −0.5).
  close(scoreMatrix(q, g, { similarity: "nc" }), [0, 1, 0, -1]);
  assert.throws(() => scoreMatrix(q, mat([[1, 2, 3]]), { similarity: "cosine" }), /dim 2 != /);
  assert.throws(
    () => scoreMatrix(q, g, { similarity: "l1" as Similarity }),
    /unknown similarity "l1"/,
  );
});

Deno.test("transposeScores swaps query and gallery", () => {
  const t = transposeScores(Float64Array.from([1, 2, 3, 4, 5, 6]), { rows: 2, cols: 3 });
  assert.deepEqual([...t], [1, 4, 2, 5, 3, 6]);
  assert.throws(() => transposeScores(new Float64Array(5), { rows: 2, cols: 3 }), /do not fill/);
});

// ---- agreement with the brute force on random data ----

Deno.test("ranking and AP agree with a brute force on random scores with many ties", () => {
  const rand = lcg(11);
  for (let trial = 0; trial < 30; trial++) {
    const n = 1 + Math.floor(rand() * 60);
    // Quantised scores give plenty of ties; a few NaN.
    const scores = Array.from(
      { length: n },
      () => (rand() < 0.05 ? NaN : Math.floor(rand() * 6) / 5 - 0.5),
    );
    const rel = Array.from({ length: n }, () => rand() < 0.3);
    assert.deepEqual([...rankGallery(scores)], bruteRank(scores));
    const pos = relevantPositions(scores, (j) => rel[j]);
    const ap = averagePrecisionFromPositions(pos);
    assert.ok(Math.abs(ap - bruteAP(scores, rel)) < 1e-12, `trial ${trial}`);
    assert.ok(Math.abs(averagePrecision(rankGallery(scores), (j) => rel[j]) - ap) < 1e-12);
  }
});

Deno.test("meanAveragePrecision agrees with a brute force for every similarity", () => {
  const rand = lcg(5);
  // 23 × 37 exercises the 4-row blocking remainder; d = 7 the odd width.
  const nq = 23, ng = 37, d = 7, classes = 4;
  const qx = Array.from({ length: nq }, () => Array.from({ length: d }, () => rand() - 0.5));
  const gx = Array.from({ length: ng }, () => Array.from({ length: d }, () => rand() - 0.5));
  gx[5] = gx[5].map(() => 0); // a zero vector
  gx[9] = [...gx[3]]; // an exact duplicate: ties
  const qy = Array.from({ length: nq }, () => Math.floor(rand() * (classes + 1))); // class 4 absent
  const gy = Array.from({ length: ng }, () => Math.floor(rand() * classes));
  for (const sim of SIMILARITIES) {
    const s = scoreMatrix(mat(qx), mat(gx), { similarity: sim });
    for (let i = 0; i < nq; i++) {
      for (let j = 0; j < ng; j++) {
        assert.ok(Math.abs(s[i * ng + j] - bruteScore(qx[i], gx[j], sim)) < 1e-12);
      }
    }
    let brute = 0;
    const ap = averagePrecisions(s, { query: qy, gallery: gy });
    for (let i = 0; i < nq; i++) {
      const row = gx.map((g) => bruteScore(qx[i], g, sim));
      const b = bruteAP(row, gy.map((c) => c === qy[i]));
      // Scores can differ in the last bit from the brute force's; compare the ranking inputs.
      assert.ok(Math.abs(ap[i] - b) < 1e-9, `${sim} query ${i}: ${ap[i]} vs ${b}`);
      brute += b;
    }
    const m = meanAveragePrecision({ x: mat(qx), y: qy }, { x: mat(gx), y: gy }, {
      similarity: sim,
    });
    assert.ok(Math.abs(m - brute / nq) < 1e-9, `${sim}: ${m} vs ${brute / nq}`);
  }
});

Deno.test("meanAveragePrecision: perfect and reversed embeddings", () => {
  // Two classes on two orthogonal axes: every query ranks its own class first → mAP 1.
  const x = mat([[1, 0], [2, 0], [0, 1], [0, 3]]);
  const y = [0, 0, 1, 1];
  assert.equal(meanAveragePrecision({ x, y }, { x, y }, { similarity: "cosine" }), 1);
  // Inner product against the negated gallery puts the own class last: ranks 3, 4 → AP 7/12.
  const neg = mat([[-1, 0], [-2, 0], [0, -1], [0, -3]]);
  const m = meanAveragePrecision({ x, y }, { x: neg, y }, { similarity: "cosine" });
  assert.ok(Math.abs(m - (1 / 3 + 2 / 4) / 2) < 1e-15);
  assert.throws(
    () => meanAveragePrecision({ x, y: [0] }, { x, y }, { similarity: "cosine" }),
    /must match/,
  );
});
