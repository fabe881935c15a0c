/**
 * The runner: stages in topological order, independent ones concurrently (up to `jobs`),
 * each under its key's lock, writing into a temp dir committed by atomic rename.
 * A failure stops the stage's dependents; the rest go on.
 * @module
 */
import { cacheKey } from "./key.ts";
import type { Manifest } from "./store.ts";
import type { Project } from "./project.ts";
import type { StageVerdict } from "./types.ts";
import type { Executor, ReadyStage } from "./executor/mod.ts";
import { formatDuration, LocalExecutor } from "./executor/local.ts";
import type { Remote } from "./remote/mod.ts";
import { scheduleStages } from "./schedule.ts";

/** How a stage ended in a run. */
export type RunState = "cached" | "done" | "failed" | "skipped" | "would-run" | "cancelled";

/** One stage's result. */
export interface StageResult {
  /** Stage name. */
  name: string;
  /** What happened. */
  state: RunState;
  /** Cache key (unknown for skipped stages and dry-run stages behind a would-run upstream). */
  key?: string;
  /** Wall time of this run (0 when cached). */
  duration_ms: number;
  /** The error message, if it failed. */
  error?: string;
  /** Log file path, if it ran. */
  log?: string;
  /** The stage's verdict, fresh or from the cache. */
  verdict?: StageVerdict;
  /** Why it was skipped or would run. */
  reason?: string;
  /** The object directory (cached or done). */
  objectDir?: string;
}

/** Result of {@link runStages}. */
export interface RunSummary {
  /** False if a stage failed or was skipped, a verdict failed, or the run was cancelled. */
  ok: boolean;
  /** Per stage, in topological order. */
  stages: StageResult[];
  /** Wall time. */
  duration_ms: number;
}

/** Options of {@link runStages}. */
export interface RunOptions {
  /** Maximum concurrent stages (default 1). */
  jobs?: number;
  /** Report what would run; run and write nothing. */
  dryRun?: boolean;
  /** Stages to re-run even if fresh. */
  force?: ReadonlySet<string>;
  /** Cancels the run: running stages see ctx.signal abort; nothing new starts. */
  signal?: AbortSignal;
  /** Where status lines go (default: stdout). */
  write?: (line: string) => void;
  /** Render progress as a redrawn bar (TTY) instead of periodic lines. */
  tty?: boolean;
  /** Seconds between non-TTY progress lines of a stage (default 10). */
  progressEvery?: number;
  /**
   * Run each stage in a Web Worker so CPU-bound stages run in parallel (default: `jobs > 1`).
   * A kind its module does not export runs in-process.
   */
  workers?: boolean;
  /** Where ready stages run (default: a {@link LocalExecutor} with `workers`). */
  executor?: Executor;
  /** A shared cache: pulled on a local miss, pushed after a local commit. */
  remote?: Remote;
}

const fmtDuration = formatDuration;

/** Formats milliseconds as `850ms`, `12.3s`, `4m05s`, `1h02m`. */
export { formatDuration };

/** One stage's progress: the rate is measured from its first report (no ETA before a second). */
interface Bar {
  done: number;
  total: number;
  note?: string;
  /** Time and count of the first report (a resumed stage starts part-way). */
  t0: number;
  done0: number;
  last: number;
}

