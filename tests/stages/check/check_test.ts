import assert from "node:assert/strict";
import type { StageKind } from "../../../pipeline/types.ts";
import {
  checkKind,
  type CheckResult,
  compareExpected,
  evaluateClaims,
  parseClaims,
  parseExpected,
  renderMarkdown,
  renderTable,
} from "../../../stages/check/check.ts";
import { type MetricRow, metricRow, writeMetrics } from "../../../stages/eval/metrics.ts";
import { runKind } from "../../helpers/stage_context.ts";

function row(
  method: string,
  pca: boolean,
  similarity: string,
  map: { i2t: number; t2i: number },
): MetricRow {
  return metricRow({ dataset: "wiki", method, pca, similarity, stage: `eval-${method}` }, map);
}

const ROWS: MetricRow[] = [
  row("cca", false, "cosine", { i2t: 0.2436, t2i: 0.1975 }),
  row("cca", true, "cosine", { i2t: 0.2649, t2i: 0.2162 }),
  row("pls", false, "cosine", { i2t: 0.2355, t2i: 0.1901 }),
  row("dse-s", false, "cosine", { i2t: 0.40, t2i: 0.36 }),
  row("dse-s", false, "euclidean", { i2t: 0.39, t2i: 0.35 }),
  row("dse-cs", false, "cosine", { i2t: 0.42, t2i: 0.38 }),
  metricRow({
    dataset: "wiki",
    method: "random",
    pca: false,
    similarity: "random",
    stage: "random-wiki",
  }, { i2t: 0.1184, t2i: 0.1184 }),
];

const SRC = "PROVENANCE.md";

Deno.test("compareExpected: within, out of tolerance, missing, degenerate", () => {
  const out = compareExpected(
    ROWS,
    parseExpected([
      {
        dataset: "wiki",
        method: "CCA",
        pca: false,
        similarity: "cosine",
        i2t: 0.2435,
        t2i: 0.1978,
        tol: 0.005,
        source: SRC,
      },
      {
        dataset: "wiki",
        method: "cca",
        pca: true,
        similarity: "cosine",
        avg: 0.25,
        tol: 0.005,
        source: SRC,
      },
      {
        dataset: "wiki",
        method: "blm",
        pca: false,
        similarity: "cosine",
        i2t: 0.2589,
        tol: 0.005,
        source: SRC,
      },
      {
        dataset: "wiki",
        method: "pls",
        pca: false,
        similarity: "cosine",
        i2t: 0.2075,
        tol: 0.03,
        source: SRC,
        degenerate: true,
        note: "rank 9",
      },
      {
        dataset: "wiki",
        method: "random",
        pca: false,
        similarity: "random",
        i2t: 0.118,
        tol: 0.003,
        source: SRC,
      },
    ]),
  );
  assert.deepEqual(
    out.map((r) => [r.method, r.metric, r.ok]),
    [
      ["CCA", "i2t", true],
      ["CCA", "t2i", true],
      ["cca", "avg", false], // 0.24055 vs 0.25
      ["blm", "i2t", false], // missing
      ["pls", "i2t", true], // degenerate: its own wide tol
      ["random", "i2t", true],
    ],
  );
  assert.ok(Math.abs(out[0].delta! - 0.0001) < 1e-12);
  assert.equal(out[0].stage, "eval-cca");
  assert.equal(out[3].reproduced, null);
  assert.equal(out[3].delta, null);
  assert.match(out[3].note, /not found: no metrics row for blm/);
  assert.equal(out[4].degenerate, true);
  assert.equal(out[4].note, "rank 9");
  // Exactly at the tolerance is ok (float slack), just past it is not.
  const edge = compareExpected([row("x", false, "cosine", { i2t: 0.2485, t2i: 0.2 })], [
    {
      dataset: "wiki",
      method: "x",
      pca: false,
      similarity: "cosine",
      i2t: 0.2435,
      tol: 0.005,
      source: SRC,
    },
    {
      dataset: "wiki",
      method: "x",
      pca: false,
      similarity: "cosine",
      i2t: 0.2434,
      tol: 0.005,
      source: SRC,
    },
  ]);
  assert.deepEqual(edge.map((r) => r.ok), [true, false]);
});

Deno.test("compareExpected: several matching rows is a failure that names the stages", () => {
  const dup = [...ROWS, { ...ROWS[0], stage: "eval-cca-again" }];
  const e = {
    dataset: "wiki",
    method: "cca",
    pca: false,
    similarity: "cosine",
    i2t: 0.2435,
    tol: 0.005,
    source: SRC,
  };
  const [r] = compareExpected(dup, [e]);
  assert.equal(r.ok, false);
  assert.match(r.note, /2 rows match .*eval-cca, eval-cca-again/);
  const [picked] = compareExpected(dup, [{ ...e, stage: "eval-cca-again" }]);
  assert.equal(picked.ok, true);
  // The same row read twice (same stage) is not ambiguous.
  assert.equal(compareExpected([...ROWS, ROWS[0]], [e])[0].ok, true);
});

