/**
 * The runner's scheduler: starts stages in topological order, at most `jobs` at once, each as soon
 * as every dependency it has among the scheduled stages has a result.
 *
 * Among the stages that are ready, the one earliest in `order` starts first, so the start order is
 * the one of a scan of the waiting list in order (what the runner did before): ready stages wait
 * in a min-heap of their positions, and each stage counts its dependencies without a result. Each
 * finished stage decrements its dependents' counts once, so a run costs O((n + e) log n) for n
 * stages and e edges, where the scan re-examined every blocked stage after each finish and
 * removed each started one from the middle of an array (quadratic in n).
 * @module
 */

/** Options of {@link scheduleStages}. */
export interface ScheduleOptions<R> {
  /** Maximum concurrent stages (≥ 1). */
  jobs: number;
  /** Starts a stage; must not reject (the runner turns errors into a failed result). */
  run(name: string): Promise<R>;
  /** The result of a stage that can never become ready (a dependency that never finishes). */
  unreachable(name: string): R;
  /** Receives each result as it arrives, before any stage waiting on it can start. */
  results: Map<string, R>;
}

/**
 * Runs every stage of `order` (topological: a stage's dependencies come before it), reading
 * dependencies from `graph` (only those in `order` count), and fills `options.results`.
 */
export async function scheduleStages<R>(
  order: readonly string[],
  graph: ReadonlyMap<string, readonly string[]>,
  options: ScheduleOptions<R>,
): Promise<void> {
  const { jobs, results } = options;
  const index = new Map<string, number>();
  order.forEach((n, i) => index.set(n, i));
  // blocking[i]: dependencies of order[i] without a result; dependents[j]: positions waiting on j
  const blocking = new Int32Array(order.length);
  const dependents: number[][] = order.map(() => []);
  const ready = new MinHeap();
  for (let i = 0; i < order.length; i++) {
    for (const d of graph.get(order[i]) ?? []) {
      const j = index.get(d);
      if (j === undefined || results.has(d)) continue;
      blocking[i]++;
      dependents[j].push(i);
    }
    if (blocking[i] === 0) ready.push(i);
  }
  let notStarted = order.length;
  const started = new Uint8Array(order.length);
  const running = new Map<number, Promise<void>>();
  const finish = (i: number, r: R) => {
    results.set(order[i], r);
    running.delete(i);
    for (const k of dependents[i]) if (--blocking[k] === 0) ready.push(k);
  };
  while (notStarted || running.size) {
    let startedNow = false;
    while (running.size < jobs && ready.size) {
      const i = ready.pop();
      started[i] = 1;
      notStarted--;
      startedNow = true;
      running.set(i, options.run(order[i]).then((r) => finish(i, r)));
    }
    if (running.size) await Promise.race(running.values());
    else if (!startedNow && notStarted) {
      for (let i = 0; i < order.length; i++) {
        if (!started[i]) results.set(order[i], options.unreachable(order[i]));
      }
      notStarted = 0;
    }
  }
}

/** A binary min-heap of non-negative integers. */
class MinHeap {
  #a: number[] = [];

  get size(): number {
    return this.#a.length;
  }

  push(x: number): void {
    const a = this.#a;
    let i = a.length;
    a.push(x);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p] <= x) break;
      a[i] = a[p];
      i = p;
    }
    a[i] = x;
  }

  pop(): number {
    const a = this.#a;
    const top = a[0];
    const last = a.pop()!;
    if (a.length) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= a.length) break;
        const c = l + 1 < a.length && a[l + 1] < a[l] ? l + 1 : l;
        if (a[c] >= last) break;
        a[i] = a[c];
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}
