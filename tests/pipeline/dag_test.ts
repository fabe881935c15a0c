import assert from "node:assert/strict";
import {
  dependents,
  downstreamClosure,
  findCycle,
  formatCycle,
  topoOrder,
  upstreamClosure,
} from "../../pipeline/dag.ts";

const g = new Map<string, string[]>([
  ["report", ["eval-a", "eval-b"]],
  ["eval-a", ["train-a"]],
  ["eval-b", ["train-b", "data"]],
  ["train-a", ["data"]],
  ["train-b", ["data"]],
  ["data", []],
  ["lonely", []],
]);

Deno.test("topoOrder: dependencies first, deterministic", () => {
  assert.deepEqual(topoOrder(g), [
    "data",
    "train-a",
    "eval-a",
    "train-b",
    "eval-b",
    "report",
    "lonely",
  ]);
  assert.deepEqual(topoOrder(g, { only: new Set(["eval-a", "data"]) }), ["data", "eval-a"]);
});

Deno.test("upstream and downstream closures", () => {
  assert.deepEqual([...upstreamClosure(g, ["eval-b"])].sort(), ["data", "eval-b", "train-b"]);
  assert.deepEqual([...downstreamClosure(g, "train-a")].sort(), ["eval-a", "report"]);
  assert.deepEqual(dependents(g).get("data"), ["eval-b", "train-a", "train-b"]);
});

Deno.test("findCycle returns the closed cycle; topoOrder refuses it", () => {
  assert.equal(findCycle(g), undefined);
  const c = new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]], ["d", ["a"]]]);
  assert.equal(formatCycle(findCycle(c)!), "a → b → c → a");
  assert.deepEqual(findCycle(new Map([["x", ["x"]]])), ["x", "x"]);
  assert.throws(() => topoOrder(c), /dependency cycle: a → b → c → a/);
});

Deno.test("a 200k-stage chain: cycle check, order and closure without recursion limits", () => {
  const n = 200_000;
  const graph = new Map<string, string[]>();
  for (let i = 0; i < n; i++) graph.set(`s${i}`, i ? [`s${i - 1}`] : []);
  assert.equal(findCycle(graph), undefined);
  const order = topoOrder(graph);
  assert.equal(order.length, n);
  assert.equal(order[0], "s0");
  assert.equal(order[n - 1], `s${n - 1}`);
  assert.equal(upstreamClosure(graph, [`s${n - 1}`]).size, n);
  graph.set("s0", [`s${n - 1}`]);
  assert.equal(findCycle(graph)!.length, n + 1, "the whole chain closed on itself");
});
