/**
 * The runner: stages in topological order, independent ones concurrently (up to `jobs`),
 * each under its key's lock, writing into a temp dir committed by atomic rename.
 * A failure stops the stage's dependents; the rest go on.
 * @module
 */
import { cacheKey, type Ingredients } from "./key.ts";
import { hostName, type Manifest, toolVersions } from "./store.ts";
import type { Project } from "./project.ts";
import type { StageContext, StageKind, StageVerdict } from "./types.ts";
import type { WorkerReply, WorkerStart } from "./worker.ts";
import { explainPermission } from "./usage.ts";

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
}

/**
 * Settles like `work`, except that once `signal` aborts, it rejects after `graceMs` if `work`
 * has not settled by then (an in-process stage that ignores ctx.signal is abandoned).
 */
function withGrace<T>(work: Promise<T>, signal: AbortSignal, graceMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onAbort = () => {
      timer = setTimeout(
        () => reject(new Error(`cancelled (stage did not stop within ${graceMs} ms)`)),
        graceMs,
      );
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => {
      signal.removeEventListener("abort", onAbort);
      if (timer !== undefined) clearTimeout(timer);
    });
  });
}

/**
 * Runs `kind` in a Web Worker (see worker.ts). `ran: false` if the worker could not find the
 * kind among its module's exports.
 */
function runInWorker(
  kind: StageKind,
  ctx: StageContext,
  tmp: string,
): Promise<{ ran: boolean; result?: unknown }> {
  const w = new Worker(new URL("./worker.ts", import.meta.url).href, { type: "module" });
  const start: WorkerStart = {
    type: "start",
    module: kind.module,
    kind: kind.name,
    ctx: {
      name: ctx.name,
      params: ctx.params,
      inputs: ctx.inputs,
      tmp,
      scratch: ctx.scratch,
      env: ctx.env,
      options: ctx.options,
    },
  };
  return new Promise((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onAbort = () => {
      w.postMessage({ type: "abort", reason: String(ctx.signal.reason ?? "cancelled") });
      timer = setTimeout(() => {
        finish();
        reject(new Error("cancelled"));
      }, 2000);
    };
    function finish() {
      ctx.signal.removeEventListener("abort", onAbort);
      if (timer !== undefined) clearTimeout(timer);
      w.terminate();
    }
    ctx.signal.addEventListener("abort", onAbort, { once: true });
    w.onmessage = (e: MessageEvent<WorkerReply>) => {
      const m = e.data;
      if (m.type === "log") ctx.log(m.msg);
      else if (m.type === "progress") ctx.progress(m.done, m.total, m.note);
      else if (m.type === "nokind") {
        finish();
        resolve({ ran: false });
      } else if (m.type === "done") {
        Object.assign(ctx.provenance, m.provenance);
        finish();
        resolve({ ran: true, result: m.verdict });
      } else if (m.type === "error") {
        finish();
        const err = new Error(m.message);
        if (m.stack) err.stack = m.stack;
        reject(err);
      }
    };
    w.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      finish();
      reject(new Error(`stage worker: ${e.message}`));
    };
    w.postMessage(start);
  });
}

function fmtDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${Math.round(s - 60 * m).toString().padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${(m % 60).toString().padStart(2, "0")}m`;
}

/** Formats milliseconds as `850ms`, `12.3s`, `4m05s`, `1h02m`. */
export { fmtDuration as formatDuration };

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

/** `{ options }` when the domain records any run option, else nothing. */
function recordedField(options: Record<string, string>): { options?: Record<string, string> } {
  return Object.keys(options).length ? { options } : {};
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
  const workers = options.workers ?? jobs > 1;
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
  const overall = (): string => {
    const now = performance.now();
    let left = 0;
    for (const n of order) {
      if (results.has(n)) continue;
      const d = recorded.get(n) ?? 0;
      const t = startedAt.get(n);
      left += t === undefined ? d : Math.max(0, d - (now - t));
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
      return await execute(name, key, ing.ingredients, ing.inputKeys, v.status === "ok");
    } finally {
      await lock.release();
    }
  }

  async function execute(
    name: string,
    key: string,
    ingredients: Ingredients,
    inputKeys: Record<string, string>,
    replace: boolean,
  ): Promise<StageResult> {
    const store = project.store;
    const spec = project.stage(name);
    const kind = project.kind(name);
    const logPath = store.logPath(name, key);
    await Deno.mkdir(`${store.root}/logs`, { recursive: true });
    const log = await Deno.open(logPath, { append: true, create: true });
    const enc = new TextEncoder();
    const logLine = (msg: string) => {
      try {
        log.writeSync(enc.encode(`${msg}\n`));
      } catch {
        // log closed after the stage ended
      }
    };
    const scratch = store.scratchDir(key);
    await Deno.mkdir(scratch, { recursive: true });
    const tmp = await store.makeTmp(key);
    const started = new Date();
    logLine(
      `# ${started.toISOString()} stage ${name} kind ${kind.name} key ${key} pid ${Deno.pid}`,
    );
    startedAt.set(name, performance.now());
    begun++;
    progress.overall = `[stage ${begun}/${order.length}]`;
    say("running", name, `${key.slice(0, 12)}  ${overall()}`);
    const inputs: Record<string, string> = {};
    for (const inp of spec.inputs) {
      const dir = store.objectDir(inputKeys[inp.alias]);
      inputs[inp.alias] = inp.output === undefined ? dir : `${dir}/${inp.output}`;
    }
    const ac = new AbortController();
    const onAbort = () => ac.abort(options.signal?.reason);
    options.signal?.addEventListener("abort", onAbort, { once: true });
    // A cancel that came while the key was computed or the lock taken has no event left to see.
    if (options.signal?.aborted) onAbort();
    const provenance: Record<string, unknown> = {};
    const ctx: StageContext = {
      name,
      params: structuredClone(spec.params),
      inputs,
      out(o: string) {
        const p = `${tmp}/${o}`;
        const slash = o.lastIndexOf("/");
        if (slash > 0) Deno.mkdirSync(`${tmp}/${o.slice(0, slash)}`, { recursive: true });
        return p;
      },
      scratch,
      progress: (done, total, note) => progress.update(name, done, total, note),
      log: logLine,
      signal: ac.signal,
      env: { ...ingredients.env },
      provenance,
      options: { ...project.options },
    };
    const t = performance.now();
    let verdict: StageVerdict | undefined;
    try {
      let r: unknown;
      let ran = false;
      if (workers) {
        const w = await runInWorker(kind, ctx, tmp);
        ran = w.ran;
        r = w.result;
        if (!ran) {
          logLine(`# kind ${kind.name} is not exported by ${kind.module}: running in-process`);
        }
      }
      if (!ran) r = await withGrace(kind.run(ctx), ac.signal, 3000);
      if (r && typeof r === "object" && "ok" in r) {
        const v = r as StageVerdict;
        verdict = { ok: !!v.ok, summary: String(v.summary) };
        if (v.detail && typeof v.detail === "object") verdict.detail = v.detail;
      }
      if (ac.signal.aborted) throw new Error("cancelled");
      if (ingredients.files) {
        // a file edited while the stage read it: the outputs may match neither version
        const now = await project.fileDigests(Object.keys(ingredients.files));
        const moved = Object.keys(now).filter((f) => now[f] !== ingredients.files![f]);
        if (moved.length) {
          throw new Error(
            `${moved.join(", ")} changed while the stage ran; nothing was committed: run it again`,
          );
        }
      }
      const duration = performance.now() - t;
      logLine(
        `# done in ${fmtDuration(duration)}${verdict ? ` verdict ${JSON.stringify(verdict)}` : ""}`,
      );
      const manifest = await store.commit(tmp, {
        format: ingredients.format,
        key,
        stage: name,
        kind: kind.name,
        params: spec.params,
        inputs: Object.fromEntries(
          Object.entries(ingredients.inputs).map(([a, i]) => [a, { ...i, key: inputKeys[a] }]),
        ),
        env: ingredients.env,
        ...recordedField(project.recordedOptions()),
        provenance,
        tools: toolVersions(),
        host: hostName(),
        started: started.toISOString(),
        finished: new Date().toISOString(),
        duration_ms: Math.round(duration),
        verdict,
        outputs: spec.outputs,
        ingredients,
      }, { logFile: logPath, replace });
      await store.writeRecord(name, {
        key,
        ingredients,
        duration_ms: manifest.duration_ms,
        finished: manifest.finished,
        verdict,
      });
      await Deno.remove(scratch, { recursive: true }).catch(() => {});
      project.setFresh(name, manifest);
      progress.end(name);
      say(
        "done",
        name,
        `${fmtDuration(duration)}${
          verdict ? `  verdict ${verdict.ok ? "ok" : "FAIL"}: ${verdict.summary}` : ""
        }`,
      );
      return {
        name,
        state: "done",
        key,
        duration_ms: duration,
        log: logPath,
        verdict,
        objectDir: store.objectDir(key),
      };
    } catch (e) {
      const duration = performance.now() - t;
      const err = e as Error;
      logLine(`# FAILED after ${fmtDuration(duration)}: ${err?.stack ?? err}`);
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
      progress.end(name);
      const cancelled = !!options.signal?.aborted;
      const msg = explainPermission(String(err?.message ?? err).split("\n")[0]);
      say(
        cancelled ? "cancelled" : "failed",
        name,
        `${fmtDuration(duration)}  ${msg}  (log: ${logPath})`,
      );
      return {
        name,
        state: cancelled ? "cancelled" : "failed",
        key,
        duration_ms: duration,
        error: msg,
        log: logPath,
      };
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
      log.close();
    }
  }

  // scheduler
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
        one(n).catch((e): StageResult => {
          const error = String((e as Error)?.message ?? e);
          say("failed", n, error);
          return { name: n, state: "failed", duration_ms: 0, error };
        }).then((r) => {
          results.set(n, r);
          running.delete(n);
        }),
      );
    }
    if (running.size) await Promise.race(running.values());
    else if (!started && waiting.length) {
      for (const n of waiting.splice(0)) {
        results.set(n, { name: n, state: "skipped", duration_ms: 0, reason: "unreachable" });
      }
    }
  }
  await project.store.cache.save().catch(() => {});
  const stages = order.map((n) => results.get(n)!);
  const ok = stages.every((r) =>
    (r.state === "cached" || r.state === "done" || r.state === "would-run") &&
    (!r.verdict || r.verdict.ok)
  );
  return { ok, stages, duration_ms: performance.now() - t0 };
}
