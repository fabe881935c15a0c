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
 * Dependencies that are not nodes of the graph are ignored. Iterative depth-first search: linear
 * in nodes + edges, and no recursion limit on long chains.
 */
export function findCycle(graph: Graph): string[] | undefined {
  const state = new Map<string, 1 | 2>(); // 1 = on the path, 2 = done
  for (const root of graph.keys()) {
    if (state.has(root)) continue;
    const path: string[] = [root];
    const next: number[] = [0]; // per path node: the index of the next dependency to visit
    state.set(root, 1);
    while (path.length) {
      const n = path[path.length - 1];
      const deps = graph.get(n) ?? [];
      const i = next[next.length - 1]++;
      if (i >= deps.length) {
        state.set(n, 2);
        path.pop();
        next.pop();
        continue;
      }
      const d = deps[i];
      if (!graph.has(d)) continue;
      const s = state.get(d);
      if (s === 1) return [...path.slice(path.lastIndexOf(d)), d];
      if (s === undefined) {
        state.set(d, 1);
        path.push(d);
        next.push(0);
      }
    }
  }
  return undefined;
}

/** Formats a closed cycle as `a → b → a`. */
export function formatCycle(cycle: readonly string[]): string {
  return cycle.join(" → ");
}

/**
 * Topological order (dependencies first). Among ready nodes the graph's insertion order wins:
 * each node comes right after its not-yet-listed dependencies (depth first, in their order).
 * Throws if the graph has a cycle. Linear in nodes + edges.
 */
export function topoOrder(graph: Graph, options: { only?: ReadonlySet<string> } = {}): string[] {
  const cycle = findCycle(graph);
  if (cycle) throw new Error(`dependency cycle: ${formatCycle(cycle)}`);
  const out: string[] = [];
  const seen = new Set<string>();
  for (const root of graph.keys()) {
    if (seen.has(root)) continue;
    seen.add(root);
    const path: string[] = [root];
    const next: number[] = [0];
    while (path.length) {
      const n = path[path.length - 1];
      const deps = graph.get(n) ?? [];
      const i = next[next.length - 1]++;
      if (i >= deps.length) {
        path.pop();
        next.pop();
        if (!options.only || options.only.has(n)) out.push(n);
        continue;
      }
      const d = deps[i];
      if (!graph.has(d) || seen.has(d)) continue;
      seen.add(d);
      path.push(d);
      next.push(0);
    }
  }
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
