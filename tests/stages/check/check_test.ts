import assert from "node:assert/strict";
import type { StageKind } from "../../../pipeline/types.ts";
import {
  checkKind,
  compareExpected,
  DEFAULT_TOL,
  evaluateClaims,
  parseClaims,
  parseExpected,
  renderMarkdown,
  renderTable,
  runCheck,
} from "../../../stages/check/check.ts";
import { type MetricRow, metricRow, writeMetrics } from "../../../stages/formats/metrics.ts";
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
        kind: "published",
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
        kind: "published",
        dataset: "wiki",
        method: "cca",
        pca: true,
        similarity: "cosine",
        avg: 0.25,
        tol: 0.005,
        source: SRC,
      },
      {
        kind: "published",
        dataset: "wiki",
        method: "blm",
        pca: false,
        similarity: "cosine",
        i2t: 0.2589,
        tol: 0.005,
        source: SRC,
      },
      {
        kind: "published",
        dataset: "wiki",
        method: "pls",
        pca: false,
        similarity: "cosine",
        i2t: 0.2075,
        tol: 0.03,
        tol_reason: "rank-deficient",
        source: SRC,
        degenerate: true,
        note: "rank 9",
      },
      {
        kind: "published",
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
      kind: "published",
      dataset: "wiki",
      method: "x",
      pca: false,
      similarity: "cosine",
      i2t: 0.2435,
      tol: 0.005,
      source: SRC,
    },
    {
      kind: "published",
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
    kind: "published" as const,
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
    kind: "published",
    dataset: "wiki",
    method: "cca",
    pca: false,
    similarity: "cosine",
    i2t: 0.2,
    tol: 0.005,
    source: SRC,
  };
  assert.throws(() => parseExpected({}), /must be a list/);
  assert.throws(() => parseExpected([{ ...base, tol: -1 }]), /expected\[0\]: "tol" must be/);
  assert.throws(() => parseExpected([{ ...base, i2t: undefined }]), /at least one of i2t/);
  assert.throws(() => parseExpected([{ ...base, pca: "no" }]), /"pca" must be true or false/);
  assert.throws(
    () => parseExpected([{ ...base, source: undefined }]),
    /"source" must be a non-empty/,
  );
  // what kind of number it is must be said
  assert.throws(() => parseExpected([{ ...base, kind: undefined }]), /"kind" must be one of/);
  assert.throws(
    () => parseExpected([{ ...base, kind: "reported" }]),
    /published, anchor, regression/,
  );
  // percentages are caught: the paper prints 44.48, the check wants 0.4448
  assert.throws(() => parseExpected([{ ...base, i2t: 44.48 }]), /write 44\.48% as 0\.4448/);
  // tol defaults to 0.015; a wider one needs its reason, and the option moves the default
  assert.equal(parseExpected([{ ...base, tol: undefined }])[0].tol, DEFAULT_TOL);
  assert.equal(DEFAULT_TOL, 0.015);
  assert.throws(
    () => parseExpected([{ ...base, tol: 0.02 }]),
    /wider than the default .*tol_reason/,
  );
  assert.equal(parseExpected([{ ...base, tol: 0.02, tol_reason: "seed spread" }])[0].tol, 0.02);
  assert.equal(parseExpected([{ ...base, tol: 0.02 }], { defaultTol: 0.02 })[0].tol, 0.02);
  assert.throws(
    () => parseExpected([{ ...base, tolerance: 0.01 }]),
    /unknown field\(s\) tolerance/,
  );
  const claim = { left: { method: "a" }, op: ">", right: 0 };
  assert.throws(() => parseClaims([{ ...claim, op: "=" }]), /claims\[0\]: "op" must be one of/);
  assert.throws(() => parseClaims([{ ...claim, left: {} }]), /left: "method" is required/);
  assert.throws(() => parseClaims([{ ...claim, right: "x" }]), /right must be an object/);
  assert.throws(
    () => parseClaims([{ ...claim, left: { method: "a", metric: "map" } }]),
    /"metric" must be one of i2t, t2i, avg/,
  );
  // claims bind by default; opting out needs a reason
  assert.equal(parseClaims([claim])[0].required, true);
  assert.throws(() => parseClaims([{ ...claim, required: false }]), /required: false needs reason/);
  const optedOut = parseClaims([{ ...claim, required: false, reason: "our addition" }])[0];
  assert.equal(optedOut.required, false);
  assert.equal(optedOut.reason, "our addition");
});

