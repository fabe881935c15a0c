/**
 * Graph helpers for the stage DAG: topological order, upstream closure, cycle detection.
 *
 * A graph maps each node to the nodes it depends on (its inputs). Order is deterministic:
 * it follows the insertion order of the map.
 * @module
 */

/** Node → the nodes it depends on. */
export type Graph = ReadonlyMap<string, readonly string[]>;

/**
 * Finds one cycle, returned closed (`[a, b, a]`), or `undefined` if the graph is acyclic.
 * Dependencies that are not nodes of the graph are ignored.
 */
export function findCycle(graph: Graph): string[] | undefined {
  const state = new Map<string, 1 | 2>(); // 1 = on stack, 2 = done
  const stack: string[] = [];
  function visit(n: string): string[] | undefined {
    state.set(n, 1);
    stack.push(n);
    for (const d of graph.get(n) ?? []) {
      if (!graph.has(d)) continue;
      const s = state.get(d);
      if (s === 1) return [...stack.slice(stack.indexOf(d)), d];
      if (s === undefined) {
        const c = visit(d);
        if (c) return c;
      }
    }
    stack.pop();
    state.set(n, 2);
    return undefined;
  }
  for (const n of graph.keys()) {
    if (state.has(n)) continue;
    const c = visit(n);
    if (c) return c;
  }
  return undefined;
}

/** Formats a closed cycle as `a → b → a`. */
export function formatCycle(cycle: readonly string[]): string {
  return cycle.join(" → ");
}

/**
 * Topological order (dependencies first). Among ready nodes the graph's insertion order wins.
 * Throws if the graph has a cycle.
 */
export function topoOrder(graph: Graph, options: { only?: ReadonlySet<string> } = {}): string[] {
  const cycle = findCycle(graph);
  if (cycle) throw new Error(`dependency cycle: ${formatCycle(cycle)}`);
  const out: string[] = [];
  const seen = new Set<string>();
  function visit(n: string) {
    if (seen.has(n)) return;
    seen.add(n);
    for (const d of graph.get(n) ?? []) if (graph.has(d)) visit(d);
    if (!options.only || options.only.has(n)) out.push(n);
  }
  for (const n of graph.keys()) visit(n);
  return out;
}

/** The given roots and everything they depend on, transitively. */
export function upstreamClosure(graph: Graph, roots: Iterable<string>): Set<string> {
  const out = new Set<string>();
  const todo = [...roots];
  while (todo.length) {
    const n = todo.pop()!;
    if (out.has(n)) continue;
    out.add(n);
    for (const d of graph.get(n) ?? []) if (graph.has(d)) todo.push(d);
  }
  return out;
}

/** Node → the nodes that depend on it directly (the reversed graph). */
export function dependents(graph: Graph): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const n of graph.keys()) out.set(n, []);
  for (const [n, deps] of graph) {
    for (const d of deps) out.get(d)?.push(n);
  }
  return out;
}

/** Everything that depends on `node`, transitively (not including `node`). */
export function downstreamClosure(graph: Graph, node: string): Set<string> {
  const rev = dependents(graph);
  const out = new Set<string>();
  const todo = [...(rev.get(node) ?? [])];
  while (todo.length) {
    const n = todo.pop()!;
    if (out.has(n)) continue;
    out.add(n);
    todo.push(...(rev.get(n) ?? []));
  }
  return out;
}
