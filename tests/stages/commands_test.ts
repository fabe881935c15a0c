import assert from "node:assert/strict";
import { main } from "../../pipeline/cli.ts";
import { writeLabels, writeMatrix } from "../../stages/tensor_io/npy.ts";
import { RECALL_FIELDS } from "../../stages/formats/metrics.ts";
import { commands, registry } from "../../stages/mod.ts";

/** A small separable two-view dataset written as .npy, and a pipeline over it. */
async function project(): Promise<{ dir: string; pipeline: string; artifacts: string }> {
  const dir = await Deno.makeTempDir({ prefix: "commands-" });
  let s = 7;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
  for (const split of ["train", "test"]) {
    const n = split === "train" ? 60 : 30;
    const y = Array.from({ length: n }, (_, i) => i % 3);
    const img = new Float64Array(n * 5), txt = new Float64Array(n * 4);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < 5; k++) img[i * 5 + k] = (k === y[i] ? 2 : 0) + rand();
      for (let k = 0; k < 4; k++) txt[i * 4 + k] = (k === y[i] ? 2 : 0) + rand();
    }
    await writeMatrix(`${dir}/img_${split}.npy`, { rows: n, cols: 5, data: img });
    await writeMatrix(`${dir}/txt_${split}.npy`, { rows: n, cols: 4, data: txt });
    await writeLabels(`${dir}/y_${split}.npy`, y);
  }
  const pipeline = `${dir}/pipeline.yaml`;
  await Deno.writeTextFile(
    pipeline,
    `version: 1
stages:
  toy-data:
    uses: features
    with:
      dataset: toy
      img_train: ${dir}/img_train.npy
      img_test: ${dir}/img_test.npy
      txt_train: ${dir}/txt_train.npy
      txt_test: ${dir}/txt_test.npy
      labels_train: { file: ${dir}/y_train.npy }
      labels_test: { file: ${dir}/y_test.npy }
  cca-toy: { uses: cca, inputs: { features: toy-data }, with: { k: 2, reg: 0.001 } }
  eval-cca-toy: { uses: evaluate, inputs: { emb: cca-toy }, with: { similarities: [cosine, euclidean] } }
  random-toy: { uses: random, inputs: { data: toy-data } }
targets:
  all: [eval-cca-toy, random-toy]
default: all
`,
  );
  return { dir, pipeline, artifacts: `${dir}/artifacts` };
}

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [], err: string[] = [];
  const code = await main(args, {
    registry,
    commands,
    stdout: (l) => void out.push(l),
    stderr: (l) => void err.push(l),
    tty: false,
  });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

Deno.test("metrics --json: the stable row schema, after a real reproduce", async () => {
  const p = await project();
  const where = ["--pipeline", p.pipeline, "--artifacts", p.artifacts];
  const before = await run(["metrics", "--json", ...where]);
  assert.equal(before.code, 0);
  assert.deepEqual(JSON.parse(before.out), []);
  assert.match(before.err, /not built yet/);

  const r = await run(["reproduce", ...where]);
  assert.equal(r.code, 0, r.err);
  const m = await run(["metrics", "--json", ...where]);
  assert.equal(m.code, 0);
  const rows = JSON.parse(m.out) as Record<string, unknown>[];
  assert.deepEqual(
    rows.map((x) => `${x.method}/${x.similarity}`).sort(),
    ["cca/cosine", "cca/euclidean", "random/random"],
  );
  for (const row of rows) {
    // The stable fields, plus the optional R@K fields on evaluated rows (not on random's).
    const optional = row.method === "random" ? [] : [...RECALL_FIELDS];
    assert.deepEqual(
      Object.keys(row).sort(),
      ["avg", "dataset", "i2t", "method", "pca", "similarity", "stage", "t2i", ...optional].sort(),
    );
    assert.equal(row.dataset, "toy");
    assert.ok(
      Math.abs((row.avg as number) - ((row.i2t as number) + (row.t2i as number)) / 2) < 1e-12,
    );
  }
  const cca = rows.find((x) => x.method === "cca" && x.similarity === "cosine")!;
  const random = rows.find((x) => x.method === "random")!;
  assert.equal(cca.stage, "eval-cca-toy");
  // separable classes: CCA retrieves far above chance (1/3)
  assert.ok((cca.avg as number) > 0.9, `cca avg ${cca.avg}`);
  // E[AP] for R = 10 relevant among n = 30 under a uniform random ranking:
  // H_n/n + (R−1)/(n−1)·(1 − H_n/n) = 0.40218…
  let h = 0;
  for (let k = 1; k <= 30; k++) h += 1 / k;
  const expected = h / 30 + (9 / 29) * (1 - h / 30);
  assert.ok(Math.abs((random.avg as number) - expected) < 1e-12, `random avg ${random.avg}`);
  await Deno.remove(p.dir, { recursive: true });
});

