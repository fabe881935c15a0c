import assert from "node:assert/strict";
import { loadInputs, type MetricsRow, type ReportInputs } from "../../../stages/report/inputs.ts";
import {
  buildClaimsTable,
  buildResultTables,
  buildSimilarityTables,
  claimsGrid,
  fmtPair,
  methodLabel,
  paperOrder,
  pickRow,
  signed,
  tableGrid,
} from "../../../stages/report/tables.ts";
import { fixtureDir } from "../../fixtures/report/fixture.ts";

async function fixtures(): Promise<ReportInputs> {
  return await loadInputs({
    ev: fixtureDir("eval_wiki"),
    cnn: fixtureDir("eval_cnn"),
    sw: fixtureDir("sweep_wiki"),
    ck: fixtureDir("check_wiki"),
  });
}

Deno.test("Tables 1–3: expected | reproduced | Δ with PCA in brackets, the kind in the reference", async () => {
  const data = await fixtures();
  const [t1, t2] = buildResultTables(data, {
    tables: [
      { dataset: "wiki", title: "Table 1: classic", reference: "methods.md §14" },
      { dataset: "wiki-cnn" },
    ],
  });
  assert.equal(t1.title, "Table 1: classic");
  assert.deepEqual(t1.rows.map((r) => r.label), [
    "Random",
    "CCA",
    "PLS",
    "BLM",
    "SM",
    "SCM",
    "GMLDA",
    "GMMFA",
    "MsAlg",
    "LRBS",
    "DSE-S",
    "DSE-CS",
    "DSE-DS",
  ]);
  const cca = t1.rows.find((r) => r.method === "cca")!;
  assert.deepEqual(cca.cells.i2t.expected, { plain: 0.2435, pca: 0.2649 });
  assert.deepEqual(cca.cells.i2t.reproduced, { plain: 0.2436, pca: 0.265 });
  assert.ok(Math.abs(cca.cells.t2i.delta.pca! - -0.0002) < 1e-12);
  // The expected average is derived from the two expected directions.
  assert.ok(Math.abs(cca.cells.avg.expected.plain! - (0.2435 + 0.1978) / 2) < 1e-12);
  assert.equal(cca.reference, "published: PROVENANCE.md (TongJiayan/Multimodal-Retrieve)");
  assert.deepEqual(cca.kinds, ["published"]);
  // a row without an expected value has no kind, and says so
  const lrbs = t1.rows.find((r) => r.method === "lrbs")!;
  assert.deepEqual(lrbs.kinds, []);
  assert.equal(lrbs.reference, "methods.md §14");
  assert.deepEqual(tableGrid(t1).header.slice(2, 5), ["expected", "reproduced", "Δ"]);
  const grid = tableGrid(t1);
  const ccaRow = grid.body[1];
  assert.deepEqual(ccaRow.slice(0, 5), [
    "CCA",
    "cosine",
    "0.2435 (0.2649)",
    "0.2436 (0.2650)",
    "+0.0001 (+0.0001)",
  ]);
  // PLS without PCA is marked degenerate (†) and carries its note; it is within its wide tol.
  const pls = grid.body[2];
  assert.equal(pls[2], "0.2075† (0.2477)");
  assert.equal(pls[4], "+0.0280 (+0.0000)");
  assert.match(pls[11], /see note/);
  assert.match(t1.notes.join("\n"), /PLS: † numerically degenerate\nPLS: 10 factors on rank-9/);
  // GMMFA+PCA T→I is out of tolerance: ✗ on its Δ only.
  const gmmfa = grid.body[7];
  assert.equal(gmmfa[0], "GMMFA");
  assert.equal(gmmfa[7], "+0.0000 (+0.0054✗)");
  assert.equal(gmmfa[4], "+0.0000 (+0.0000)");
  // SM has no published value: its reference is the table's fallback; SCM uses its check's NC.
  const sm = t1.rows.find((r) => r.method === "sm")!;
  assert.equal(sm.reference, "methods.md §14");
  assert.deepEqual(sm.cells.i2t.expected, {});
  assert.equal(t1.rows.find((r) => r.method === "scm")!.similarity, "nc");
  // DSE rows show cosine, the λ-sweep rows do not leak into the table.
  const ds = t1.rows.find((r) => r.method === "dse-ds")!;
  assert.equal(ds.similarity, "cosine");
  assert.equal(ds.cells.avg.reproduced.plain, 0.277);
  assert.equal(t2.title, "Table 2: wiki-cnn");
  assert.equal(t2.rows[0].reference, "no published value: reproduced only");
  assert.equal(tableGrid(t2).body[0][3], "0.3880 (0.4010)");
});

