import assert from "node:assert/strict";
import {
  type CheckRow,
  type ClaimResult,
  countsOk,
  failures,
  parseCheckResult,
  readCheckResult,
  summaryLine,
  tally,
  writeCheckResult,
} from "../../../stages/formats/check_result.ts";

function cell(kind: CheckRow["kind"], ok: boolean, method = "cca"): CheckRow {
  return {
    kind,
    dataset: "wiki",
    method,
    pca: false,
    similarity: "cosine",
    metric: "avg",
    expected: 0.3,
    reproduced: ok ? 0.3 : 0.35,
    delta: ok ? 0 : 0.05,
    tol: 0.015,
    ok,
    source: "Table 1",
    note: "",
    degenerate: false,
    stage: "eval-cca",
  };
}

const claim = (holds: boolean, required: boolean): ClaimResult => ({
  claim: `c ${holds} ${required}`,
  holds,
  detail: "0.1 > 0.2",
  required,
  ...(required ? {} : { reason: "r" }),
});

Deno.test("tally / summaryLine: each kind counted on its own, kinds without rows left out", () => {
  const rows = [
    cell("published", true),
    cell("published", false),
    cell("anchor", true),
    cell("regression", true),
  ];
  const counts = tally(rows, [claim(true, true), claim(false, false)]);
  assert.deepEqual(counts, {
    rows: {
      published: { ok: 1, total: 2 },
      anchor: { ok: 1, total: 1 },
      regression: { ok: 1, total: 1 },
    },
    claims: { ok: 1, total: 2, failedRequired: 0 },
  });
  assert.equal(
    summaryLine(counts),
    "published 1/2 · anchors 1/1 · regression 1/1 · claims 1/2 (1 failing, not required)",
  );
  assert.equal(countsOk(counts), false); // a published cell fails
  const fine = tally([cell("published", true)], [claim(false, false)]);
  assert.equal(countsOk(fine), true); // a failing claim that is not required passes
  assert.equal(summaryLine(fine), "published 1/1 · claims 0/1 (1 failing, not required)");
  assert.equal(countsOk(tally([], [claim(false, true)])), false);
  assert.equal(summaryLine(tally([], [])), "no expected rows · claims 0/0");
});

Deno.test("failures: grouped by kind and claims, each naming row, values, tol and source", () => {
  const f = failures({
    rows: [cell("published", false), cell("regression", false, "dse-s"), cell("anchor", true)],
    claims: [claim(false, true), claim(false, false)],
  });
  assert.deepEqual(f, {
    published: ["cca cosine avg (wiki): 0.3500 vs 0.3000 ± 0.015 [Table 1]"],
    anchor: [],
    regression: ["dse-s cosine avg (wiki): 0.3500 vs 0.3000 ± 0.015 [Table 1]"],
    claims: ["c false true: 0.1 > 0.2"],
  });
});

Deno.test("check.json: written and read back; bad files say which field", async () => {
  const dir = await Deno.makeTempDir();
  const rows = [cell("published", true), {
    ...cell("anchor", false),
    reproduced: null,
    delta: null,
  }];
  const claims = [claim(true, true)];
  const counts = tally(rows, claims);
  await writeCheckResult(`${dir}/check.json`, { ok: countsOk(counts), counts, rows, claims });
  const back = await readCheckResult(dir);
  assert.deepEqual(back, { ok: false, counts, rows, claims });
  // counts are recomputed from the rows: a hand-edited "ok" cannot hide a failing row
  const edited = JSON.parse(await Deno.readTextFile(`${dir}/check.json`));
  edited.ok = true;
  edited.counts.rows.anchor.ok = 1;
  assert.equal(parseCheckResult(edited, "x").ok, false);
  assert.throws(
    () => parseCheckResult({ ...edited, rows: [{ ...edited.rows[0], kind: "reported" }] }, "f"),
    /f rows\[0\]: "kind" must be one of published, anchor, regression/,
  );
  assert.throws(() => parseCheckResult({ rows: [] }, "f"), /"rows" and "claims" must be lists/);
  assert.throws(
    () => parseCheckResult({ ...edited, claims: [{ claim: "x", detail: "" }] }, "f"),
    /claims\[0\]: "holds" and "required"/,
  );
  await assert.rejects(readCheckResult(`${dir}/none`), /cannot read/);
  await Deno.remove(dir, { recursive: true });
});