Deno.test("metrics, report: an unknown target is one line, exit 2, with a suggestion", async () => {
  const p = await project();
  try {
    for (const cmd of ["metrics", "report"]) {
      const r = await run([cmd, "al", "--pipeline", p.pipeline, "--artifacts", p.artifacts]);
      assert.equal(r.code, 2, cmd);
      assert.equal(
        r.err,
        "error: unknown target 'al'; did you mean 'all'?; targets: all (--help for usage)",
      );
    }
  } finally {
    await Deno.remove(p.dir, { recursive: true });
  }
});

Deno.test("report: a target without a report stage says what to do, exit 1", async () => {
  const p = await project();
  const r = await run(["report", "--pipeline", p.pipeline, "--artifacts", p.artifacts]);
  assert.equal(r.code, 1);
  assert.match(r.err, /no built report/);
  assert.match(r.err, /reproduce/);
  await Deno.remove(p.dir, { recursive: true });
});

Deno.test("metrics: each row says what a check compared it with, by kind; text ends with the counts", async () => {
  const p = await project();
  const text = await Deno.readTextFile(p.pipeline);
  // E[AP] of a random ranking, R = 10 of n = 30 (see above): an independent formula → an anchor
  let h = 0;
  for (let k = 1; k <= 30; k++) h += 1 / k;
  const chance = h / 30 + (9 / 29) * (1 - h / 30);
  await Deno.writeTextFile(
    p.pipeline,
    text.replace(
      "targets:",
      `  check-toy:
    uses: check
    inputs: { evals: "eval-*-toy", rnd: random-toy }
    with:
      expected:
        - { kind: anchor, dataset: toy, method: random, pca: false, similarity: random, i2t: ${chance}, t2i: ${chance}, tol: 0.000001, source: "E[AP] of a uniform ranking" }
      claims:
        - { left: { method: cca, similarity: cosine }, op: ">", right: { method: random, similarity: random } }
targets:
  checked: [check-toy]
targets_unused:`,
    ).replace("targets_unused:\n", ""),
  );
  const where = ["--pipeline", p.pipeline, "--artifacts", p.artifacts];
  const r = await run(["reproduce", "checked", ...where]);
  assert.equal(r.code, 0, r.err + r.out);
  const m = await run(["metrics", "checked", "--json", ...where]);
  const rows = JSON.parse(m.out) as Record<string, unknown>[];
  const random = rows.find((x) => x.method === "random")!;
  assert.deepEqual(
    (random.expected as { kind: string; metric: string; ok: boolean }[]).map((e) =>
      `${e.kind} ${e.metric} ${e.ok}`
    ),
    ["anchor i2t true", "anchor t2i true"],
  );
  assert.equal(rows.find((x) => x.method === "cca")!.expected, undefined);
  const t = await run(["metrics", "checked", ...where]);
  assert.match(t.out, /^toy\trandom\t-\trandom\t.*\tanchor$/m);
  assert.match(t.out, /^toy\tcca\t-\tcosine\t.*\t-$/m);
  assert.match(t.out, /check: anchors 2\/2 · claims 1\/1$/);
  await Deno.remove(p.dir, { recursive: true });
});
