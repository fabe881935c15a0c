import assert from "node:assert/strict";
import { lambdaOf, loadInputs, wallSecondsOf } from "../../../stages/report/inputs.ts";
import { fixtureDir, writeEmbedding } from "../../fixtures/report/fixture.ts";

Deno.test("loadInputs reads metrics, curves, check, dataset and manifests from the fixtures", async () => {
  const data = await loadInputs({
    ev: fixtureDir("eval_wiki"),
    sw: fixtureDir("sweep_wiki"),
    ck: fixtureDir("check_wiki"),
    ds: fixtureDir("features_wiki"),
  });
  assert.equal(data.metrics.filter((r) => r.alias === "ev").length, 20);
  const cca = data.metrics.find((r) => r.method === "cca" && r.pca)!;
  assert.deepEqual([cca.i2t, cca.t2i, cca.avg], [0.265, 0.216, 0.2405]);
  // λ from hyper.lambda (dse-cs rows) and from a top-level lambda (dse-ds rows).
  const sweep = data.metrics.filter((r) => r.alias === "sw");
  assert.equal(sweep.length, 18);
  assert.deepEqual(
    [...new Set(sweep.filter((r) => r.method === "dse-ds").map((r) => r.lambda))],
    [0, 1e-4, 1e-3, 1e-2, 1e-1, 1],
  );
  assert.ok(sweep.every((r) => r.lambda !== undefined));
  assert.equal(data.curves.length, 17);
  assert.equal(data.checks.length, 20);
  assert.equal(data.claims.length, 5);
  assert.deepEqual(data.checkOk, { ck: false });
  assert.equal(data.classNames.wiki[9], "warfare");
  const ev = data.objects.find((o) => o.alias === "ev")!;
  assert.equal(ev.key, "77aa00bb11cc22dd");
  assert.equal(ev.wallSeconds, 42.5);
  assert.equal(ev.backend, "wasm");
  assert.deepEqual(ev.holds, ["metrics", "curves"]);
  const ck = data.objects.find((o) => o.alias === "ck")!;
  assert.equal(ck.stage, "check-wiki");
  assert.deepEqual(ck.inputKeys, { metrics: "a1b2c3d4" });
  const sw = data.objects.find((o) => o.alias === "sw")!;
  assert.equal(sw.hasManifest, false);
  assert.equal(sw.key, "sweep_wiki");
});

Deno.test("loadInputs: a stage/output file input reads just that file", async () => {
  const data = await loadInputs({ m: `${fixtureDir("eval_wiki")}/metrics.json` });
  assert.equal(data.metrics.length, 20);
  assert.equal(data.curves.length, 0);
  assert.equal(data.objects[0].key, "77aa00bb11cc22dd");
});

Deno.test("loadInputs: Embedding objects, missing files and bad input", async () => {
  const tmp = await Deno.makeTempDir();
  await writeEmbedding(`${tmp}/e`, {
    method: "dse-ds",
    lambda: 0.1,
    classes: 3,
    perClass: 2,
    d: 4,
  });
  await Deno.mkdir(`${tmp}/half`);
  await Deno.writeTextFile(`${tmp}/half/embedding.json`, JSON.stringify({ method: "dse-s" }));
  await Deno.mkdir(`${tmp}/empty`);
  const data = await loadInputs({ e: `${tmp}/e`, half: `${tmp}/half`, empty: `${tmp}/empty` });
  assert.equal(data.embeddings.length, 1);
  assert.equal(data.embeddings[0].lambda, 0.1);
  assert.equal(data.embeddings[0].hasCenters, true);
  assert.match(data.warnings.join("\n"), /half: Embedding object lacks img\.npy, txt\.npy, y\.npy/);
  assert.match(data.warnings.join("\n"), /empty: .* holds none of/);
  await assert.rejects(loadInputs({ x: `${tmp}/nope` }), /input "x" points at .*does not exist/);
  // a dataset.json's warnings (e.g. sizes unlike the paper's) are listed once, however many
  // inputs carry them
  const w = "pascal: 3 train / 3 test items, but the paper has 2808 / 2841; check the download";
  for (const d of ["ds1", "ds2"]) {
    await Deno.mkdir(`${tmp}/${d}`);
    await Deno.writeTextFile(
      `${tmp}/${d}/dataset.json`,
      JSON.stringify({ dataset: "pascal", classes: ["a"], warnings: [w] }),
    );
  }
  const warned = await loadInputs({ a: `${tmp}/ds1`, b: `${tmp}/ds2` });
  assert.deepEqual(warned.warnings, [w]);
  await Deno.mkdir(`${tmp}/bad`);
  await Deno.writeTextFile(
    `${tmp}/bad/metrics.json`,
    JSON.stringify({ rows: [{ dataset: "w", method: "m", similarity: "cosine", i2t: "x" }] }),
  );
  await assert.rejects(loadInputs({ b: `${tmp}/bad` }), /row 0: field "i2t" must be a number/);
  await Deno.remove(tmp, { recursive: true });
});

