import assert from "node:assert/strict";
import {
  centerRowL2,
  fitLrbs,
  lipschitzBound,
  lrbsKind,
  pairLoss,
  spectralNorm,
  stratifiedSplit,
  svt,
} from "../../../stages/baselines/lrbs.ts";
import { meanAveragePrecision } from "../../../stages/retrieval/map.ts";
import { crossprod, matmul, transpose, zeros } from "../../../stages/linalg/mod.ts";
import { readLabels, readMatrix, writeLabels, writeMatrix } from "../../../stages/tensor_io/npy.ts";
import type { Matrix } from "../../../stages/linalg/matrix.ts";
import { runKind } from "../../helpers/stage_context.ts";

/** Deterministic uniform [0, 1) generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randn(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

function randMatrix(rows: number, cols: number, r: () => number): Matrix {
  return { rows, cols, data: Float64Array.from({ length: rows * cols }, () => randn(r)) };
}

/** n × n Householder reflection I − 2vvᵀ/‖v‖² (orthogonal). */
function householder(n: number, r: () => number): Matrix {
  const v = Array.from({ length: n }, () => randn(r));
  const vv = v.reduce((s, a) => s + a * a, 0);
  const h = zeros(n, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) h.data[i * n + j] = (i === j ? 1 : 0) - 2 * v[i] * v[j] / vv;
  }
  return h;
}

/**
 * A planted class problem: class codes u_c ∈ R² at 120° (u_cᵀu_c' = 1 or −½), x = P u_c + noise,
 * y = Q u_c + noise, P and Q with orthonormal columns. The planted similarity is W* = PQᵀ.
 */
function planted(n: number, noise: number, seed: number) {
  const r = rng(seed);
  const p = 6, q = 5, classes = 3;
  const hp = householder(p, r), hq = householder(q, r);
  const pm: Matrix = { rows: p, cols: 2, data: new Float64Array(p * 2) };
  const qm: Matrix = { rows: q, cols: 2, data: new Float64Array(q * 2) };
  for (let i = 0; i < p; i++) pm.data.set(hp.data.subarray(i * p, i * p + 2), i * 2);
  for (let i = 0; i < q; i++) qm.data.set(hq.data.subarray(i * q, i * q + 2), i * 2);
  const labels = Int32Array.from({ length: n }, (_, i) => i % classes);
  const u: Matrix = { rows: n, cols: 2, data: new Float64Array(n * 2) };
  labels.forEach((c, i) => {
    u.data[i * 2] = Math.cos((2 * Math.PI * c) / 3);
    u.data[i * 2 + 1] = Math.sin((2 * Math.PI * c) / 3);
  });
  const x = matmul(u, transpose(pm)), y = matmul(u, transpose(qm));
  for (let i = 0; i < x.data.length; i++) x.data[i] += noise * randn(r);
  for (let i = 0; i < y.data.length; i++) y.data[i] += noise * randn(r);
  return { x, y, labels, pm, qm };
}

Deno.test("svt: shrinks known singular values by τ and drops those below", () => {
  const r = rng(1);
  const s = [5, 3, 1.5, 0.4];
  const u = householder(6, r), v = householder(4, r);
  const a = zeros(6, 4);
  for (let c = 0; c < 4; c++) {
    for (let i = 0; i < 6; i++) {
      for (let j = 0; j < 4; j++) a.data[i * 4 + j] += u.data[i * 6 + c] * s[c] * v.data[j * 4 + c];
    }
  }
  const tau = 1;
  const out = svt(a, tau);
  assert.equal(out.rank, 2 + 1); // 5, 3, 1.5 survive; 0.4 is dropped
  assert.ok(Math.abs(out.nuclear - (4 + 2 + 0.5)) < 1e-10);
  const want = zeros(6, 4);
  for (let c = 0; c < 4; c++) {
    const sc = Math.max(s[c] - tau, 0);
    for (let i = 0; i < 6; i++) {
      for (let j = 0; j < 4; j++) {
        want.data[i * 4 + j] += u.data[i * 6 + c] * sc * v.data[j * 4 + c];
      }
    }
  }
  for (let i = 0; i < 24; i++) assert.ok(Math.abs(out.w.data[i] - want.data[i]) < 1e-10);
  assert.ok(Math.abs(spectralNorm(a) - 5) < 1e-10);
  // Large τ gives exactly zero.
  const z = svt(a, 10);
  assert.equal(z.rank, 0);
  assert.ok(z.w.data.every((x) => x === 0));
});

