import assert from "node:assert/strict";
import {
  BLAS_MIN_FLOPS,
  cholesky,
  crossprod,
  fixSigns,
  fromRows,
  gemm,
  genSymEig,
  gram,
  linalgBackend,
  matmul,
  type Matrix,
  maxAbsDiff,
  solveSpd,
  symEig,
  toRows,
  transpose,
  useLinalgBackend,
  zeros,
} from "../../../stages/linalg/mod.ts";
import { loadPipeline } from "../../../pipeline/spec.ts";
import { kinds as baselines } from "../../../stages/baselines/mod.ts";
import { registry } from "../../../stages/mod.ts";
import { runOnWiki, WIKI } from "../baselines/wiki_fixture.ts";
import {
  BACKENDS,
  LAPACK_LOADED,
  testBothBackends,
  withBackend,
} from "../../helpers/linalg_backends.ts";
import { randomMatrix, randomSpd } from "../../helpers/random.ts";

function randomSymmetric(n: number, seed: number): Matrix {
  const g = randomMatrix(n, n, seed);
  const a = zeros(n, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) a.data[i * n + j] = g.data[i * n + j] + g.data[j * n + i];
  }
  return a;
}

/** Largest |a − b| over two equal-length arrays. */
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** `f` on every backend here, the results in BACKENDS order. */
async function onEach<T>(f: () => T | Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (const b of BACKENDS) out.push(await withBackend(b, f));
  return out;
}

Deno.test("linalgBackend: auto picks LAPACK exactly when a library loads; forcing works", () => {
  const prev = useLinalgBackend(undefined);
  try {
    if (Deno.env.get("DSE_LINALG") === undefined) {
      assert.equal(linalgBackend().name, LAPACK_LOADED ? "lapack" : "typescript");
    }
    useLinalgBackend("typescript");
    assert.deepEqual(linalgBackend(), { name: "typescript" });
    if (LAPACK_LOADED) {
      useLinalgBackend("lapack");
      assert.equal(linalgBackend().name, "lapack");
      assert.ok(linalgBackend().library, "the library is named");
    }
  } finally {
    useLinalgBackend(prev);
  }
});

Deno.test("DSE_LINALG=typescript forces the fallback; a bad value is rejected", async () => {
  const run = async (value: string) => {
    const code = 'import { linalgBackend } from "./stages/linalg/mod.ts"; ' +
      "console.log(JSON.stringify(linalgBackend()));";
    return await new Deno.Command(Deno.execPath(), {
      args: ["eval", code],
      cwd: new URL("../../../", import.meta.url).pathname,
      env: { DSE_LINALG: value, NO_COLOR: "1" },
    }).output();
  };
  const ts = await run("typescript");
  assert.ok(ts.success, new TextDecoder().decode(ts.stderr));
  assert.deepEqual(JSON.parse(new TextDecoder().decode(ts.stdout)), { name: "typescript" });
  const bad = await run("fortran");
  assert.equal(bad.success, false);
  assert.match(
    new TextDecoder().decode(bad.stderr),
    /DSE_LINALG must be auto, lapack or typescript/,
  );
});

Deno.test("fixSigns: the first entry near the largest magnitude is made positive", () => {
  const m = fromRows([[-1, 0.3, 0], [0.5, -0.3 * (1 + 1e-9), 0], [1 - 1e-9, 0.1, 0]]);
  // col 0: |−1| is the largest → flipped; col 1: entries 0 and 1 tie within 1e-6 → entry 0 (+)
  // decides, not entry 1; col 2: all zero, unchanged.
  assert.deepEqual(toRows(fixSigns(m)), [
    [1, 0.3, 0],
    [-0.5, -0.3 * (1 + 1e-9), 0],
    [-(1 - 1e-9), 0.1, 0],
  ]);
});

testBothBackends("symEig sign convention: [[2,1],[1,2]] gives +(1,1)/√2 then +(1,−1)/√2", () => {
  const e = symEig(fromRows([[2, 1], [1, 2]]));
  const h = Math.SQRT1_2;
  assert.ok(maxDiff(e.vectors.data, [h, h, h, -h]) < 1e-14, `${toRows(e.vectors)}`);
});

testBothBackends("genSymEig sign convention: diag(1,2) v = λ diag(4,1) v → +e₂ then +e₁", () => {
  const e = genSymEig(fromRows([[1, 0], [0, 2]]), fromRows([[4, 0], [0, 1]]));
  assert.ok(maxDiff(e.values, [2, 0.25]) < 1e-15);
  assert.ok(maxDiff(e.vectors.data, [0, 0.5, 1, 0]) < 1e-15, `${toRows(e.vectors)}`);
});

testBothBackends("solveSpd: [[4,2],[2,3]] X = [[8,4],[7,2]] → X = [[1.25,1],[1.5,0]]", () => {
  const x = solveSpd(fromRows([[4, 2], [2, 3]]), fromRows([[8, 4], [7, 2]]));
  assert.ok(maxDiff(x.data, [1.25, 1, 1.5, 0]) < 1e-14, `${toRows(x)}`);
  assert.throws(() => solveSpd(fromRows([[1, 2], [2, 1]]), fromRows([[1], [1]])), /not positive/);
});

Deno.test({
  name: "backends agree: symEig of a random 80×80 (values and sign-fixed vectors)",
  ignore: !LAPACK_LOADED,
  fn: async () => {
    const a = randomSymmetric(80, 1);
    const [ts, la] = await onEach(() => symEig(a));
    assert.ok(maxDiff(ts.values, la.values) < 1e-12, "values");
    const d = maxAbsDiff(ts.vectors, la.vectors);
    assert.ok(d < 1e-9, `vectors differ by ${d}`);
    const k = await onEach(() => symEig(a, { k: 5 }));
    assert.ok(maxDiff(k[0].vectors.data, k[1].vectors.data) < 1e-9, "k = 5");
  },
});

