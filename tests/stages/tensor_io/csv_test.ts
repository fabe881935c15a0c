import assert from "node:assert/strict";
import { parseCsv, readCsv } from "../../../stages/tensor_io/csv.ts";

Deno.test("csv: header auto-detected, comma, quoted names", () => {
  const t = parseCsv('"a","b",c\n1,2.5,-3e2\n\n# comment\n4,5,6\n');
  assert.deepEqual(t.header, ["a", "b", "c"]);
  assert.deepEqual(t.matrix, { rows: 2, cols: 3, data: new Float64Array([1, 2.5, -300, 4, 5, 6]) });
});

Deno.test("csv: no header, tabs, whitespace, NaN/Inf", () => {
  assert.deepEqual(parseCsv("1\t2\n3\t4").matrix.data, new Float64Array([1, 2, 3, 4]));
  const w = parseCsv("  1   2 \n3 NaN\n-Inf 0\n");
  assert.equal(w.header, undefined);
  assert.equal(w.matrix.rows, 3);
  assert.ok(Number.isNaN(w.matrix.data[3]));
  assert.equal(w.matrix.data[4], -Infinity);
  assert.deepEqual(parseCsv("1;2\n3;4", { header: true }).header, ["1", "2"]);
});

Deno.test("csv: ragged rows and text fields are named by line", async () => {
  assert.throws(() => parseCsv("1,2\n3\n", { source: "f.csv" }), /f.csv: line 2 has 1 fields/);
  assert.throws(() => parseCsv("x,y\n1,abc"), /line 2, field 2 is not a number: 'abc'/);
  assert.throws(() => parseCsv("\n# only\n"), /no data lines/);
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/m.csv`, "1,2\n3,4\n");
  assert.deepEqual((await readCsv(`${dir}/m.csv`)).matrix.data, new Float64Array([1, 2, 3, 4]));
  await Deno.remove(dir, { recursive: true });
});