Deno.test("lrbs: pairLoss equals the brute-force N×N sum and its gradient matches finite differences", () => {
  const { x, y, labels } = planted(12, 0.5, 2);
  const r = rng(3);
  const w = randMatrix(6, 5, r);
  const g = zeros(6, 5);
  const f = pairLoss({ x, y, labels }, w, { grad: g });
  // Brute force with explicit weights.
  let nPos = 0;
  for (let i = 0; i < 12; i++) for (let j = 0; j < 12; j++) if (labels[i] === labels[j]) nPos++;
  const nNeg = 144 - nPos;
  const s = matmul(matmul(x, w), transpose(y));
  let brute = 0;
  for (let i = 0; i < 12; i++) {
    for (let j = 0; j < 12; j++) {
      const l = labels[i] === labels[j] ? 1 : -1;
      brute += (l > 0 ? 1 / nPos : 1 / nNeg) * Math.log(1 + Math.exp(-l * s.data[i * 12 + j]));
    }
  }
  assert.ok(Math.abs(f - brute) < 1e-12, `${f} vs ${brute}`);
  const h = 1e-6;
  for (let t = 0; t < w.data.length; t++) {
    const wp = { ...w, data: w.data.slice() }, wm = { ...w, data: w.data.slice() };
    wp.data[t] += h;
    wm.data[t] -= h;
    const fd = (pairLoss({ x, y, labels }, wp) - pairLoss({ x, y, labels }, wm)) / (2 * h);
    assert.ok(Math.abs(fd - g.data[t]) < 1e-7, `entry ${t}: ${fd} vs ${g.data[t]}`);
  }
});

Deno.test("lrbs: F decreases monotonically, and plain FISTA reaches the same optimum", () => {
  const { x, y, labels } = planted(60, 0.8, 4);
  const mono = fitLrbs(x, y, { labels, lambda: 0.05, tol: 1e-9, maxIter: 400 });
  const h = mono.history;
  for (let k = 1; k < h.length; k++) {
    assert.ok(h[k].objective <= h[k - 1].objective, `F went up at iteration ${k + 1}`);
  }
  assert.ok(h[h.length - 1].objective < 0.5 * h[0].objective + 0.5 * 2 * Math.LN2);
  const plain = fitLrbs(x, y, { labels, lambda: 0.05, tol: 1e-9, maxIter: 400, monotone: false });
  const fm = h[h.length - 1].objective, fp = plain.history[plain.history.length - 1].objective;
  assert.ok(Math.abs(fm - fp) < 1e-6 * fm, `${fm} vs ${fp}`);
  // With L₀ = 1 (methods.md §8's start) the backtracking path gets there too.
  const l1 = fitLrbs(x, y, { labels, lambda: 0.05, tol: 1e-9, maxIter: 2000, lipschitz: 1 });
  const f1 = l1.history[l1.history.length - 1].objective;
  assert.ok(Math.abs(f1 - fm) < 1e-5 * fm, `${f1} vs ${fm}`);
});

Deno.test("lrbs: λ ≥ ‖∇f(0)‖₂ gives W = 0; a large λ gives low rank, a small one full rank", () => {
  const { x, y, labels } = planted(45, 1, 5);
  const zero = fitLrbs(x, y, { labels, lambda: 1.0001, maxIter: 50 });
  assert.ok(zero.w.data.every((v) => v === 0));
  const big = fitLrbs(x, y, { labels, lambda: 0.3, tol: 1e-8 });
  const small = fitLrbs(x, y, { labels, lambda: 1e-5, tol: 1e-8 });
  const rankBig = big.history[big.history.length - 1].rank;
  const rankSmall = small.history[small.history.length - 1].rank;
  assert.ok(rankBig >= 1 && rankBig <= 2, `rank ${rankBig}`);
  assert.equal(rankSmall, 5);
  // Optimality of the large-λ solution: ‖∇f(W)‖₂ ≤ λ (subgradient condition, up to tolerance).
  const g = zeros(6, 5);
  pairLoss({ x, y, labels }, big.w, { grad: g });
  assert.ok(spectralNorm(g) <= big.lambdaAbs * 1.01, `${spectralNorm(g)} vs ${big.lambdaAbs}`);
});

Deno.test("lrbs: a planted rank-2 bilinear similarity is recovered (subspaces and retrieval)", () => {
  const train = planted(90, 0.05, 6);
  const fit = fitLrbs(train.x, train.y, { labels: train.labels, lambda: 0.1, tol: 1e-8 });
  assert.equal(fit.history[fit.history.length - 1].rank, 2);
  // Column space of W = span(P), row space = span(Q): ‖(I − PPᵀ)W‖ and ‖W(I − QQᵀ)‖ ≈ 0.
  const w = fit.w;
  const pw = matmul(train.pm, crossprod(train.pm, w));
  const wq = matmul(matmul(w, train.qm), transpose(train.qm));
  let n = 0, rp = 0, rq = 0;
  for (let i = 0; i < w.data.length; i++) {
    n += w.data[i] ** 2;
    rp += (w.data[i] - pw.data[i]) ** 2;
    rq += (w.data[i] - wq.data[i]) ** 2;
  }
  assert.ok(Math.sqrt(rp / n) < 0.05 && Math.sqrt(rq / n) < 0.05, `${rp / n}, ${rq / n}`);
  // Noise-free test rows on the train's P and Q.
  const testLabels = Int32Array.from({ length: 30 }, (_, i) => i % 3);
  const u = (c: number) => [Math.cos((2 * Math.PI * c) / 3), Math.sin((2 * Math.PI * c) / 3)];
  const xs: Matrix = zeros(30, 6), ys: Matrix = zeros(30, 5);
  testLabels.forEach((c, i) => {
    const [a, b] = u(c);
    for (let j = 0; j < 6; j++) {
      xs.data[i * 6 + j] = train.pm.data[j * 2] * a + train.pm.data[j * 2 + 1] * b;
    }
    for (let j = 0; j < 5; j++) {
      ys.data[i * 5 + j] = train.qm.data[j * 2] * a + train.qm.data[j * 2 + 1] * b;
    }
  });
  const img = matmul(xs, w);
  const i2t = meanAveragePrecision({ x: img, y: testLabels }, { x: ys, y: testLabels }, {
    similarity: "inner",
  });
  assert.ok(i2t > 0.999, `mAP ${i2t}`);
});

