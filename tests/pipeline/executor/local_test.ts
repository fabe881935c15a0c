import assert from "node:assert/strict";
import { LocalExecutor } from "../../../pipeline/executor/local.ts";
import { Project } from "../../../pipeline/project.ts";
import { cacheKey } from "../../../pipeline/key.ts";
import { registry } from "../fixtures/toy_kinds.ts";
import { workspace } from "../fixtures/harness.ts";

const PIPE = `stages:
  slow:
    uses: combine
    with: { wait_ms: 400 }
  quick:
    uses: combine
    with: { salt: q }
`;

async function ready(project: Project, name: string) {
  const ing = await project.ingredients(name);
  if (!ing.ok) throw new Error("not ready");
  const key = cacheKey(ing.ingredients);
  return { name, key, ingredients: ing.ingredients, inputKeys: ing.inputKeys, replace: false };
}

Deno.test("local executor: a submitted stage commits its key; cancel(id) ends one with nothing committed", async () => {
  await using ws = await workspace(PIPE);
  const project = await Project.open({
    registry,
    pipeline: ws.pipeline,
    artifacts: ws.artifacts,
  });
  const ex = new LocalExecutor();
  const context = { project, progress() {} };
  const quick = await ready(project, "quick");
  const a = await ex.submit(quick, context);
  assert.equal(a.id, "quick");
  const done = await a.result;
  assert.equal(done.state, "done");
  assert.equal(done.manifest?.key, quick.key);
  assert.equal((await project.store.verify(quick.key)).status, "ok");
  const slow = await ready(project, "slow");
  const b = await ex.submit(slow, context);
  await ex.cancel(b.id);
  const cancelled = await b.result;
  assert.equal(cancelled.state, "cancelled");
  assert.equal((await project.store.verify(slow.key)).status, "missing");
});

Deno.test("local executor: stage workers are reused one after another, a cancelled one is not, close() ends them", async () => {
  await using ws = await workspace(`stages:
  a: { uses: combine, with: { salt: a } }
  b: { uses: combine, with: { salt: b } }
  c: { uses: combine, with: { salt: c } }
  slow: { uses: combine, with: { wait_ms: 5000 } }
`);
  const project = await Project.open({ registry, pipeline: ws.pipeline, artifacts: ws.artifacts });
  const ex = new LocalExecutor({ workers: true });
  const context = { project, progress() {} };
  try {
    for (const name of ["a", "b", "c"]) {
      const r = await (await ex.submit(await ready(project, name), context)).result;
      assert.equal(r.state, "done", `${name}: ${r.error}`);
      // one worker ran all three: a new worker per stage would leave none idle (terminated)
      // or, kept without reuse, one more each time
      assert.equal(ex.idleWorkers, 1, `after ${name}`);
    }
    const slow = await ex.submit(await ready(project, "slow"), context);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(ex.idleWorkers, 0); // the idle worker took the stage
    await ex.cancel(slow.id);
    assert.equal((await slow.result).state, "cancelled");
    assert.equal(ex.idleWorkers, 0, "a worker that saw an abort went back to the pool");
    const again = await (await ex.submit(await ready(project, "slow"), context)).result;
    assert.equal(again.state, "done", again.error);
    assert.equal(ex.idleWorkers, 1);
  } finally {
    await ex.close();
  }
  assert.equal(ex.idleWorkers, 0);
});