Deno.test("evaluateClaims: holds, fails, inheritance, numbers, margins, missing", () => {
  const claims = parseClaims([
    {
      name: "DSE-CS > DSE-S (cosine, avg)",
      left: { method: "dse-cs", similarity: "cosine" },
      op: ">",
      right: { method: "dse-s" },
    },
    {
      left: { method: "dse-s", similarity: "cosine" },
      op: ">=",
      right: { similarity: "euclidean" },
    },
    {
      left: { method: "dse-s", similarity: "euclidean", metric: "t2i" },
      op: ">",
      right: { similarity: "cosine" },
    },
    {
      left: { method: "dse-cs", similarity: "cosine" },
      op: ">",
      right: { method: "dse-s" },
      margin: 0.05,
    },
    { left: { method: "random" }, op: "<", right: 0.12 },
    {
      left: { method: "dse-ds", similarity: "cosine" },
      op: ">",
      right: { method: "dse-s" },
      required: true,
    },
    { left: { method: "cca", similarity: "cosine" }, op: ">", right: 0.2 },
  ]);
  const res = evaluateClaims(ROWS, claims);
  assert.deepEqual(res.map((r) => r.holds), [true, true, false, false, true, false, false]);
  assert.equal(res[0].claim, "DSE-CS > DSE-S (cosine, avg)");
  assert.equal(res[0].detail, "0.4000 > 0.3800");
  assert.equal(res[1].claim, "dse-s cosine >= dse-s euclidean (avg)");
  assert.equal(res[2].detail, "0.3500 > 0.3600");
  assert.match(res[3].detail, /margin 0\.05: difference 0\.0200/);
  assert.equal(res[4].detail, "0.1184 < 0.1200");
  assert.match(res[5].detail, /left: no metrics row for dse-ds/);
  assert.equal(res[5].required, true);
  assert.match(res[6].detail, /2 rows match cca cosine .*add pca/);
});

Deno.test("parseExpected / parseClaims: errors say what is wrong", () => {
  const base = {
    dataset: "wiki",
    method: "cca",
    pca: false,
    similarity: "cosine",
    i2t: 0.2,
    tol: 0.005,
    source: SRC,
  };
  assert.throws(() => parseExpected({}), /must be a list/);
  assert.throws(() => parseExpected([{ ...base, tol: undefined }]), /expected\[0\]: "tol" must be/);
  assert.throws(() => parseExpected([{ ...base, i2t: undefined }]), /at least one of i2t/);
  assert.throws(() => parseExpected([{ ...base, pca: "no" }]), /"pca" must be true or false/);
  assert.throws(() => parseExpected([{ ...base, source: undefined }]), /"source" must be a string/);
  const claim = { left: { method: "a" }, op: ">", right: 0 };
  assert.throws(() => parseClaims([{ ...claim, op: "=" }]), /claims\[0\]: "op" must be one of/);
  assert.throws(() => parseClaims([{ ...claim, left: {} }]), /left: "method" is required/);
  assert.throws(() => parseClaims([{ ...claim, right: "x" }]), /right must be an object/);
  assert.throws(
    () => parseClaims([{ ...claim, left: { method: "a", metric: "map" } }]),
    /"metric" must be one of i2t, t2i, avg/,
  );
});