Deno.test("Table 4: Euclidean against cosine per DSE variant", async () => {
  const data = await fixtures();
  const [t4, t5] = buildSimilarityTables(data, { firstNumber: 4 });
  assert.equal(t4.id, "table4-wiki");
  // one Table 4 as in the paper: every dataset's part carries the same number
  assert.equal(t5.title, "Table 4: Euclidean vs cosine, DSE variants (wiki-cnn)");
  assert.equal(t4.dataset, "wiki");
  assert.deepEqual(t4.rows.map((r) => `${r.label}/${r.similarity}`), [
    "DSE-S/euclidean",
    "DSE-S/cosine",
    "DSE-CS/euclidean",
    "DSE-CS/cosine",
    "DSE-DS/euclidean",
    "DSE-DS/cosine",
  ]);
  assert.equal(t4.rows[0].cells.avg.reproduced.plain, 0.2425);
  assert.deepEqual(t4.notes[0], "DSE-S: cosine − Euclidean (average) = +0.0175");
  assert.equal(t5.id, "table4-wiki-cnn");
  assert.equal(t5.dataset, "wiki-cnn");
});

Deno.test("claims table keeps verdicts and numbers", async () => {
  const g = claimsGrid(buildClaimsTable(await fixtures()));
  assert.equal(g.body.length, 5);
  assert.deepEqual(g.body[0], ["DSE-CS > DSE-S (cosine, avg)", "holds", "0.2715 > 0.2600"]);
  assert.equal(g.body[4][1], "fails (not required: not a claim of the paper)");
  assert.equal(
    claimsGrid({
      id: "c",
      title: "C",
      rows: [{ claim: "x", holds: false, detail: "", required: true }],
    })
      .body[0][1],
    "fails (required: fails the run)",
  );
});

Deno.test("pickRow prefers rows without λ, then the method's default λ", () => {
  const row = (lambda?: number, avg = 0): MetricsRow => ({
    dataset: "w",
    method: "dse-cs",
    pca: false,
    similarity: "cosine",
    i2t: avg,
    t2i: avg,
    avg,
    lambda,
    alias: "a",
  });
  assert.equal(pickRow([row(0.1, 1), row(undefined, 2)])!.avg, 2);
  assert.equal(pickRow([row(0.1, 1), row(0.01, 3)], { "DSE-CS": 0.01 })!.avg, 3);
  assert.equal(pickRow([row(0.1, 1)], {}), undefined);
});

Deno.test("formatting helpers", () => {
  assert.equal(fmtPair({ plain: 0.25 }), "0.2500");
  assert.equal(fmtPair({ pca: 0.25 }), "– (0.2500)");
  assert.equal(fmtPair({}), "–");
  assert.equal(
    fmtPair({ plain: 0.01, pca: -0.002 }, { format: signed, ok: { plain: false } }),
    "+0.0100✗ (-0.0020)",
  );
  assert.equal(
    fmtPair({ plain: 0.2, pca: 0.3 }, { dagger: { pca: true }, ok: { pca: false } }),
    "0.2000 (0.3000†✗)",
  );
  assert.equal(signed(-0.00001), "+0.0000");
  assert.equal(methodLabel("dse_cs"), "DSE-CS");
  // internal ids read as a person would write them
  assert.equal(methodLabel("pls-k9"), "PLS (k = 9)");
  assert.equal(methodLabel("gmmfa-std"), "GMMFA (standard settings)");
  assert.equal(methodLabel("gma-blm", { "gma-blm": "BLM" }), "BLM");
  assert.deepEqual(paperOrder(["dse-ds", "mine", "cca", "random"]), [
    "random",
    "cca",
    "dse-ds",
    "mine",
  ]);
});
