import assert from "node:assert/strict";
import { parseJobs } from "../../../pipeline/cli/reproduce.ts";
import { UsageError } from "../../../pipeline/usage.ts";

Deno.test("parseJobs: a positive integer; without one, the default, read only then", () => {
  let asked = 0;
  const fallback = () => (asked++, 7);
  assert.equal(parseJobs("3", fallback), 3);
  assert.equal(asked, 0, "the machine is not read when --jobs is given");
  assert.equal(parseJobs(undefined, fallback), 7);
  assert.equal(asked, 1);
  for (const bad of ["0", "-2", "1.5", "two", ""]) {
    assert.throws(() => parseJobs(bad, fallback), UsageError, `--jobs ${bad}`);
  }
});