Deno.test("renderMarkdown / renderTable: the table and the claims", () => {
  const result: CheckResult = {
    ok: false,
    rows: compareExpected(ROWS, [
      {
        dataset: "wiki",
        method: "cca",
        pca: true,
        similarity: "cosine",
        i2t: 0.2649,
        tol: 0.005,
        source: SRC,
      },
      {
        dataset: "wiki",
        method: "pls",
        pca: false,
        similarity: "cosine",
        i2t: 0.2075,
        tol: 0.005,
        source: SRC,
        degenerate: true,
      },
    ]),
    claims: evaluateClaims(
      ROWS,
      parseClaims([{ name: "c1", left: { method: "random" }, op: "<", right: 0.1 }]),
    ),
  };
  const md = renderMarkdown(result);
  assert.match(md, /^# Check: FAIL/);
  assert.match(md, /\| reported \| reproduced \| Δ \| tol \| ok \|/);
  assert.match(
    md,
    /\| wiki \| cca\+PCA \| cosine \| i2t \| 0\.2649 \| 0\.2649 \| \+0\.0000 \| 0\.005 \| ok \|/,
  );
  assert.match(
    md,
    /\| pls \| cosine \| i2t \| 0\.2075 \| 0\.2355 \| \+0\.0280 \| 0\.005 \| FAIL \| .* \*\*degenerate\*\*/,
  );
  assert.match(md, /\| c1 \| fails \| 0\.1184 < 0\.1000 \| no \|/);
  const table = renderTable(result);
  assert.match(table, /pls \(degenerate\)/);
  assert.match(table, /c1/);
  assert.ok(!table.includes("\x1b["), "no ANSI colours in the log");
});

async function fixtures(): Promise<Record<string, string>> {
  const a = await Deno.makeTempDir({ prefix: "eval-a-" });
  const b = await Deno.makeTempDir({ prefix: "eval-b-" });
  await writeMetrics(`${a}/metrics.json`, ROWS.slice(0, 3));
  await writeMetrics(`${b}/metrics.json`, ROWS.slice(3));
  return { baselines: a, dse: `${b}/metrics.json` };
}

const PASSING = [
  {
    dataset: "wiki",
    method: "cca",
    pca: false,
    similarity: "cosine",
    i2t: 0.2435,
    t2i: 0.1978,
    tol: 0.005,
    source: SRC,
  },
  {
    dataset: "wiki",
    method: "random",
    pca: false,
    similarity: "random",
    i2t: 0.118,
    t2i: 0.118,
    tol: 0.003,
    source: SRC,
  },
  {
    dataset: "wiki",
    method: "pls",
    pca: false,
    similarity: "cosine",
    i2t: 0.2075,
    t2i: 0.1654,
    tol: 0.03,
    source: SRC,
    degenerate: true,
  },
];

Deno.test("check kind: all rows within tolerance → ok verdict; a failing claim does not fail", async () => {
  const inputs = await fixtures();
  const run = await runKind(checkKind as StageKind, {
    inputs,
    params: {
      expected: PASSING,
      claims: [{
        name: "DS beats S",
        left: { method: "dse-ds" },
        op: ">",
        right: { method: "dse-s" },
      }],
    },
  });
  assert.equal(run.verdict && run.verdict.ok, true);
  assert.match(
    run.verdict ? run.verdict.summary : "",
    /6\/6 rows within tolerance; claims 0\/1 hold/,
  );
  const json = JSON.parse(await Deno.readTextFile(`${run.dir}/check.json`));
  assert.equal(json.ok, true);
  assert.equal(json.rows.length, 6);
  assert.deepEqual(Object.keys(json.rows[0]), [
    "dataset",
    "method",
    "pca",
    "similarity",
    "metric",
    "reported",
    "reproduced",
    "delta",
    "tol",
    "ok",
    "source",
    "note",
    "degenerate",
    "stage",
  ]);
  assert.deepEqual(json.claims, [
    {
      claim: "DS beats S",
      holds: false,
      detail: "left: no metrics row for dse-ds (methods present: cca, dse-cs, dse-s, pls, random)",
      required: false,
    },
  ]);
  assert.match(await Deno.readTextFile(`${run.dir}/check.md`), /# Check: pass/);
  assert.ok(run.logs.some((l) => l.includes("reproduced")));
});

Deno.test("check kind: a row out of tolerance → verdict ok false, outputs still written", async () => {
  const inputs = await fixtures();
  const run = await runKind(checkKind as StageKind, {
    inputs,
    params: {
      expected: [
        ...PASSING,
        {
          dataset: "wiki",
          method: "cca",
          pca: true,
          similarity: "cosine",
          i2t: 0.2749,
          tol: 0.005,
          source: SRC,
        },
      ],
    },
  });
  assert.ok(run.verdict);
  assert.equal(run.verdict.ok, false);
  assert.match(
    run.verdict.summary,
    /1\/7 rows out of tolerance or missing: cca\+PCA cosine i2t 0\.2649 vs 0\.2749/,
  );
  const json = JSON.parse(await Deno.readTextFile(`${run.dir}/check.json`));
  assert.equal(json.ok, false);
  assert.match(await Deno.readTextFile(`${run.dir}/check.md`), /# Check: FAIL/);
});

Deno.test("check kind: a missing row or a failing required claim fails the run", async () => {
  const inputs = await fixtures();
  const missing = await runKind(checkKind as StageKind, {
    inputs,
    params: {
      expected: [{
        dataset: "wiki",
        method: "gmmfa",
        pca: false,
        similarity: "cosine",
        i2t: 0.2481,
        tol: 0.005,
        source: SRC,
      }],
    },
  });
  assert.equal(missing.verdict && missing.verdict.ok, false);
  assert.match(missing.verdict ? missing.verdict.summary : "", /gmmfa cosine i2t missing/);
  const required = await runKind(checkKind as StageKind, {
    inputs,
    params: {
      claims: [{
        name: "S beats CS",
        left: { method: "dse-s", similarity: "cosine" },
        op: ">",
        right: { method: "dse-cs" },
        required: true,
      }],
    },
  });
  assert.equal(required.verdict && required.verdict.ok, false);
  assert.match(
    required.verdict ? required.verdict.summary : "",
    /required claim fails: S beats CS/,
  );
});

Deno.test("check kind: bad inputs are reported with the alias", async () => {
  await assert.rejects(() => runKind(checkKind as StageKind), /no inputs/);
  const empty = await Deno.makeTempDir();
  await assert.rejects(
    () => runKind(checkKind as StageKind, { inputs: { cca: empty } }),
    /input "cca": .*no metrics\.json here/,
  );
});
