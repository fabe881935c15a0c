import assert from "node:assert/strict";
import {
  classCrossMoment,
  fitMsAlg,
  msalgKind,
  projectMsAlg,
} from "../../../stages/baselines/msalg.ts";
import { meanAveragePrecision } from "../../../stages/retrieval/map.ts";
import { crossprod, matmul, transpose } from "../../../stages/linalg/mod.ts";
import { readLabels, readMatrix } from "../../../stages/tensor_io/npy.ts";
import type { Matrix } from "../../../stages/linalg/matrix.ts";
import { runKind } from "../../helpers/stage_context.ts";
import { noteSkip, WIKI, wikiFeatureSet } from "./wiki_fixture.ts";

noteSkip("msalg_test.ts");

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

function centre(m: Matrix): Matrix {
  const out = { rows: m.rows, cols: m.cols, data: m.data.slice() };
  for (let j = 0; j < m.cols; j++) {
    let s = 0;
    for (let i = 0; i < m.rows; i++) s += m.data[i * m.cols + j];
    for (let i = 0; i < m.rows; i++) out.data[i * m.cols + j] -= s / m.rows;
  }
  return out;
}

Deno.test("msalg: the class-sum form of M equals Σ_ij c_ij x_i y_jᵀ, and half the ±1 form", () => {
  const r = rng(1);
  const n = 23, p = 5, q = 4, classes = 3;
  const x = centre(randMatrix(n, p, r)), y = centre(randMatrix(n, q, r));
  const labels = Int32Array.from({ length: n }, (_, i) => i % classes);
  const m = classCrossMoment(x, y, { labels, classes });
  const brute = new Float64Array(p * q), pm = new Float64Array(p * q);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const same = labels[i] === labels[j];
      for (let a = 0; a < p; a++) {
        for (let b = 0; b < q; b++) {
          const v = x.data[i * p + a] * y.data[j * q + b];
          if (same) brute[a * q + b] += v;
          pm[a * q + b] += same ? v : -v;
        }
      }
    }
  }
  for (let t = 0; t < p * q; t++) {
    assert.ok(Math.abs(m.data[t] - brute[t]) < 1e-10, `entry ${t}`);
    assert.ok(Math.abs(2 * m.data[t] - pm[t]) < 1e-10, `±1 entry ${t}`);
  }
});

Deno.test("msalg: Lx, Ly are orthonormal singular vectors of M (LxᵀMLy = diag σ, descending)", () => {
  const r = rng(2);
  const n = 40, classes = 4;
  const x = randMatrix(n, 6, r), y = randMatrix(n, 5, r);
  const labels = Int32Array.from({ length: n }, (_, i) => i % classes);
  const model = fitMsAlg(x, y, { labels });
  assert.equal(model.lx.cols, classes - 1);
  const m = classCrossMoment(centre(x), centre(y), { labels, classes });
  const d = matmul(matmul(transpose(model.lx), m), model.ly);
  const gx = crossprod(model.lx, model.lx), gy = crossprod(model.ly, model.ly);
  for (let a = 0; a < 3; a++) {
    for (let b = 0; b < 3; b++) {
      const want = a === b ? model.sigma[a] : 0;
      assert.ok(Math.abs(d.data[a * 3 + b] - want) < 1e-9 * model.sigma[0], `(${a},${b})`);
      assert.ok(Math.abs(gx.data[a * 3 + b] - (a === b ? 1 : 0)) < 1e-10);
      assert.ok(Math.abs(gy.data[a * 3 + b] - (a === b ? 1 : 0)) < 1e-10);
    }
    if (a > 0) assert.ok(model.sigma[a] <= model.sigma[a - 1]);
  }
});

