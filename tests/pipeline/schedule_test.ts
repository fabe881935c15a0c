import assert from "node:assert/strict";
import { scheduleStages } from "../../pipeline/schedule.ts";
import { topoOrder } from "../../pipeline/dag.ts";
import { Rng } from "../../stages/util/rng.ts";

type Graph = Map<string, string[]>;

/** A graph that counts `get` calls (how often a scheduler looks at a stage's dependencies). */
class CountingGraph extends Map<string, string[]> {
  gets = 0;
  override get(k: string): string[] | undefined {
    this.gets++;
    return super.get(k);
  }
}

/**
 * The runner's scheduler before issue 14 (pipeline/run.ts at 82a2e4c), as the reference for the
 * start order: scan the waiting list in order, start what is ready, remove it with splice.
 */
async function scanScheduler(
  order: readonly string[],
  graph: ReadonlyMap<string, readonly string[]>,
  jobs: number,
  run: (n: string) => Promise<string>,
  results: Map<string, string>,
): Promise<void> {
  const wanted = new Set(order);
  const waiting = [...order];
  const running = new Map<string, Promise<void>>();
  while (waiting.length || running.size) {
    let started = false;
    for (let i = 0; i < waiting.length && running.size < jobs; i++) {
      const n = waiting[i];
      const deps = (graph.get(n) ?? []).filter((d) => wanted.has(d));
      if (!deps.every((d) => results.has(d))) continue;
      waiting.splice(i--, 1);
      started = true;
      running.set(
        n,
        run(n).then((r) => {
          results.set(n, r);
          running.delete(n);
        }),
      );
    }
    if (running.size) await Promise.race(running.values());
    else if (!started && waiting.length) {
      for (const n of waiting.splice(0)) results.set(n, "unreachable");
    }
  }
}

/** A random DAG of `n` stages (each depends on up to 3 earlier ones), in insertion order. */
function randomDag(rng: Rng, n: number): Graph {
  const g: Graph = new Map();
  for (let i = 0; i < n; i++) {
    const deps = new Set<string>();
    const k = Math.floor(rng.next() * 4);
    for (let j = 0; j < k && i > 0; j++) deps.add(`s${Math.floor(rng.next() * i)}`);
    g.set(`s${i}`, [...deps]);
  }
  return g;
}

/**
 * Runs a scheduler with stages that finish after a number of timer ticks fixed by their name, and
 * returns the order in which they started.
 */
async function startOrder(
  impl: "new" | "old",
  graph: Graph,
  jobs: number,
  ticks: (n: string) => number,
): Promise<string[]> {
  const order = topoOrder(graph);
  const started: string[] = [];
  const run = async (n: string) => {
    started.push(n);
    for (let t = 0; t < ticks(n); t++) await new Promise((r) => setTimeout(r, 0));
    return n;
  };
  const results = new Map<string, string>();
  if (impl === "new") {
    await scheduleStages(order, graph, { jobs, run, results, unreachable: () => "unreachable" });
  } else await scanScheduler(order, graph, jobs, run, results);
  assert.equal(results.size, order.length);
  return started;
}

Deno.test("scheduleStages starts stages in the order the old scan did, for any jobs", async () => {
  const rng = new Rng(5);
  for (let trial = 0; trial < 12; trial++) {
    const graph = randomDag(rng, 40);
    const cost = new Map([...graph.keys()].map((n) => [n, Math.floor(rng.next() * 4)]));
    for (const jobs of [1, 2, 3, 5]) {
      const ticks = (n: string) => cost.get(n)!;
      const want = await startOrder("old", graph, jobs, ticks);
      const got = await startOrder("new", graph, jobs, ticks);
      assert.deepEqual(got, want, `trial ${trial}, jobs ${jobs}`);
    }
  }
});

Deno.test("scheduleStages: a stage starts only after its dependencies finish; at most `jobs` run", async () => {
  const graph = randomDag(new Rng(9), 200);
  const order = topoOrder(graph);
  const done = new Set<string>();
  let running = 0, peak = 0;
  const results = new Map<string, string>();
  await scheduleStages(order, graph, {
    jobs: 3,
    results,
    unreachable: () => "unreachable",
    run: async (n) => {
      for (const d of graph.get(n)!) assert.ok(done.has(d), `${n} started before ${d} finished`);
      peak = Math.max(peak, ++running);
      await new Promise((r) => setTimeout(r, 0));
      running--;
      done.add(n);
      return "ok";
    },
  });
  assert.equal(peak, 3);
  assert.equal(done.size, 200);
});

Deno.test("scheduleStages: stages that can never be ready are reported unreachable, in order", async () => {
  // a cycle (the spec refuses one; the scheduler must still end)
  const graph: Graph = new Map([["a", []], ["b", ["c"]], ["c", ["b"]], ["d", ["a"]]]);
  const results = new Map<string, string>();
  const ran: string[] = [];
  await scheduleStages(["a", "b", "c", "d"], graph, {
    jobs: 2,
    results,
    unreachable: (n) => `unreachable ${n}`,
    run: (n) => Promise.resolve(void ran.push(n)).then(() => "ok"),
  });
  assert.deepEqual(ran, ["a", "d"]);
  assert.deepEqual(Object.fromEntries(results), {
    a: "ok",
    d: "ok",
    b: "unreachable b",
    c: "unreachable c",
  });
});

/**
 * One slow stage, `width` stages waiting on it, then `width` independent quick ones, with 2 jobs:
 * while the slow one runs, the old scan re-read the dependencies of every waiting stage before
 * each quick one (width² reads); the heap looks at each stage's dependencies once.
 */
async function dependencyReads(impl: "new" | "old", width: number) {
  const graph = new CountingGraph([["slow", []]]);
  for (let i = 0; i < width; i++) graph.set(`wait-${i}`, ["slow"]);
  for (let i = 0; i < width; i++) graph.set(`quick-${i}`, []);
  const order = [...graph.keys()];
  graph.gets = 0;
  let quickDone = 0;
  const run = async (n: string) => {
    if (n === "slow") {
      while (quickDone < width) await new Promise((r) => setTimeout(r, 0));
    } else if (n.startsWith("quick")) quickDone++;
    return n;
  };
  const results = new Map<string, string>();
  if (impl === "new") {
    await scheduleStages(order, graph, { jobs: 2, run, results, unreachable: () => "" });
  } else await scanScheduler(order, graph, 2, run, results);
  assert.equal(results.size, order.length);
  return { stages: order.length, reads: graph.gets };
}

Deno.test("scheduleStages reads each stage's dependencies once (the old scan: quadratic)", async () => {
  const small = await dependencyReads("new", 100);
  const big = await dependencyReads("new", 200);
  assert.equal(small.reads, small.stages);
  assert.equal(big.reads, big.stages);
  // The reference scan on the same graphs: about width² reads, 4× as the width doubles.
  const oldSmall = await dependencyReads("old", 100);
  const oldBig = await dependencyReads("old", 200);
  assert.ok(oldSmall.reads > 100 * 100, `old scan: ${oldSmall.reads} reads`);
  assert.ok(oldBig.reads / oldSmall.reads > 3.5, `old scan: ${oldSmall.reads} → ${oldBig.reads}`);
});
