import assert from "node:assert/strict";
import { reportKind } from "../../../stages/report/mod.ts";
import type { StageKind } from "../../../pipeline/types.ts";
import { renderTerminalReport } from "../../../stages/report/terminal.ts";
import { runKind } from "../../helpers/stage_context.ts";
import { fixtureDir } from "../../fixtures/report/fixture.ts";

Deno.test("renderTerminalReport prints the tables, claims and the HTML path", async () => {
  const tmp = await Deno.makeTempDir();
  const run = await runKind(reportKind as unknown as StageKind, {
    inputs: { ev: fixtureDir("eval_wiki"), ck: fixtureDir("check_wiki") },
    params: { formats: ["svg"] },
    dir: tmp,
  });
  const text = await renderTerminalReport([run.dir, `${tmp}/not-a-report`]);
  // the same counts as the CLI, and the notation explained as in the HTML
  assert.match(
    text,
    /^Summary: ck: FAILED \(published 19\/20 · claims 4\/5 \(1 failing, not required\)\)$/m,
  );
  assert.match(text, /`?a \(b\)`?: a without PCA, b with PCA/);
  assert.match(text, /published \(printed in the paper\s+or the data release/);
  assert.match(text, /Table 1: wiki/);
  assert.match(text, /Table 4: Euclidean vs cosine, DSE variants \(wiki\)/);
  assert.match(text, /│ CCA +│ cosine +│ 0\.2435 \(0\.2649\) +│ 0\.2436 \(0\.2650\) +│/);
  assert.match(text, /│ DSE-S beats SCM by ≥ 0\.01 +│ fails \(not required: not a/);
  assert.ok(text.includes(`HTML report: ${run.dir}/report.html`));
  assert.ok(!text.includes("\u001b["), "no colour codes unless asked");
  // fits 100 columns (the default when not a terminal), keys as 12 hex digits, notation explained
  for (const width of [100, 80]) {
    const t = await renderTerminalReport([run.dir], { width });
    const wide = t.split("\n").filter((l) => l.length > width);
    assert.deepEqual(wide, [], `lines wider than ${width}`);
    const cells = t.split("\n").filter((l) => l.startsWith("│")).join("\n");
    assert.doesNotMatch(cells, /[0-9a-f]{13}/, "no full cache keys");
    if (width === 100) assert.match(t, /│ [0-9a-f]{12} +│/);
    assert.match(t.replaceAll("\n", " "), /a \(b\): a without PCA, b with PCA on the image side/);
  }
  await assert.rejects(
    renderTerminalReport([`${tmp}/nothing`]),
    /no report\.json in .*nothing: the target has no built report stage/,
  );
  await Deno.remove(tmp, { recursive: true });
});
