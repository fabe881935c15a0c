import assert from "node:assert/strict";
import { availableParallelism } from "node:os";
import { defaultJobs, machineResources, STAGE_MEMORY } from "../../../pipeline/cli/jobs.ts";
import { main } from "../../../pipeline/cli/mod.ts";
import { workspace } from "../fixtures/harness.ts";
import { registry } from "../fixtures/toy_kinds.ts";

const GiB = 2 ** 30;

Deno.test("defaultJobs: the cores, capped at one stage per STAGE_MEMORY of available memory", () => {
  assert.equal(STAGE_MEMORY, GiB);
  assert.equal(defaultJobs({ cores: 16, availableMemory: 8.5 * GiB }), 8, "memory caps");
  assert.equal(defaultJobs({ cores: 2, availableMemory: 64 * GiB }), 2, "cores cap");
  assert.equal(defaultJobs({ cores: 4, availableMemory: 0.4 * GiB }), 1, "at least one");
  assert.equal(defaultJobs({ cores: 6 }), 6, "memory unknown: the cores");
  assert.equal(defaultJobs({ cores: 8, availableMemory: 8 * GiB }, { stageMemory: 4 * GiB }), 2);
});

Deno.test("machineResources reads the available parallelism and memory of this machine", () => {
  const m = machineResources();
  assert.equal(m.cores, availableParallelism());
  assert.ok(m.availableMemory !== undefined && m.availableMemory > 0);
  assert.ok(m.availableMemory <= Deno.systemMemoryInfo().total);
});

Deno.test("reproduce without --jobs runs with the default: in worker threads when it is > 1, in-process at 1", async () => {
  await using ws = await workspace(
    `stages:\n  j-{n}:\n    uses: judge\n    matrix: { n: [1, 2] }\n`,
  );
  const run = async (jobs: number, ...args: string[]) => {
    const out: string[] = [];
    const code = await main(
      ["reproduce", "--pipeline", ws.pipeline, "--artifacts", ws.artifacts, "--json", ...args],
      { registry, jobs, stdout: (s) => out.push(s), stderr: () => {}, tty: false },
    );
    assert.equal(code, 0);
    const summary = JSON.parse(out.join("\n"));
    return await Promise.all(
      summary.stages.map(async (s: { objectDir: string }) =>
        JSON.parse(await Deno.readTextFile(`${s.objectDir}/verdict.json`)).worker
      ),
    );
  };
  assert.deepEqual(await run(2), [true, true], "default 2: worker threads");
  await Deno.remove(ws.artifacts, { recursive: true });
  assert.deepEqual(await run(2, "--jobs", "1"), [false, false], "--jobs 1: in-process");
  await Deno.remove(ws.artifacts, { recursive: true });
  assert.deepEqual(await run(1), [false, false], "default 1: in-process");
});