Deno.test("lambdaOf and wallSecondsOf read the lenient forms", () => {
  assert.equal(lambdaOf({ lambda: 0 }), 0);
  assert.equal(lambdaOf({ hyper: { lambda: 0.01 } }), 0.01);
  assert.equal(lambdaOf({ hyper: { lr: 1 } }), undefined);
  assert.equal(wallSecondsOf({ timings: { wall_s: 3 } }), 3);
  assert.equal(wallSecondsOf({ timings: { wall_ms: 1500 } }), 1.5);
  assert.equal(wallSecondsOf({ timings: { start: 1000, end: 1012 } }), 12);
  assert.equal(wallSecondsOf({ timings: { start: 1.7e12, end: 1.7e12 + 2500 } }), 2.5);
  assert.equal(wallSecondsOf({}), undefined);
});

Deno.test("sweep points from evaluate labels, and the engine's manifest format", async () => {
  const tmp = await Deno.makeTempDir();
  const row = (method: string, sweep: Record<string, number> = {}) => ({
    dataset: "wiki",
    method,
    ...sweep,
    pca: false,
    similarity: "cosine",
    i2t: 0.3,
    t2i: 0.2,
    avg: 0.25,
    stage: "eval-x",
  });
  await Deno.writeTextFile(
    `${tmp}/metrics.json`,
    JSON.stringify({
      rows: [row("dse-cs", { lambda: 0.001 }), row("dse-ds", { lambda: 1e-4 }), row("dse-s")],
    }),
  );
  await Deno.writeTextFile(
    `${tmp}/curves.json`,
    JSON.stringify({ dataset: "wiki", method: "dse-cs", lambda: 0.001, pca: false, curves: {} }),
  );
  await Deno.writeTextFile(
    `${tmp}/manifest.json`,
    JSON.stringify({
      format: 1,
      key: "0123abcd",
      stage: "eval-sweep",
      kind: "evaluate",
      params: { seed: 4 },
      inputs: { emb: { stage: "train-dse-cs", key: "feedbeef", digest: "x" } },
      env: { backend: "wasm" },
      backend: "wasm",
      provenance: {},
      tools: { deno: "2.9.6", v8: "x", typescript: "y" },
      started: "2026-01-01T00:00:00Z",
      finished: "2026-01-01T00:00:09Z",
      duration_ms: 8750,
    }),
  );
  const data = await loadInputs({ e: tmp });
  assert.deepEqual(data.metrics.map((r) => [r.method, r.lambda]), [
    ["dse-cs", 0.001],
    ["dse-ds", 1e-4],
    ["dse-s", undefined],
  ]);
  assert.equal(data.curves[0].method, "dse-cs");
  assert.equal(data.curves[0].lambda, 0.001);
  const o = data.objects[0];
  assert.equal(o.key, "0123abcd");
  assert.equal(o.kind, "evaluate");
  assert.equal(o.wallSeconds, 8.75);
  assert.equal(o.seeds, 4);
  assert.deepEqual(o.inputKeys, { emb: "train-dse-cs feedbeef" });
  assert.equal(o.versions?.deno, "2.9.6");
  await Deno.remove(tmp, { recursive: true });
});

Deno.test("loadInputs: a recipes.json (select-recipe object) is read and checked", async () => {
  const tmp = await Deno.makeTempDir();
  const file = {
    criterion: "avg",
    similarity: "cosine",
    split: { fraction: 0.2 },
    recipes: {
      xu: {
        loss: "xu",
        chosen: "xu.a",
        values: { margin: 0.5 },
        score: 0.2,
        candidates: [{ name: "xu.a", values: { margin: 0.5 }, score: 0.2 }],
      },
    },
  };
  await Deno.writeTextFile(`${tmp}/recipes.json`, JSON.stringify(file));
  const data = await loadInputs({ recipes: tmp });
  assert.deepEqual(data.recipes, [file]);
  assert.deepEqual(data.objects[0].holds, ["recipes"]);
  await Deno.writeTextFile(
    `${tmp}/recipes.json`,
    JSON.stringify({ ...file, recipes: { xu: { ...file.recipes.xu, values: { dim: 8 } } } }),
  );
  await assert.rejects(
    loadInputs({ recipes: tmp }),
    /recipes\.xu\.values: unknown recipe field 'dim'/,
  );
});
