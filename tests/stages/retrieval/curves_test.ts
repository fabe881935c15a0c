import assert from "node:assert/strict";
import { evaluateDirection, recallGrid, scopeGrid } from "../../../stages/retrieval/curves.ts";

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-12) {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) {
    assert.ok(Math.abs(a[i] - b[i]) <= tol, `index ${i}: ${a[i]} vs ${b[i]}`);
  }
}

/** Scores that rank gallery items in the order given (first = best). */
function scoresFor(order: number[]): Float64Array {
  const s = new Float64Array(order.length);
  order.forEach((j, k) => (s[j] = order.length - k));
  return s;
}

// ---- hand cases ----

Deno.test("curves: hand case, relevance 0,1,0,1,1 (R = 3, hits at ranks 2, 4, 5)", () => {
  const gallery = [1, 0, 1, 0, 0]; // in rank order (scores descending)
  const r = evaluateDirection(scoresFor([0, 1, 2, 3, 4]), {
    query: [0],
    gallery,
    scope: [1, 2, 3, 4, 5],
  });
  // AP = (1/2 + 2/4 + 3/5) / 3.
  assert.ok(Math.abs(r.map - (0.5 + 0.5 + 0.6) / 3) < 1e-15);
  // Interpolated: max precision at recall ≥ r is 3/5 for every r.
  close(r.pr11.precision, new Array(11).fill(0.6));
  close(r.pr11.recall, [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]);
  // Full: precision at the first hit reaching recall r: 1/2 up to r = 2/3, then 3/5.
  const expected = recallGrid(100).map((rc) => (rc <= 2 / 3 ? 0.5 : 0.6));
  close(r.pr.precision, expected);
  close(r.scope.precision, [0, 1 / 2, 1 / 3, 2 / 4, 3 / 5]);
});

Deno.test("curves: hand case, relevance 1,0,1,0,0,1 (interpolation steps)", () => {
  const gallery = [0, 1, 0, 1, 1, 0];
  const r = evaluateDirection(scoresFor([0, 1, 2, 3, 4, 5]), {
    query: [0],
    gallery,
    scope: [2, 6],
  });
  // Hits at 1, 3, 6: precisions 1, 2/3, 1/2. Levels r ≤ 1/3 → 1; ≤ 2/3 → 2/3; else 1/2.
  close(r.pr11.precision, [1, 1, 1, 1, 2 / 3, 2 / 3, 2 / 3, 0.5, 0.5, 0.5, 0.5]);
  close(r.scope.precision, [1 / 2, 3 / 6]);
  assert.ok(Math.abs(r.map - (1 + 2 / 3 + 1 / 2) / 3) < 1e-15);
});

Deno.test("curves: two queries average; a query with no relevant item counts as zero", () => {
  const gallery = [0, 0, 1];
  const s = Float64Array.from([
    ...[3, 2, 1], // query class 0: hits at 1, 2 → AP 1
    ...[3, 2, 1], // query class 7: none in the gallery → AP 0, precision 0
  ]);
  const r = evaluateDirection(s, { query: [0, 7], gallery, scope: [1, 3] });
  assert.equal(r.map, 0.5);
  close(r.ap, [1, 0]);
  close(r.pr11.precision, new Array(11).fill(0.5));
  close(r.scope.precision, [0.5, (2 / 3) / 2]);
});

Deno.test("scopeGrid: step and explicit list, with errors", () => {
  assert.deepEqual(scopeGrid(25, 10), [10, 20]);
  assert.deepEqual(scopeGrid(30, 10), [10, 20, 30]);
  assert.deepEqual(scopeGrid(693, [5, 693]), [5, 693]);
  assert.throws(() => scopeGrid(10, 0), /positive integer/);
  assert.throws(() => scopeGrid(10, [11]), /1\.\.10/);
  assert.throws(() => scopeGrid(10, "x" as unknown as number), /give a step/);
  assert.throws(
    () => evaluateDirection(new Float64Array(3), { query: [0], gallery: [0, 1], scope: [] }),
    /3 scores but 1 query and 2 gallery/,
  );
});

// ---- agreement with a per-rank brute force on random data ----

function bruteCurves(scores: number[], rel: boolean[], scope: number[]) {
  const order = scores.map((_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
  const R = rel.filter(Boolean).length;
  const n = order.length;
  const prec: number[] = [], rec: number[] = [], isHit: boolean[] = [];
  let hits = 0;
  for (let k = 1; k <= n; k++) {
    const h = rel[order[k - 1]];
    if (h) hits++;
    prec.push(hits / k);
    rec.push(R === 0 ? 0 : hits / R);
    isHit.push(h);
  }
  // Interpolated: max over *every* rank whose recall reaches r.
  const pr11 = recallGrid(10).map((r) => {
    if (R === 0) return 0;
    let best = 0;
    for (let k = 0; k < n; k++) if (rec[k] >= r - 1e-12) best = Math.max(best, prec[k]);
    return best;
  });
  // Full: precision at the first hit whose recall reaches r.
  const pr = recallGrid(100).map((r) => {
    if (R === 0) return 0;
    for (let k = 0; k < n; k++) if (isHit[k] && rec[k] >= r - 1e-12) return prec[k];
    throw new Error("unreachable");
  });
  const sc = scope.map((N) => prec[N - 1]);
  return { pr11, pr, sc };
}

Deno.test("curves agree with a per-rank brute force on random data with ties", () => {
  const rand = lcg(3);
  for (let trial = 0; trial < 10; trial++) {
    const nq = 1 + Math.floor(rand() * 8), ng = 2 + Math.floor(rand() * 50);
    const classes = 1 + Math.floor(rand() * 4);
    const qy = Array.from({ length: nq }, () => Math.floor(rand() * (classes + 1)));
    const gy = Array.from({ length: ng }, () => Math.floor(rand() * classes));
    const s = Array.from({ length: nq * ng }, () => Math.floor(rand() * 8));
    const scope = scopeGrid(ng, 3);
    const r = evaluateDirection(Float64Array.from(s), { query: qy, gallery: gy, scope });
    const acc = { pr11: new Array(11).fill(0), pr: new Array(101).fill(0), sc: scope.map(() => 0) };
    for (let q = 0; q < nq; q++) {
      const b = bruteCurves(s.slice(q * ng, (q + 1) * ng), gy.map((c) => c === qy[q]), scope);
      b.pr11.forEach((v, t) => (acc.pr11[t] += v / nq));
      b.pr.forEach((v, t) => (acc.pr[t] += v / nq));
      b.sc.forEach((v, t) => (acc.sc[t] += v / nq));
    }
    close(r.pr11.precision, acc.pr11, 1e-12);
    close(r.pr.precision, acc.pr, 1e-12);
    close(r.scope.precision, acc.sc, 1e-12);
    assert.deepEqual(r.scope.n, scope);
  }
});