Deno.test({
  name: "backends agree: genSymEig of a random 60×60 pair with reg, and cholesky",
  ignore: !LAPACK_LOADED,
  fn: async () => {
    const a = randomSymmetric(60, 2), b = randomSpd(60, 3);
    const [ts, la] = await onEach(() => genSymEig(a, b, { reg: 0.05, k: 10 }));
    assert.ok(maxDiff(ts.values, la.values) < 1e-10, "values");
    const d = maxAbsDiff(ts.vectors, la.vectors);
    assert.ok(d < 1e-8, `vectors differ by ${d}`);
    const [lt, ll] = await onEach(() => cholesky(b));
    assert.ok(maxAbsDiff(lt, ll) < 1e-12, "cholesky factors");
  },
});

Deno.test({
  name: "backends agree: gemm/matmul/crossprod/gram above BLAS_MIN_FLOPS (BLAS) and below",
  ignore: !LAPACK_LOADED,
  fn: async () => {
    // 520·512·512 ≥ 2²⁷: the LAPACK backend takes these to dgemm/dsyrk.
    const a = randomMatrix(520, 512, 4), b = randomMatrix(512, 512, 5);
    const c = randomMatrix(520, 512, 6);
    assert.ok(520 * 512 * 512 >= BLAS_MIN_FLOPS);
    const big = randomMatrix(1100, 512, 7); // gram: 1100·512²/2 ≥ 2²⁷
    const small = randomMatrix(7, 5, 8);
    const results = await onEach(() => ({
      ab: matmul(a, b),
      atc: crossprod(a, c),
      gemmTT: gemm(b, a, { transA: true, transB: true, alpha: 0.5 }),
      gemmNT: gemm(a, transpose(b), { transB: true }),
      g: gram(big),
      s: gram(small),
    }));
    const [ts, la] = results;
    assert.ok(maxAbsDiff(ts.ab, la.ab) < 1e-11, "matmul");
    assert.ok(maxAbsDiff(ts.atc, la.atc) < 1e-11, "crossprod");
    assert.ok(maxAbsDiff(ts.gemmTT, scaleT(ts.ab)) < 1e-11, "gemm TT (ts) = ½ (AB)ᵀ");
    assert.ok(maxAbsDiff(la.gemmTT, scaleT(ts.ab)) < 1e-11, "gemm TT (lapack) = ½ (AB)ᵀ");
    assert.ok(maxAbsDiff(la.gemmNT, ts.ab) < 1e-11, "gemm NT");
    assert.ok(maxAbsDiff(ts.g, la.g) < 1e-10, "gram (dsyrk)");
    assert.deepEqual(la.g.data, transpose(la.g).data, "gram is exactly symmetric");
    assert.deepEqual(ts.s.data, la.s.data, "a small gram is the same loop on both backends");
  },
});

function scaleT(m: Matrix): Matrix {
  const t = transpose(m);
  for (let i = 0; i < t.data.length; i++) t.data[i] *= 0.5;
  return t;
}

// ─── The quick target's baselines on the Wikipedia release, once per backend ────────────────────

const SLOW = ["lrbs-none-wiki", "lrbs-standard-wiki", "sm-none-wiki"];

Deno.test({
  name: "quick target: every baseline on the Wikipedia release gives the same mAP (≤ 1e-6) on " +
    "both backends, and records its backend in provenance",
  ignore: !WIKI || !LAPACK_LOADED,
  fn: async () => {
    const p = await loadPipeline(new URL("../../../pipeline.yaml", import.meta.url).pathname, {
      registry,
    });
    const baselineKinds = new Set(baselines.map((k) => k.name));
    const all = [...p.stages.values()].filter((s) =>
      baselineKinds.has(s.kind) && s.inputs.some((i) => i.stage === "wiki-data")
    );
    assert.ok(all.length >= 20, `found ${all.length} quick baselines`);
    // Left out for time (≈ 3 min on 2 cores): lrbs (58 s + 27 s per backend) and sm without PCA
    // (8 s). Neither calls a backend-dependent kernel except lrbs-standard's 128-d image PCA, which
    // scm-, sm- and gmlda-standard run with the same params.
    const stages = all.filter((s) => !SLOW.includes(s.name));
    assert.equal(all.length - stages.length, SLOW.length, "the slow stages are still in quick");
    const lines: string[] = [], bad: string[] = [];
    let worst = 0;
    for (const s of stages) {
      const kind = registry.get(s.kind)!;
      const [ts, la] = await onEach(() => runOnWiki(kind, s.params));
      const d = Math.max(Math.abs(ts.i2t - la.i2t), Math.abs(ts.t2i - la.t2i));
      worst = Math.max(worst, d);
      lines.push(`${s.name}: ${la.i2t.toFixed(6)}/${la.t2i.toFixed(6)} Δ ${d.toExponential(1)}`);
      if (d > 1e-6) {
        bad.push(`${s.name}: typescript ${ts.i2t}/${ts.t2i}, lapack ${la.i2t}/${la.t2i}`);
      }
      for (const [r, name] of [[ts, "typescript"], [la, "lapack"]] as const) {
        const rec = r.provenance.linalg as { name?: string } | undefined;
        assert.equal(rec?.name, name, `${s.name}: provenance.linalg`);
      }
    }
    console.log(`max |ΔmAP| over ${stages.length} baselines: ${worst.toExponential(2)}`);
    console.log(lines.join("\n"));
    assert.deepEqual(bad, [], "baselines whose mAP depends on the backend");
  },
});