Deno.test("renderMarkdown / renderTable: one table per kind, the counts, the claims", () => {
  const expected = parseExpected([
    { ...PASSING[0], method: "cca", pca: true, i2t: 0.2649, t2i: undefined, tol: 0.005 },
    { ...PASSING[2], i2t: 0.2075, t2i: undefined, tol: 0.005 },
    { ...PASSING[0], kind: "anchor", method: "pls", source: "numpy", i2t: 0.2355, t2i: undefined },
    { ...PASSING[0], kind: "regression", method: "dse-s", source: "our run", i2t: 0.40 },
  ]);
  const claims = parseClaims([
    { name: "c1", left: { method: "random" }, op: "<", right: 0.1 },
    { name: "c2", left: { method: "random" }, op: "<", right: 0.1, required: false, reason: "r" },
  ]);
  const result = runCheck(ROWS, { expected, claims });
  assert.equal(result.ok, false);
  assert.deepEqual(result.counts, {
    rows: {
      published: { ok: 1, total: 2 },
      anchor: { ok: 1, total: 1 },
      regression: { ok: 1, total: 2 }, // t2i 0.36 vs 0.1978
    },
    claims: { ok: 0, total: 2, failedRequired: 1 },
  });
  const md = renderMarkdown(result);
  assert.match(md, /^# Check: FAIL/);
  assert.match(
    md,
    /\*\*published 1\/2 · anchors 1\/1 · regression 1\/2 · claims 0\/2 \(1 failing, not required\)\*\*/,
  );
  // the three kinds under their own headings, in order, never mixed
  const heads = [...md.matchAll(/^## (.*)$/gm)].map((m) => m[1]);
  assert.deepEqual(heads, [
    "Published (a paper's or a release's number)",
    "Anchors (an independent implementation's number)",
    "Regression (our own earlier output)",
    "Claims",
  ]);
  const section = (h: string) => md.split(`## ${h}`)[1].split("## ")[0];
  assert.match(section("Published"), /\| cca\+PCA \| cosine \| i2t \| 0\.2649 \| 0\.2649 \|/);
  assert.ok(!section("Published").includes("dse-s"));
  assert.match(section("Regression"), /\| dse-s \| cosine \| t2i \|/);
  assert.match(md, /\| expected \| reproduced \| Δ \| tol \| ok \|/);
  assert.ok(!md.includes("| reported |"));
  assert.match(
    md,
    /\| pls \| cosine \| i2t \| 0\.2075 \| 0\.2355 \| \+0\.0280 \| 0\.005 \| FAIL \| .* \*\*degenerate\*\*/,
  );
  assert.match(md, /\| c1 \| FAILS \(required\) \| 0\.1184 < 0\.1000 \|/);
  assert.match(md, /\| c2 \| fails \(not required: r\) \|/);
  const table = renderTable(result);
  assert.match(table.split("\n")[0], /^published 1\/2 · anchors 1\/1/);
  assert.match(table, /Anchors \(an independent implementation's number\):/);
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
    kind: "published",
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
    kind: "published",
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
    kind: "published",
    dataset: "wiki",
    method: "pls",
    pca: false,
    similarity: "cosine",
    i2t: 0.2075,
    t2i: 0.1654,
    tol: 0.03,
    tol_reason: "rank-deficient",
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
        required: false,
        reason: "no DSE-DS in this fixture",
      }],
    },
  });
  assert.equal(run.verdict && run.verdict.ok, true);
  assert.equal(
    run.verdict?.summary,
    "check: published 6/6 · claims 0/1 (1 failing, not required)",
  );
  assert.deepEqual(run.verdict?.detail, {
    counts: {
      rows: {
        published: { ok: 6, total: 6 },
        anchor: { ok: 0, total: 0 },
        regression: { ok: 0, total: 0 },
      },
      claims: { ok: 0, total: 1, failedRequired: 0 },
    },
    failed: { published: [], anchor: [], regression: [], claims: [] },
  });
  const json = JSON.parse(await Deno.readTextFile(`${run.dir}/check.json`));
  assert.equal(json.ok, true);
  assert.equal(json.rows.length, 6);
  assert.deepEqual(Object.keys(json), ["ok", "counts", "rows", "claims"]);
  assert.deepEqual(Object.keys(json.rows[0]), [
    "kind",
    "dataset",
    "method",
    "pca",
    "similarity",
    "metric",
    "expected",
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
      reason: "no DSE-DS in this fixture",
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
          kind: "published",
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
    /^check: published 6\/7 · claims 0\/0 — published failing: cca\+PCA cosine i2t \(wiki\): 0\.2649 vs 0\.2749 ± 0\.005 \[PROVENANCE\.md\]$/,
  );
  const detail = run.verdict.detail as { failed: Record<string, string[]> };
  assert.equal(detail.failed.published.length, 1);
  assert.deepEqual(detail.failed.claims, []);
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
        kind: "published",
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
  assert.match(
    missing.verdict ? missing.verdict.summary : "",
    /gmmfa cosine i2t \(wiki\): missing/,
  );
  const claim = {
    name: "S beats CS",
    left: { method: "dse-s", similarity: "cosine" },
    op: ">",
    right: { method: "dse-cs" },
  };
  const required = await runKind(checkKind as StageKind, { inputs, params: { claims: [claim] } });
  assert.equal(required.verdict && required.verdict.ok, false);
  assert.match(
    required.verdict ? required.verdict.summary : "",
    /claims 0\/1 — required claims failing: S beats CS: 0\.3800 > 0\.4000/,
  );
  // the same claim with required: false and its reason is reported, and the run passes
  const optional = await runKind(checkKind as StageKind, {
    inputs,
    params: { claims: [{ ...claim, required: false, reason: "a test" }] },
  });
  assert.equal(optional.verdict?.ok, true);
  assert.match(optional.verdict?.summary ?? "", /claims 0\/1 \(1 failing, not required\)/);
});

Deno.test("check kind: bad inputs are reported with the alias", async () => {
  await assert.rejects(() => runKind(checkKind as StageKind), /no inputs/);
  const empty = await Deno.makeTempDir();
  await assert.rejects(
    () => runKind(checkKind as StageKind, { inputs: { cca: empty } }),
    /input "cca": .*no metrics\.json here/,
  );
});

/** A stand-in evaluation: one metrics row whose values come from params. */
const fixedMetrics: StageKind = {
  name: "fixed-metrics",
  description: "writes one metrics row from its params (test)",
  module: import.meta.url,
  params: { i2t: { type: "number" }, t2i: { type: "number" } },
  outputs: ["metrics.json"],
  async run(ctx) {
    const id = { dataset: "wiki", method: "cca", pca: false, similarity: "cosine" };
    await writeMetrics(ctx.out("metrics.json"), [
      metricRow({ ...id, stage: ctx.name }, ctx.params as { i2t: number; t2i: number }),
    ]);
  },
};

const CLI_PIPELINE = `params:
  i2t: 0.30
  bar: 0.25
  required: false
stages:
  eval-cca:
    uses: fixed-metrics
    with: { i2t: "\${{ params.i2t }}", t2i: 0.2 }
  check:
    uses: check
    inputs: { cca: eval-cca }
    with:
      expected:
        - { kind: published, dataset: wiki, method: cca, pca: false, similarity: cosine, i2t: 0.30, source: "A paper, Table 1, CCA, Image query" }
      claims:
        - { name: "CCA above the bar", left: { method: cca, metric: i2t }, op: ">", right: "\${{ params.bar }}", required: "\${{ params.required }}", reason: "an illustration" }
targets:
  all: [check]
`;

Deno.test("check through the CLI: a value past its tolerance exits 1 naming the row, also from the cache; a claim not required does not", async () => {
  const dir = await Deno.makeTempDir({ prefix: "check-cli-" });
  await Deno.writeTextFile(`${dir}/pipeline.yaml`, CLI_PIPELINE);
  const registry = new Map<string, StageKind>([
    ["check", checkKind as StageKind],
    ["fixed-metrics", fixedMetrics],
  ]);
  const { main } = await import("../../../pipeline/cli.ts");
  const run = async (...args: string[]) => {
    const lines: string[] = [];
    const sink = (s: string) => lines.push(s);
    const code = await main([
      "reproduce",
      "all",
      "--in-process",
      "--pipeline",
      `${dir}/pipeline.yaml`,
      "--artifacts",
      `${dir}/artifacts`,
      ...args,
    ], { registry, stdout: sink, stderr: sink, tty: false });
    return { code, text: lines.join("\n") };
  };
  const ok = await run();
  assert.equal(ok.code, 0, ok.text);
  assert.match(ok.text, /verdict ok: check: published 1\/1 · claims 1\/1/);

  // our value moved past the tolerance (0.33 vs 0.30 ± 0.015): exit 1, the row and its source named
  const row =
    /verdict FAIL check: .*published failing: cca cosine i2t \(wiki\): 0\.3300 vs 0\.3000 ± 0\.015 \[A paper, Table 1, CCA, Image query\]/;
  const moved = await run("--set", "i2t=0.33");
  assert.equal(moved.code, 1, moved.text);
  assert.match(moved.text, row);
  const cached = await run("--set", "i2t=0.33");
  assert.equal(cached.code, 1, cached.text);
  assert.match(cached.text, /FAILED: 2 cached/);
  assert.match(cached.text, row);
  // --json carries the same verdict, broken down by kind
  const json = await run("--set", "i2t=0.33", "--json");
  assert.equal(json.code, 1);
  const summary = JSON.parse(json.text.slice(json.text.indexOf("{")));
  const check = summary.stages.find((s: { name: string }) => s.name === "check");
  assert.deepEqual(check.verdict.detail.counts.rows.published, { ok: 1 - 1, total: 1 });
  assert.equal(check.verdict.detail.failed.published.length, 1);
  assert.deepEqual(check.verdict.detail.failed.claims, []);

  // a claim that fails: not required → reported, exit 0; required → exit 1, the claim named
  const optional = await run("--set", "bar=0.5");
  assert.equal(optional.code, 0, optional.text);
  assert.match(optional.text, /claims 0\/1 \(1 failing, not required\)/);
  const required = await run("--set", "bar=0.5", "--set", "required=true");
  assert.equal(required.code, 1, required.text);
  assert.match(required.text, /required claims failing: CCA above the bar: 0\.3000 > 0\.5000/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("check: a bad expected row is a spec error at load time, located, exit 2", async () => {
  const dir = await Deno.makeTempDir({ prefix: "check-spec-" });
  const bad = CLI_PIPELINE.replace("i2t: 0.30, source", "i2t: 30, tol: 0.05, source");
  await Deno.writeTextFile(`${dir}/pipeline.yaml`, bad);
  const registry = new Map<string, StageKind>([
    ["check", checkKind as StageKind],
    ["fixed-metrics", fixedMetrics],
  ]);
  const { main } = await import("../../../pipeline/cli.ts");
  const lines: string[] = [];
  const code = await main([
    "reproduce",
    "all",
    "--pipeline",
    `${dir}/pipeline.yaml`,
    "--artifacts",
    `${dir}/artifacts`,
  ], { registry, stdout: (s) => lines.push(s), stderr: (s) => lines.push(s), tty: false });
  assert.equal(code, 2, lines.join("\n"));
  // line 14 holds the row; the message says what to write
  assert.match(
    lines.join("\n"),
    /pipeline\.yaml:14:\d+: error: param 'expected' of stage 'check' \(kind 'check'\): expected\[0\]: tol 0\.05 is wider than the default 0\.015; add tol_reason/,
  );
  await assert.rejects(Deno.stat(`${dir}/artifacts/objects`));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("sweep fields: a selector without λ or seed picks the method's own run; right does not inherit them", () => {
  const sweep = (lambda: number, i2t: number) =>
    metricRow(
      {
        dataset: "wiki",
        method: "dse-ds",
        pca: false,
        similarity: "cosine",
        stage: `sw-${lambda}`,
      },
      { i2t, t2i: i2t },
      { sweep: { lambda } },
    );
  const seeded = (seed: number, i2t: number) =>
    metricRow(
      { dataset: "wiki", method: "vsepp", pca: false, similarity: "cosine", stage: `v-${seed}` },
      { i2t, t2i: i2t },
      { sweep: { seed } },
    );
  const rows = [
    row("dse-ds", false, "cosine", { i2t: 0.3, t2i: 0.3 }),
    sweep(0.0001, 0.2),
    sweep(0.1, 0.3),
    seeded(0, 0.25),
    seeded(1, 0.26),
  ];
  const claims = parseClaims([
    { left: { method: "dse-ds", lambda: 0.0001 }, op: "<", right: { method: "dse-ds" } },
    { left: { method: "dse-ds", lambda: 0.0001 }, op: "<", right: { lambda: 0.1 } },
    { left: { method: "vsepp", seed: 1 }, op: ">", right: { seed: 0 } },
    { left: { method: "vsepp" }, op: ">", right: 0 },
  ]);
  const got = evaluateClaims(rows, claims);
  assert.deepEqual(got.map((c) => [c.holds, c.detail]), [
    [true, "0.2000 < 0.3000"], // right = the row without λ (stage eval-dse-ds), not λ = 1e-4 again
    [true, "0.2000 < 0.3000"],
    [true, "0.2600 > 0.2500"],
    [false, "left: no metrics row for vsepp (methods present: dse-ds, vsepp)"],
  ]);
  const cells = compareExpected(
    rows,
    parseExpected([
      {
        kind: "regression",
        dataset: "wiki",
        method: "vsepp",
        seed: 1,
        pca: false,
        similarity: "cosine",
        i2t: 0.26,
        source: "ours",
      },
    ]),
  );
  assert.deepEqual(cells.map((c) => [c.ok, c.stage, c.seed]), [[true, "v-1", 1]]);
  assert.throws(
    () => parseExpected([{ ...SEEDLESS, lambda: "0.1" }]),
    /expected\[0\]: "lambda" must be a number/,
  );
});

const SEEDLESS = {
  kind: "regression",
  dataset: "wiki",
  method: "dse-ds",
  pca: false,
  similarity: "cosine",
  i2t: 0.3,
  source: "ours",
};
Deno.test("R@K fields: expected rows and claims on any numeric metrics field", () => {
  const dir = (r1: number, medr: number) => ({
    r1,
    r5: r1 + 0.1,
    r10: r1 + 0.2,
    medr,
    meanr: medr + 3,
  });
  const vse = metricRow(
    { dataset: "wiki", method: "vse0@seed=0", pca: false, similarity: "cosine", stage: "cmp-vse0" },
    { i2t: 0.13, t2i: 0.18 },
    { recall: { i2t: dir(0.02, 40), t2i: dir(0.03, 35) } },
  );
  const nce = metricRow(
    {
      dataset: "wiki",
      method: "infonce@seed=0",
      pca: false,
      similarity: "cosine",
      stage: "cmp-nce",
    },
    { i2t: 0.12, t2i: 0.15 },
    { recall: { i2t: dir(0.05, 20), t2i: dir(0.04, 22) } },
  );
  const rows = [...ROWS, vse, nce];
  const base = { kind: "regression", dataset: "wiki", pca: false, similarity: "cosine" };
  const expected = parseExpected([
    { ...base, method: "vse0@seed=0", i2t_r1: 0.02, t2i_r10: 0.25, source: "our run" },
    { ...base, method: "vse0@seed=0", i2t_medr: 42, tol: 3, source: "our run" },
    { ...base, method: "vse0@seed=0", t2i_meanr: 45, tol: 3, source: "our run" },
    // cca's row has no R@K (an evaluation without pairs): missing, not a crash.
    { ...base, method: "cca", i2t_r1: 0.02, source: "our run" },
  ]);
  const out = compareExpected(rows, expected);
  assert.deepEqual(out.map((r) => [r.metric, r.reproduced, r.ok]), [
    ["i2t_r1", 0.02, true],
    ["t2i_r10", 0.23, false],
    ["i2t_medr", 40, true],
    ["t2i_meanr", 38, false],
    ["i2t_r1", null, false],
  ]);
  assert.match(out[4].note, /has no i2t_r1/);
  const claims = evaluateClaims(
    rows,
    parseClaims([
      {
        left: { method: "infonce@seed=0", metric: "i2t_r1" },
        op: ">=",
        right: { method: "vse0@seed=0" },
      },
      {
        left: { method: "infonce@seed=0", metric: "t2i_medr" },
        op: "<",
        right: { method: "vse0@seed=0" },
      },
      {
        left: { method: "infonce@seed=0", metric: "avg" },
        op: ">",
        right: { method: "vse0@seed=0" },
      },
      { left: { method: "cca", pca: false, metric: "i2t_r1" }, op: ">", right: 0 },
    ]),
  );
  assert.deepEqual(claims.map((c) => c.holds), [true, true, false, false]);
  assert.match(claims[0].detail, /0\.0500 >= 0\.0200/);
  assert.match(claims[3].detail, /has no i2t_r1/);
});

Deno.test("R@K fields: parseExpected validates ranks apart from fractions", () => {
  const base = {
    kind: "regression",
    dataset: "wiki",
    method: "m",
    pca: false,
    similarity: "cosine",
    source: "our run",
  };
  assert.throws(
    () => parseExpected([{ ...base, i2t_r1: 5 }]),
    /"i2t_r1" must be a number in \[0, 1\]/,
  );
  assert.throws(
    () => parseExpected([{ ...base, i2t_medr: 0.5, tol: 1 }]),
    /"i2t_medr" must be a number ≥ 1/,
  );
  assert.throws(() => parseExpected([{ ...base, i2t_medr: 40 }]), /needs its own tol, in ranks/);
  assert.throws(
    () => parseExpected([{ ...base, i2t_medr: 40, i2t_r1: 0.1, tol: 3 }]),
    /in a row of their own/,
  );
  assert.throws(
    () => parseExpected([{ ...base, r1: 0.1 }]),
    /give at least one of i2t, t2i, avg, i2t_r1/,
  );
  // A rank row's tol is in ranks: no tol_reason needed for 3 > 0.015.
  assert.equal(parseExpected([{ ...base, i2t_medr: 40, tol: 3 }])[0].tol, 3);
  assert.throws(
    () => parseClaims([{ left: { method: "m", metric: "r1" }, op: ">", right: 0 }]),
    /"metric" must be one of i2t, t2i, avg, i2t_r1/,
  );
});

Deno.test('claims with seed: "*": one comparison per seed, holding only if all hold', () => {
  const seeded = (m: string, seed: number, i2t: number, r1: number) =>
    metricRow(
      {
        dataset: "wiki",
        method: m,
        pca: false,
        similarity: "cosine",
        stage: `s-${m}${seed}`,
      },
      { i2t, t2i: i2t },
      {
        recall: {
          i2t: { r1, r5: 0, r10: 0, medr: 9, meanr: 9 },
          t2i: { r1, r5: 0, r10: 0, medr: 9, meanr: 9 },
        },
        sweep: { seed },
      },
    );
  const rows = [
    ...ROWS,
    seeded("ds", 0, 0.25, 0.01),
    seeded("ds", 1, 0.24, 0.02),
    seeded("ds", 10, 0.23, 0.0),
    seeded("vse", 0, 0.15, 0.02),
    seeded("vse", 1, 0.16, 0.01),
    seeded("vse", 10, 0.12, 0.03),
  ];
  const random = { method: "random", similarity: "random" };
  const out = evaluateClaims(
    rows,
    parseClaims([
      { left: { method: "ds", seed: "*", similarity: "cosine" }, op: ">", right: random },
      {
        left: { method: "ds", seed: "*" },
        op: ">",
        right: { method: "vse", seed: "*" },
        margin: 0.07,
      },
      {
        left: { method: "ds", seed: "*", metric: "i2t_r1" },
        op: ">=",
        right: { method: "vse", seed: "*" },
      },
      { left: { method: "ds", seed: "*", metric: "i2t_r1" }, op: ">", right: 0.005 },
      { left: { method: "nope", seed: "*" }, op: ">", right: 0 },
    ]),
  );
  assert.deepEqual(out.map((c) => c.holds), [true, true, false, false, false]);
  // seeds sorted as numbers (0, 1, 10), the closest call named
  assert.match(out[0].detail, /^3\/3 hold \(seed = 0, 1, 10\); closest 10: 0\.2300 > 0\.1184/);
  assert.match(out[1].detail, /closest 1: .*difference 0\.0800/);
  assert.match(
    out[2].detail,
    /^1\/3 hold .*fails for 0: 0\.0100 >= 0\.0200; 10: 0\.0000 >= 0\.0300/,
  );
  assert.match(out[3].detail, /^2\/3 hold/);
  assert.match(out[4].detail, /no metrics row for nope seed \*/);
  assert.throws(
    () => parseClaims([{ left: { method: "a", seed: "*", lambda: "*" }, op: ">", right: 0 }]),
    /one sweep field may be "\*"/,
  );
  assert.throws(
    () =>
      parseClaims([{
        left: { method: "ds", seed: 0 },
        op: ">",
        right: { method: "vse", seed: "*" },
      }]),
    /needs the same field "\*" in left/,
  );
});