Deno.test("msalg: a planted shared class subspace is recovered and retrieval is perfect", () => {
  // Class codes z_c ∈ R³ (C = 4), x = A z_c + noise (p = 8), y = B z_c + noise (q = 6).
  // M = A (Σ_c n_c² z̃_c z̃_cᵀ) Bᵀ, so span(Lx) = span(A) and span(Ly) = span(B).
  const r = rng(3);
  const classes = 4, k = 3, p = 8, q = 6, per = 30;
  const z = randMatrix(classes, k, r);
  const a = randMatrix(p, k, r), b = randMatrix(q, k, r);
  const make = (n: number, noise: number) => {
    const labels = Int32Array.from({ length: n * classes }, (_, i) => i % classes);
    const zc: Matrix = { rows: labels.length, cols: k, data: new Float64Array(labels.length * k) };
    labels.forEach((c, i) => zc.data.set(z.data.subarray(c * k, (c + 1) * k), i * k));
    const x = matmul(zc, transpose(a)), y = matmul(zc, transpose(b));
    for (let i = 0; i < x.data.length; i++) x.data[i] += noise * randn(r);
    for (let i = 0; i < y.data.length; i++) y.data[i] += noise * randn(r);
    return { x, y, labels };
  };
  const train = make(per, 1e-3), test = make(10, 1e-3);
  const model = fitMsAlg(train.x, train.y, { labels: train.labels });
  // Residual of A after projecting on span(Lx): ‖(I − LxLxᵀ)A‖ / ‖A‖.
  for (const [l, base] of [[model.lx, a], [model.ly, b]] as const) {
    const proj = matmul(l, crossprod(l, base));
    let res = 0, tot = 0;
    for (let i = 0; i < base.data.length; i++) {
      res += (base.data[i] - proj.data[i]) ** 2;
      tot += base.data[i] ** 2;
    }
    assert.ok(Math.sqrt(res / tot) < 1e-3, `subspace residual ${Math.sqrt(res / tot)}`);
  }
  const e = projectMsAlg(model, { x: test.x, y: test.y });
  const i2t = meanAveragePrecision({ x: e.x!, y: test.labels }, { x: e.y!, y: test.labels }, {
    similarity: "cosine",
  });
  assert.ok(i2t > 0.999, `mAP ${i2t}`);
});

Deno.test("msalg: bad input is rejected with a clear message", () => {
  const x: Matrix = { rows: 3, cols: 2, data: new Float64Array(6) };
  assert.throws(() => fitMsAlg(x, x, { labels: [0, 1] }), /labels 2/);
  assert.throws(() => fitMsAlg(x, x, { labels: [0, 1, 2], k: 3 }), /k = 3 must be/);
  assert.throws(() => fitMsAlg(x, x, { labels: [0, 1.5, 2] }), /not a 0-based class id/);
});

Deno.test({
  name: "msalg kind: Wikipedia mAP matches an independent numpy run (.2485/.1779 inner)",
  ignore: !WIKI,
  async fn() {
    const fsDir = await wikiFeatureSet();
    for (
      const [params, want] of [
        [{}, [0.2485, 0.1779]],
        [{ normalize: "zscore" }, [0.2608, 0.2010]],
      ] as const
    ) {
      const run = await runKind(msalgKind, { params, inputs: { features: fsDir } });
      const meta = JSON.parse(await Deno.readTextFile(`${run.dir}/embedding.json`));
      assert.equal(meta.score, "inner");
      assert.equal(meta.method, "msalg");
      assert.equal(meta.hyper.kEffective, 9);
      const [img, txt, y] = await Promise.all([
        readMatrix(`${run.dir}/img.npy`),
        readMatrix(`${run.dir}/txt.npy`),
        readLabels(`${run.dir}/y.npy`),
      ]);
      const i2t = meanAveragePrecision({ x: img, y }, { x: txt, y }, { similarity: "inner" });
      const t2i = meanAveragePrecision({ x: txt, y }, { x: img, y }, { similarity: "inner" });
      assert.ok(
        Math.abs(i2t - want[0]) < 5e-4 && Math.abs(t2i - want[1]) < 5e-4,
        `${JSON.stringify(params)}: ${i2t.toFixed(4)}/${t2i.toFixed(4)} vs ${want}`,
      );
    }
  },
});
