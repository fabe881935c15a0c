import assert from "node:assert/strict";
import { averageDirections, buildReport } from "../../../stages/report/build.ts";
import { loadInputs } from "../../../stages/report/inputs.ts";
import { writeLabels, writeMatrix } from "../../../stages/tensor_io/npy.ts";

Deno.test("averageDirections averages PR pointwise and scope on the shared N", () => {
  const avg = averageDirections({
    dataset: "w",
    method: "m",
    pca: false,
    alias: "a",
    curves: {
      cosine: {
        i2t: {
          pr11: { recall: [0, 0.5, 1], precision: [0.6, 0.4, 0.2] },
          scope: { n: [10, 20, 50], precision: [0.5, 0.4, 0.3] },
        },
        t2i: {
          pr11: { recall: [0, 0.5, 1], precision: [0.4, 0.2, 0.1] },
          scope: { n: [10, 50], precision: [0.3, 0.1] },
        },
      },
    },
  }, "cosine")!;
  assert.deepEqual(avg.pr!.recall, [0, 0.5, 1]);
  assert.deepEqual(avg.pr!.precision.map((x) => Math.round(x * 1e9) / 1e9), [0.5, 0.3, 0.15]);
  assert.deepEqual(avg.scope!.n, [10, 50]);
  assert.deepEqual(avg.scope!.precision.map((x) => Math.round(x * 1e9) / 1e9), [0.4, 0.2]);
});

Deno.test("Fig 6 projects class centers with the embeddings' PCA", async () => {
  // Every image and text sits exactly on its class center, so each projected center must coincide
  // with its class's projected points, in both spaces.
  const tmp = await Deno.makeTempDir();
  const d = 5, c = 3;
  const centers = Float64Array.from([3, 0, 1, 0, 2, -1, 4, 0, 2, 0, 0, 0, -2, 5, 1]);
  const n = 6, img = new Float64Array(n * d), y: number[] = [];
  for (let i = 0; i < n; i++) {
    y.push(i % c);
    img.set(centers.subarray((i % c) * d, (i % c + 1) * d), i * d);
  }
  const dir = `${tmp}/emb`;
  await Deno.mkdir(dir);
  await writeMatrix(`${dir}/img.npy`, { rows: n, cols: d, data: img });
  await writeMatrix(`${dir}/txt.npy`, { rows: n, cols: d, data: img });
  await writeMatrix(`${dir}/centers.npy`, { rows: c, cols: d, data: centers });
  await writeLabels(`${dir}/y.npy`, y);
  await Deno.writeTextFile(
    `${dir}/embedding.json`,
    JSON.stringify({ dataset: "w", method: "dse-cs", pca: false, score: "cosine", hyper: {} }),
  );
  await Deno.mkdir(`${tmp}/m`);
  await Deno.writeTextFile(
    `${tmp}/m/metrics.json`,
    JSON.stringify({
      rows: [{
        dataset: "w",
        method: "dse-cs",
        pca: false,
        similarity: "cosine",
        i2t: 0.5,
        t2i: 0.4,
      }],
    }),
  );
  const out = `${tmp}/out`;
  await Deno.mkdir(out);
  const built = await buildReport(
    await loadInputs({ emb: dir, m: `${tmp}/m` }),
    (name) => `${out}/${name}`,
    { title: "t", formats: ["svg"], repoDir: tmp },
  );
  assert.deepEqual(built.model.figures.map((f) => f.id), ["fig6_w"]);
  assert.equal(built.model.tables[0].rows[0].cells.avg.reproduced.plain, 0.45);
  assert.match(built.model.skippedFigures.join("\n"), /no curves\.json/);
  assert.match(built.model.skippedFigures.join("\n"), /no metrics rows carry a λ/);
  const spec = JSON.parse(await Deno.readTextFile(`${out}/figures/fig6_w.vl.json`));
  // deno-lint-ignore no-explicit-any
  const pts = spec.data.values as any[];
  for (const space of ["raw", "unit-normalised"]) {
    for (const cls of ["class 0", "class 1", "class 2"]) {
      const here = pts.filter((p) => p.space === space && p.cls === cls);
      const centre = here.find((p) => p.modality === "class center");
      assert.ok(centre, `${space} ${cls} center drawn`);
      for (const p of here) {
        assert.ok(Math.abs(p.x - centre.x) < 1e-9 && Math.abs(p.y - centre.y) < 1e-9);
      }
    }
  }
  await Deno.stat(`${out}/figures/fig6_w.svg`);
  await assert.rejects(Deno.stat(`${out}/figures/fig6_w.png`));
  await Deno.remove(tmp, { recursive: true });
});

Deno.test("with compare: seeded rows go to the comparison only; no Tables 1–4 without `tables`", async () => {
  const tmp = await Deno.makeTempDir();
  const r = (method: string, i2t: number, extra: Record<string, number> = {}) => ({
    dataset: "w",
    method,
    pca: false,
    similarity: "cosine",
    i2t,
    t2i: i2t,
    avg: i2t,
    stage: "s",
    ...extra,
  });
  const rk = { i2t_r1: 0.1, i2t_r5: 0.2, i2t_r10: 0.3, t2i_r1: 0.1, t2i_r5: 0.2, t2i_r10: 0.3 };
  await Deno.writeTextFile(
    `${tmp}/metrics.json`,
    JSON.stringify({
      rows: [
        r("cca", 0.25, rk),
        r("vsepp", 0.2, { ...rk, seed: 0 }),
        r("vsepp", 0.3, { ...rk, seed: 1 }),
      ],
    }),
  );
  const out = `${tmp}/out`;
  await Deno.mkdir(out);
  const inputs = await loadInputs({ m: tmp });
  const compare = { dataset: "w", title: "C" };
  const only = await buildReport(inputs, (n) => `${out}/${n}`, {
    title: "t",
    formats: ["svg"],
    repoDir: tmp,
    compare,
  });
  assert.equal(only.model.tables.length, 0);
  assert.deepEqual(only.model.compare!.rows.map((x) => [x.method, x.runs]), [["cca", 1], [
    "vsepp",
    2,
  ]]);
  assert.ok(only.model.figures.some((f) => f.id === "fig_compare_w"));
  assert.match(await Deno.readTextFile(`${out}/report.md`), /## C\n/);
  const both = await buildReport(inputs, (n) => `${out}/${n}`, {
    title: "t",
    formats: ["svg"],
    repoDir: tmp,
    compare,
    tables: [{ dataset: "w" }],
  });
  assert.deepEqual(both.model.tables[0].rows.map((x) => x.method), ["cca"], "seeded rows left out");
  await Deno.remove(tmp, { recursive: true });
});