class Progress {
  #bars = new Map<string, Bar>();
  /** Appended to the bar, e.g. `[stage 3/15]`. */
  overall = "";
  #drawn = false;
  #lastDraw = 0;
  constructor(
    private write: (s: string) => void,
    private tty: boolean,
    private every: number,
  ) {}
  line(s: string) {
    if (this.tty && this.#drawn) {
      this.write(`\r\x1b[K${s}`);
      this.#drawn = false;
      this.#draw(true);
    } else this.write(s);
  }
  update(name: string, done: number, total: number, note?: string) {
    const now = performance.now();
    let b = this.#bars.get(name);
    if (!b) {
      b = { done, total, note, t0: now, done0: done, last: -Infinity };
      this.#bars.set(name, b);
    }
    b.done = done;
    b.total = total;
    b.note = note;
    if (this.tty) this.#draw(false);
    else if (now - b.last >= this.every * 1000) {
      b.last = now;
      this.write(`  … ${name} ${this.#text(b, now)}`);
    }
  }
  end(name: string) {
    this.#bars.delete(name);
    if (this.tty && this.#drawn) {
      Deno.stdout.writeSync(new TextEncoder().encode("\r\x1b[K"));
      this.#drawn = false;
      this.#draw(true);
    }
  }
  #text(b: Bar, now: number): string {
    const frac = b.total > 0 ? Math.min(1, b.done / b.total) : 0;
    const el = now - b.t0;
    const rate = el > 0 ? (b.done - b.done0) / el : 0;
    const eta = rate > 0 && frac < 1 ? ` eta ${fmtDuration((b.total - b.done) / rate)}` : "";
    return `${(frac * 100).toFixed(0)}% (${b.done}/${b.total})${eta}${b.note ? ` ${b.note}` : ""}`;
  }
  #draw(force: boolean) {
    const now = performance.now();
    if (!force && now - this.#lastDraw < 100) return;
    this.#lastDraw = now;
    const last = [...this.#bars.entries()].at(-1);
    if (!last) return;
    const [name, b] = last;
    const frac = b.total > 0 ? Math.min(1, b.done / b.total) : 0;
    const w = 24;
    const fill = Math.round(frac * w);
    const bar = `[${"#".repeat(fill)}${".".repeat(w - fill)}]`;
    const more = `${this.#bars.size > 1 ? ` (+${this.#bars.size - 1} running)` : ""}${
      this.overall ? ` ${this.overall}` : ""
    }`;
    const cols = (() => {
      try {
        const c = Deno.consoleSize().columns;
        return c >= 20 ? c : 100;
      } catch {
        return 100;
      }
    })();
    const text = `  ${name} ${bar} ${this.#text(b, now)}${more}`.slice(0, cols - 1);
    Deno.stdout.writeSync(new TextEncoder().encode(`\r\x1b[K${text}`));
    this.#drawn = true;
  }
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + " ".repeat(n - s.length);
}

/**
 * Runs `names` (which must include their upstream; use `project.closure()`), in topological
 * order. Returns per-stage results; never throws for a stage failure.
 */
export async function runStages(
  project: Project,
  names: readonly string[],
  options: RunOptions = {},
): Promise<RunSummary> {
  const t0 = performance.now();
  const write = options.write ?? ((s: string) => console.log(s));
  const progress = new Progress(write, !!options.tty, options.progressEvery ?? 10);
  const jobs = Math.max(1, options.jobs ?? 1);
  const executor = options.executor ??
    new LocalExecutor({ workers: options.workers ?? jobs > 1 });
  const remote = options.remote;
  const wanted = new Set(names), order = project.closure(names).filter((n) => wanted.has(n));
  const graph = project.pipeline.graph;
  const results = new Map<string, StageResult>();
  const width = Math.min(40, Math.max(...order.map((n) => n.length), 8));
  const say = (state: string, name: string, rest = "") =>
    progress.line(`${pad(state, 8)} ${pad(name, width)}${rest ? `  ${rest}` : ""}`.trimEnd());
  if (!options.dryRun) {
    await project.store.cleanTmp();
    await project.store.cleanLocks();
  }
  // Overall progress: "stage k/N" and an ETA from the durations recorded by the last runs.
  const recorded = new Map<string, number>();
  for (const n of order) {
    const rec = await project.store.readRecord(n).catch(() => undefined);
    if (rec && Number.isFinite(rec.duration_ms)) recorded.set(n, rec.duration_ms);
  }
  const startedAt = new Map<string, number>();
  let begun = 0;
  // The recorded times of the stages that have not started, and the stages started and not
  // finished: kept as stages start and finish, so that each line costs O(jobs), not O(stages).
  let notStartedLeft = 0;
  for (const n of order) notStartedLeft += recorded.get(n) ?? 0;
  const runningStarted = new Set<string>();
  const overall = (): string => {
    const now = performance.now();
    let left = Math.max(0, notStartedLeft);
    for (const n of runningStarted) {
      left += Math.max(0, (recorded.get(n) ?? 0) - (now - startedAt.get(n)!));
    }
    left /= jobs;
    return `[stage ${begun}/${order.length}${
      left >= 1000 ? `, ~${fmtDuration(left)} left by recorded times` : ""
    }]`;
  };

  async function one(name: string): Promise<StageResult> {
    const badUp = (graph.get(name) ?? []).filter((d) => {
      const r = results.get(d);
      return r && (r.state === "failed" || r.state === "skipped" || r.state === "cancelled");
    });
    if (badUp.length) {
      const reason = `upstream ${badUp.join(", ")} did not finish`;
      say("skipped", name, reason);
      return { name, state: "skipped", duration_ms: 0, reason };
    }
    if (options.signal?.aborted) return { name, state: "cancelled", duration_ms: 0 };
    const pendingUp = (graph.get(name) ?? []).filter((d) => results.get(d)?.state === "would-run");
    if (pendingUp.length) {
      const reason = `after ${pendingUp.join(", ")}`;
      say("would", name, `run (${reason})`);
      return { name, state: "would-run", duration_ms: 0, reason };
    }
    const ing = await project.ingredients(name);
    if (!ing.ok) throw new Error(`internal: upstream of ${name} not fresh: ${ing.waiting}`);
    const key = cacheKey(ing.ingredients);
    const forced = options.force?.has(name) ?? false;
    const cachedResult = async (m: Manifest): Promise<StageResult> => {
      project.setFresh(name, m);
      if (!options.dryRun && (await project.store.readRecord(name))?.key !== key) {
        await project.store.writeRecord(name, {
          key,
          ingredients: m.ingredients,
          duration_ms: m.duration_ms,
          finished: m.finished,
          verdict: m.verdict,
        });
      }
      const verdict = m.verdict;
      say(
        "cached",
        name,
        `${key.slice(0, 12)}${verdict && !verdict.ok ? `  verdict FAIL: ${verdict.summary}` : ""}`,
      );
      return {
        name,
        state: "cached",
        key,
        duration_ms: 0,
        verdict,
        objectDir: project.store.objectDir(key),
      };
    };
    let v = await project.verifyObject(key);
    if (v.status === "ok" && !forced) return await cachedResult(v.manifest);
    if (options.dryRun) {
      const reason = forced
        ? "forced"
        : v.status === "corrupt"
        ? `corrupt: ${v.problem}`
        : (await project.state(name)).reason || "missing";
      say("would", name, `run  ${key.slice(0, 12)}  ${reason}`);
      return { name, state: "would-run", key, duration_ms: 0, reason };
    }
    if (v.status === "corrupt") {
      say("corrupt", name, `${key.slice(0, 12)}: ${v.problem}; rebuilding`);
    }
    if (remote && !forced) {
      const p = await remote.pull(project.store, key).catch((e) => ({
        status: "error" as const,
        problem: String((e as Error)?.message ?? e).split("\n")[0],
      }));
      if (p.status === "ok") {
        say("pulled", name, `${key.slice(0, 12)} from ${remote.url}`);
        return await cachedResult(p.manifest);
      }
      if (p.status !== "missing") say("warning", name, `${remote.url}: ${p.problem}; rebuilding`);
    }
    const ready = (replace: boolean): ReadyStage => ({
      name,
      key,
      ingredients: ing.ingredients,
      inputKeys: ing.inputKeys,
      replace,
    });
    // A job that takes the lock itself (on its node) must find it free.
    if (!executor.lockInRunner) return await execute(ready(v.status === "ok"));
    let lock;
    try {
      lock = await project.store.lock(key, name, {
        signal: options.signal,
        onWait: (o) => say("waiting", name, `locked by pid ${o.pid} on ${o.host}`),
      });
    } catch (e) {
      if (options.signal?.aborted) return { name, state: "cancelled", key, duration_ms: 0 };
      // EACCES, EROFS, ENOSPC...: say so, with the cause, instead of "cancelled"
      const error = `cannot take the lock of ${key.slice(0, 12)} in ${project.store.root}/locks: ${
        String((e as Error)?.message ?? e).split("\n")[0]
      } (check that the artifact store is writable and has free space)`;
      say("failed", name, error);
      return { name, state: "failed", key, duration_ms: 0, error };
    }
    try {
      v = await project.verifyObject(key, true);
      if (v.status === "ok" && !forced) return await cachedResult(v.manifest);
      // A corrupt object goes now; a good one (forced re-run) stays until the new one commits,
      // so that a failed or cancelled re-run leaves the stage fresh.
      if (v.status === "corrupt") await project.store.removeObject(key);
      return await execute(ready(v.status === "ok"));
    } finally {
      await lock.release();
    }
  }

  async function execute(stage: ReadyStage): Promise<StageResult> {
    const { name, key } = stage;
    startedAt.set(name, performance.now());
    notStartedLeft -= recorded.get(name) ?? 0;
    runningStarted.add(name);
    begun++;
    progress.overall = `[stage ${begun}/${order.length}]`;
    say("running", name, `${key.slice(0, 12)}  ${overall()}`);
    const sub = await executor.submit(stage, {
      project,
      signal: options.signal,
      progress: (done, total, note) => progress.update(name, done, total, note),
    });
    if (sub.id !== name) say("submitted", name, `${executor.name} job ${sub.id}`);
    const o = await sub.result;
    progress.end(name);
    if (o.state === "done" && o.manifest) {
      const verdict = o.manifest.verdict;
      project.setFresh(name, o.manifest);
      say(
        "done",
        name,
        `${fmtDuration(o.duration_ms)}${
          verdict ? `  verdict ${verdict.ok ? "ok" : "FAIL"}: ${verdict.summary}` : ""
        }`,
      );
      if (remote) await pushToRemote(name, o.manifest);
      return {
        name,
        state: "done",
        key,
        duration_ms: o.duration_ms,
        log: o.log,
        verdict,
        objectDir: project.store.objectDir(key),
      };
    }
    const state = o.state === "done" ? "failed" : o.state;
    const msg = o.error ?? "no object was committed";
    say(state, name, `${fmtDuration(o.duration_ms)}  ${msg}  (log: ${o.log})`);
    return { name, state, key, duration_ms: o.duration_ms, error: msg, log: o.log };
  }

  async function pushToRemote(name: string, m: Manifest): Promise<void> {
    try {
      const r = await remote!.push(project.store, m);
      say(
        "pushed",
        name,
        `${m.key.slice(0, 12)} to ${remote!.url}${
          r === "theirs" ? " (already there: kept theirs)" : ""
        }`,
      );
    } catch (e) {
      say(
        "warning",
        name,
        `push to ${remote!.url} failed: ${String((e as Error)?.message ?? e).split("\n")[0]}`,
      );
    }
  }

  try {
    await scheduleStages(order, graph, {
      jobs,
      results,
      run: (n) =>
        one(n).catch((e): StageResult => {
          const error = String((e as Error)?.message ?? e);
          say("failed", n, error);
          return { name: n, state: "failed", duration_ms: 0, error };
        }).then((r) => {
          if (!startedAt.has(n)) notStartedLeft -= recorded.get(n) ?? 0;
          else runningStarted.delete(n);
          return r;
        }),
      unreachable: (n): StageResult => ({
        name: n,
        state: "skipped",
        duration_ms: 0,
        reason: "unreachable",
      }),
    });
  } finally {
    // A run's own executor (not one the caller passed in) is released with the run.
    if (!options.executor) await executor.close?.();
  }
  await project.store.cache.save().catch(() => {});
  const stages = order.map((n) => results.get(n)!);
  const ok = stages.every((r) =>
    (r.state === "cached" || r.state === "done" || r.state === "would-run") &&
    (!r.verdict || r.verdict.ok)
  );
  return { ok, stages, duration_ms: performance.now() - t0 };
}
