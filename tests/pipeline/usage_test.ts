import assert from "node:assert/strict";
import { closest, didYouMean, editDistance, UsageError } from "../../pipeline/usage.ts";

Deno.test("editDistance: insertions, deletions, substitutions, transpositions", () => {
  assert.equal(editDistance("", ""), 0);
  assert.equal(editDistance("kitten", "sitting"), 3);
  assert.equal(editDistance("abc", ""), 3);
  assert.equal(editDistance("", "ab"), 2);
  assert.equal(editDistance("train-dse", "train-dse"), 0);
  assert.equal(editDistance("trian", "train"), 1, "a swap of neighbours is one edit");
  assert.equal(editDistance("scr", "src"), 1);
  assert.equal(editDistance("ca", "abc"), 3);
});

Deno.test("closest / didYouMean: near names first, far ones never", () => {
  const names = ["train-dse-cs", "train-dse-ds", "wiki-data", "eval-pls", "quick", "paper"];
  assert.deepEqual(closest("train-dse-xs", names), ["train-dse-cs", "train-dse-ds"]);
  assert.deepEqual(closest("quik", names), ["quick"]);
  assert.deepEqual(closest("wiki", names), ["wiki-data"], "a prefix suggests the full name");
  assert.deepEqual(closest("zzzzzz", names), []);
  assert.deepEqual(closest("scr", ["c", "src"]), ["src"], "no one-letter name by containment");
  assert.equal(didYouMean("papr", names), "; did you mean 'paper'?");
  assert.equal(
    didYouMean("train-dse-xs", names),
    "; did you mean 'train-dse-cs' or 'train-dse-ds'?",
  );
  assert.equal(didYouMean("zzzzzz", names), "");
  assert.equal(didYouMean("quick", names), "", "the word itself is not suggested");
});

Deno.test("UsageError is an Error with its own name", () => {
  const e = new UsageError("unknown target 'x'");
  assert.ok(e instanceof Error);
  assert.equal(e.name, "UsageError");
  assert.equal(e.message, "unknown target 'x'");
});
