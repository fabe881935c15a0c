/**
 * The local executor: runs a stage in this process, in a Web Worker when `workers` is on (so
 * CPU-bound stages run in parallel), writing into a temp dir that the store commits by atomic
 * rename. The runner holds the key's lock around it.
 * @module
 */
import { hostName, toolVersions } from "../store.ts";
import { explainPermission } from "../usage.ts";
import type { StageContext, StageKind, StageVerdict } from "../types.ts";
import type { WorkerReply, WorkerStart } from "../worker.ts";
import type { Executor, ReadyStage, StageOutcome, Submission, SubmitContext } from "./mod.ts";

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
 * Idle stage workers, reused: a worker that finished a stage takes the next one, so a stage does
 * not pay for a new thread and for loading its kind's modules again (tfjs and its wasm backend
 * among them: ~0.5 s of CPU per stage, most of a small stage's time). A worker whose stage was
 * cancelled is terminated, never reused. Sequential reuse is what `--jobs 1` does in-process.
 */
export class WorkerPool {
  #idle: Worker[] = [];

  /** An idle worker, or a new one. */
  take(): Worker {
    return this.#idle.pop() ??
      new Worker(new URL("../worker.ts", import.meta.url).href, { type: "module" });
  }

  /** Back to the pool after a stage that ended on its own (done, failed, not found). */
  give(w: Worker): void {
    w.onmessage = null;
    w.onerror = null;
    this.#idle.push(w);
  }

  /** Idle workers right now. */
  get idle(): number {
    return this.#idle.length;
  }

  /** Terminates every idle worker. */
  close(): void {
    for (const w of this.#idle.splice(0)) w.terminate();
  }
}

/**
 * Runs `kind` in a worker of `pool` (see worker.ts). `ran: false` if the worker could not find the
 * kind among its module's exports.
 */
function runInWorker(
  kind: StageKind,
  ctx: StageContext,
  run: { tmp: string; pool: WorkerPool },
): Promise<{ ran: boolean; result?: unknown }> {
  const tmp = run.tmp;
  const w = run.pool.take();
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
    let aborted = false;
    const onAbort = () => {
      aborted = true;
      w.postMessage({ type: "abort", reason: String(ctx.signal.reason ?? "cancelled") });
      timer = setTimeout(() => {
        finish(false);
        reject(new Error("cancelled"));
      }, 2000);
    };
    function finish(reusable = true) {
      ctx.signal.removeEventListener("abort", onAbort);
      if (timer !== undefined) clearTimeout(timer);
      // A worker that saw an abort keeps an aborted signal: it is not given another stage.
      if (reusable && !aborted) run.pool.give(w);
      else w.terminate();
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
      finish(false); // an uncaught error: the worker's state is unknown
      reject(new Error(`stage worker: ${e.message}`));
    };
    w.postMessage(start);
  });
}

/** Formats milliseconds as `850ms`, `12.3s`, `4m05s`, `1h02m`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${Math.round(s - 60 * m).toString().padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${(m % 60).toString().padStart(2, "0")}m`;
}

/** Options of {@link LocalExecutor}. */
export interface LocalOptions {
  /**
   * Run each stage in a Web Worker so CPU-bound stages run in parallel. A kind its module does
   * not export runs in-process.
   */
  workers?: boolean;
}

/** Runs stages in this process (today's worker pool). */
export class LocalExecutor implements Executor {
  /** `local`. */
  readonly name = "local";
  /** The runner holds the lock. */
  readonly lockInRunner = true;
  #workers: boolean;
  #running = new Map<string, AbortController>();
  #pool = new WorkerPool();

  /** A local executor. */
  constructor(options: LocalOptions = {}) {
    this.#workers = !!options.workers;
  }

  /** Starts the stage now; its result settles when it committed, failed or was cancelled. */
  submit(stage: ReadyStage, context: SubmitContext): Promise<Submission> {
    const ac = new AbortController();
    this.#running.set(stage.name, ac);
    const result = this.#execute(stage, context, ac).finally(() =>
      this.#running.delete(stage.name)
    );
    return Promise.resolve({ id: stage.name, result });
  }

  /** Stage workers waiting for their next stage. */
  get idleWorkers(): number {
    return this.#pool.idle;
  }

  /** Terminates the idle stage workers. */
  close(): Promise<void> {
    this.#pool.close();
    return Promise.resolve();
  }

  /** Aborts a running stage (it sees ctx.signal abort). */
  cancel(id: string): Promise<void> {
    this.#running.get(id)?.abort(new Error("cancelled"));
    return Promise.resolve();
  }

  async #execute(
    stage: ReadyStage,
    context: SubmitContext,
    ac: AbortController,
  ): Promise<StageOutcome> {
    const { name, key, ingredients, inputKeys } = stage;
    const { project, signal } = context;
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
    const inputs: Record<string, string> = {};
    for (const inp of spec.inputs) {
      const dir = store.objectDir(inputKeys[inp.alias]);
      inputs[inp.alias] = inp.output === undefined ? dir : `${dir}/${inp.output}`;
    }
    const onAbort = () => ac.abort(signal?.reason);
    if (signal?.aborted) onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
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
      progress: context.progress,
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
      if (this.#workers) {
        const w = await runInWorker(kind, ctx, { tmp, pool: this.#pool });
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
        `# done in ${formatDuration(duration)}${
          verdict ? ` verdict ${JSON.stringify(verdict)}` : ""
        }`,
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
      }, { logFile: logPath, replace: stage.replace });
      await store.writeRecord(name, {
        key,
        ingredients,
        duration_ms: manifest.duration_ms,
        finished: manifest.finished,
        verdict,
      });
      await Deno.remove(scratch, { recursive: true }).catch(() => {});
      return { state: "done", manifest, duration_ms: duration, log: logPath };
    } catch (e) {
      const duration = performance.now() - t;
      const err = e as Error;
      logLine(`# FAILED after ${formatDuration(duration)}: ${err?.stack ?? err}`);
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
      const cancelled = !!signal?.aborted || ac.signal.aborted;
      const msg = explainPermission(String(err?.message ?? err).split("\n")[0]);
      return {
        state: cancelled ? "cancelled" : "failed",
        duration_ms: duration,
        error: msg,
        log: logPath,
      };
    } finally {
      signal?.removeEventListener("abort", onAbort);
      log.close();
    }
  }
}

/** `{ options }` when the domain records any run option, else nothing. */
function recordedField(options: Record<string, string>): { options?: Record<string, string> } {
  return Object.keys(options).length ? { options } : {};
}
