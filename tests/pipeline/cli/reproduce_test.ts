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

Deno.test("a cancel that lands while a stage's key is computed cancels the stage (exit 130)", async () => {
  const { main } = await import("../../../pipeline/cli/mod.ts");
  const { workspace } = await import("../fixtures/harness.ts");
  const { registry } = await import("../fixtures/toy_kinds.ts");
  const ac = new AbortController();
  const source = registry.get("source")!;
  // environment() runs while the runner computes the key, after its last look at the signal
  const moved = new Map(registry);
  moved.set("source", {
    ...source,
    environment: () => {
      ac.abort(new Error("cancelled"));
      return Promise.resolve({});
    },
  });
  await using ws = await workspace("stages:\n  s1:\n    uses: source\n");
  const lines: string[] = [];
  const code = await main(
    ["reproduce", "--pipeline", ws.pipeline, "--artifacts", ws.artifacts],
    { registry: moved, signal: ac.signal, jobs: 1, stdout: (l) => void lines.push(l), tty: false },
  );
  assert.equal(code, 130, lines.join("\n"));
  assert.match(lines.join("\n"), /^cancelled +s1/m);
});