Deno.test("lrbs: the Lipschitz bound makes the first step pass the descent test", () => {
  const { x, y, labels } = planted(30, 0.5, 8);
  const lip = lipschitzBound({ x, y, labels });
  const r = fitLrbs(x, y, { labels, lambda: 0.01, maxIter: 5 });
  assert.ok(Math.abs(r.lipschitz0 - lip) < 1e-12 * lip);
  assert.equal(r.history[0].lipschitz, lip, "no backtracking was needed");
});

Deno.test("lrbs: stratifiedSplit and centerRowL2", () => {
  const labels = Int32Array.from({ length: 50 }, (_, i) => (i < 20 ? 0 : i < 45 ? 1 : 2));
  const a = stratifiedSplit(labels, { fraction: 0.2, seed: 1 });
  const b = stratifiedSplit(labels, { fraction: 0.2, seed: 1 });
  assert.deepEqual(a, b);
  assert.equal(a.fit.length + a.val.length, 50);
  assert.equal(new Set([...a.fit, ...a.val]).size, 50);
  const count = (idx: number[], c: number) => idx.filter((i) => labels[i] === c).length;
  assert.deepEqual([count(a.val, 0), count(a.val, 1), count(a.val, 2)], [4, 5, 1]);
  const m = centerRowL2({ rows: 2, cols: 2, data: Float64Array.from([5, 4, 1, 1]) }, {
    mean: [1, 1],
  });
  [0.8, 0.6, 0, 0].forEach((v, i) => assert.ok(Math.abs(m.data[i] - v) < 1e-15, `entry ${i}`));
});

Deno.test("lrbs kind: writes x·W against y with score inner, and retrieves a planted problem", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lrbs-fs-" });
  const train = planted(60, 0.3, 9);
  const test = planted(30, 0.3, 9); // same seed → same P, Q
  await Promise.all([
    writeMatrix(`${dir}/img_train.npy`, train.x),
    writeMatrix(`${dir}/txt_train.npy`, train.y),
    writeLabels(`${dir}/y_train.npy`, train.labels),
    writeMatrix(`${dir}/img_test.npy`, test.x),
    writeMatrix(`${dir}/txt_test.npy`, test.y),
    writeLabels(`${dir}/y_test.npy`, test.labels),
    Deno.writeTextFile(
      `${dir}/dataset.json`,
      JSON.stringify({ dataset: "toy", classes: ["a", "b", "c"], n_train: 60, n_test: 30 }),
    ),
  ]);
  const run = await runKind(lrbsKind, {
    params: { lambdaGrid: [0.001, 0.1], valFraction: 0.25 },
    inputs: { features: dir },
  });
  const meta = JSON.parse(await Deno.readTextFile(`${run.dir}/embedding.json`));
  assert.equal(meta.score, "inner");
  assert.equal(meta.method, "lrbs");
  assert.equal(meta.hyper.validation.length, 2);
  assert.ok([0.001, 0.1].includes(meta.hyper.lambdaChosen));
  const [img, txt, y] = await Promise.all([
    readMatrix(`${run.dir}/img.npy`),
    readMatrix(`${run.dir}/txt.npy`),
    readLabels(`${run.dir}/y.npy`),
  ]);
  assert.equal(img.cols, 5);
  assert.equal(txt.cols, 5);
  // txt is the normalised test text: unit rows.
  for (let i = 0; i < txt.rows; i++) {
    let s = 0;
    for (let j = 0; j < 5; j++) s += txt.data[i * 5 + j] ** 2;
    assert.ok(Math.abs(s - 1) < 1e-12);
  }
  const i2t = meanAveragePrecision({ x: img, y }, { x: txt, y }, { similarity: "inner" });
  assert.ok(i2t > 0.95, `mAP ${i2t}`);
  await assert.rejects(
    () => runKind(lrbsKind, { params: { lambdaGrid: ["0.1"] }, inputs: { features: dir } }),
    /lambdaGrid must be a list of non-negative numbers/,
  );
  await Deno.remove(dir, { recursive: true });
});
