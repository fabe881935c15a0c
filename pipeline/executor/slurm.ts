/**
 * The Slurm executor: one `sbatch` job per ready stage. The job runs this project's CLI as
 * `run-one <stage> --expect-key <key>` against the same (shared) store: it computes the key
 * itself, refuses to run if it differs, takes the key's lock and commits the object. The
 * orchestrator polls `squeue --json --states=all` (and `sacct` for jobs squeue has forgotten,
 * when present) and, once a job ended, trusts only the store: success means the key's object is
 * committed and verifies, whatever Slurm says.
 * @module
 */
import { formatDuration } from "./local.ts";
import type { Executor, ReadyStage, StageOutcome, Submission, SubmitContext } from "./mod.ts";
import type { Store } from "../store.ts";
import type { StageResources } from "../types.ts";

/** Resources of one stage's job. */
export type Resources = StageResources;

/** Options of {@link SlurmExecutor}. */
export interface SlurmOptions {
  /** The command that runs this project's CLI on a node, e.g. `[deno, "run", "-A", "/abs/cli.ts"]`. */
  cli: string[];
  /** Engine flags the job's CLI gets (absolute --pipeline and --artifacts, --set, --mirror ...). */
  args: string[];
  /** Working directory of the jobs (default: this process's). */
  cwd?: string;
  /** Extra `sbatch` flags, after the resource flags (so they override them). */
  sbatchArgs?: string[];
  /** A stage's resources (default: none, Slurm's defaults). */
  resources?: (stage: string) => Resources | undefined;
  /** Milliseconds between polls (default 2000). */
  pollMs?: number;
  /** Directory holding `sbatch`, `squeue`, `scancel`, `sacct` (default: found on PATH). */
  bin?: string;
}

/** Slurm states after which a job runs no more. */
const TERMINAL = new Set([
  "BOOT_FAIL",
  "CANCELLED",
  "COMPLETED",
  "DEADLINE",
  "FAILED",
  "NODE_FAIL",
  "OUT_OF_MEMORY",
  "PREEMPTED",
  "TIMEOUT",
  "SPECIAL_EXIT",
  "REVOKED",
]);

/** What the scheduler says about a job. */
export interface JobInfo {
  /** Job id. */
  id: string;
  /** Slurm state, e.g. `COMPLETED` (first of the list newer versions give). */
  state: string;
  /** Exit code of the batch script, if known. */
  exitCode?: number;
}

function exitNumber(v: unknown): number | undefined {
  if (typeof v === "number") return v;
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    // 23.02+: { status: [...], return_code: { set, number } }; or { set, number }
    if ("return_code" in o) return exitNumber(o.return_code);
    if ("number" in o && (o.set === undefined || o.set === true)) return exitNumber(o.number);
  }
  return undefined;
}

/**
 * Parses `squeue --json` output: job id → state and exit code. Slurm 22.05 gives `job_state`
 * as a string and `exit_code` as the batch script's raw wait status (exit 3 → 768, measured
 * here); 23.02+ gives a list and an object holding the exit code itself.
 */
export function parseSqueue(text: string): Map<string, JobInfo> {
  const out = new Map<string, JobInfo>();
  const j = JSON.parse(text) as { jobs?: Record<string, unknown>[] };
  for (const job of j.jobs ?? []) {
    const id = String(exitNumber(job.job_id) ?? job.job_id);
    const st = job.job_state;
    const state = String(Array.isArray(st) ? st[0] : st ?? "UNKNOWN");
    const raw = exitNumber(job.exit_code);
    const exitCode = typeof job.exit_code === "number" && raw !== undefined ? raw >> 8 : raw;
    out.set(id, { id, state, exitCode });
  }
  return out;
}

/** Parses `sacct -n -P -X --format=JobID,State,ExitCode` lines. */
export function parseSacct(text: string): Map<string, JobInfo> {
  const out = new Map<string, JobInfo>();
  for (const line of text.split("\n")) {
    const [id, state, exit] = line.trim().split("|");
    if (!id || !state || id.includes(".")) continue;
    const code = exit ? Number(exit.split(":")[0]) : undefined;
    out.set(id, {
      id,
      state: state.split(" ")[0],
      exitCode: Number.isFinite(code) ? code : undefined,
    });
  }
  return out;
}

/** `sbatch` flags for `r`. */
export function resourceFlags(r: Resources | undefined): string[] {
  if (!r) return [];
  const out: string[] = [];
  if (r.cpus !== undefined) out.push(`--cpus-per-task=${r.cpus}`);
  if (r.memory !== undefined) out.push(`--mem=${r.memory}`);
  if (r.gpus !== undefined && r.gpus > 0) out.push(`--gpus=${r.gpus}`);
  if (r.time !== undefined) out.push(`--time=${r.time}`);
  if (r.partition !== undefined) out.push(`--partition=${r.partition}`);
  return out;
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

async function run(
  cmd: string,
  args: string[],
): Promise<{ code: number; out: string; err: string }> {
  try {
    const o = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    const dec = new TextDecoder();
    return { code: o.code, out: dec.decode(o.stdout), err: dec.decode(o.stderr) };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      return { code: 127, out: "", err: `${cmd}: command not found (is Slurm installed here?)` };
    }
    throw e;
  }
}

interface InFlight {
  stage: ReadyStage;
  store: Store;
  log: string;
  t0: number;
  /** Set once the job was seen ended (or cancelled by us). */
  settle: (o: StageOutcome) => void;
  cancelled: boolean;
  /** Polls in which neither squeue nor sacct knew the job. */
  unseen: number;
  last?: JobInfo;
}

/** The last non-empty line of a file that is not an engine marker, if readable. */
async function lastLine(path: string): Promise<string | undefined> {
  try {
    const lines = (await Deno.readTextFile(path)).split("\n").map((l) => l.trim()).filter(
      Boolean,
    );
    return lines.at(-1)?.slice(0, 300);
  } catch {
    return undefined;
  }
}

/** Submits each ready stage as one sbatch job and polls Slurm for its end. */
export class SlurmExecutor implements Executor {
  /** `slurm`. */
  readonly name = "slurm";
  /** The job takes the lock on its node. */
  readonly lockInRunner = false;
  #o: SlurmOptions;
  #jobs = new Map<string, InFlight>();
  #polling: Promise<void> | undefined;
  #hasSacct: boolean | undefined;
  /** Every job id this executor submitted, in order (for tests and reports). */
  readonly submitted: string[] = [];

  /** A Slurm executor. */
  constructor(options: SlurmOptions) {
    this.#o = options;
  }

  #cmd(name: string): string {
    return this.#o.bin ? `${this.#o.bin}/${name}` : name;
  }

  /** Writes the job script under the store and submits it with `sbatch --parsable`. */
  async submit(stage: ReadyStage, context: SubmitContext): Promise<Submission> {
    const store = context.project.store;
    const stem = `${stage.name}.${stage.key.slice(0, 12)}`;
    await Deno.mkdir(`${store.root}/slurm`, { recursive: true });
    await Deno.mkdir(`${store.root}/logs`, { recursive: true });
    const script = `${store.root}/slurm/${stem}.sh`;
    const log = `${store.root}/logs/${stem}.slurm.log`;
    const argv = [
      ...this.#o.cli,
      "run-one",
      stage.name,
      "--expect-key",
      stage.key,
      ...(stage.replace ? ["--force"] : []),
      ...this.#o.args,
    ];
    const cwd = this.#o.cwd ?? Deno.cwd();
    await Deno.writeTextFile(
      script,
      `#!/bin/bash\n# stage ${stage.name} key ${stage.key}\ncd ${shellQuote(cwd)} || exit 1\nexec ${
        argv.map(shellQuote).join(" ")
      }\n`,
    );
    const t0 = performance.now();
    const flags = [
      "--parsable",
      `--job-name=${stage.name}`,
      `--output=${log}`,
      `--chdir=${cwd}`,
      ...resourceFlags(this.#o.resources?.(stage.name)),
      ...(this.#o.sbatchArgs ?? []),
      script,
    ];
    const r = await run(this.#cmd("sbatch"), flags);
    const id = r.out.trim().split(";")[0];
    if (r.code !== 0 || !/^\d+(_\d+)?$/.test(id)) {
      const error = `sbatch failed (exit ${r.code}): ${
        (r.err || r.out).trim().split("\n")[0]
      } (script: ${script})`;
      return {
        id: `sbatch:${stage.name}`,
        result: Promise.resolve({ state: "failed", duration_ms: 0, error, log }),
      };
    }
    this.submitted.push(id);
    let settle!: (o: StageOutcome) => void;
    const result = new Promise<StageOutcome>((res) => (settle = res));
    this.#jobs.set(id, { stage, store, log, t0, settle, cancelled: false, unseen: 0 });
    const onAbort = () => this.cancel(id);
    if (context.signal?.aborted) onAbort();
    context.signal?.addEventListener("abort", onAbort, { once: true });
    result.finally(() => context.signal?.removeEventListener("abort", onAbort));
    this.#polling ??= this.#pollLoop();
    return { id, result };
  }

  /** `scancel`s a job still in flight; its result settles as cancelled. */
  async cancel(id: string): Promise<void> {
    const j = this.#jobs.get(id);
    if (!j || j.cancelled) return;
    j.cancelled = true;
    const r = await run(this.#cmd("scancel"), [id]);
    if (r.code !== 0) {
      console.error(`scancel ${id} failed (exit ${r.code}): ${r.err.trim()}`);
    }
  }

  async #pollLoop(): Promise<void> {
    try {
      while (this.#jobs.size) {
        await new Promise((r) => setTimeout(r, this.#o.pollMs ?? 2000));
        await this.poll();
      }
    } finally {
      this.#polling = undefined;
    }
  }

  /** One poll: asks squeue (then sacct) about the jobs in flight and settles the ended ones. */
  async poll(): Promise<void> {
    if (!this.#jobs.size) return;
    const ids = [...this.#jobs.keys()];
    const q = await run(this.#cmd("squeue"), ["--json", "--states=all"]);
    let known = new Map<string, JobInfo>();
    if (q.code === 0) {
      try {
        known = parseSqueue(q.out);
      } catch {
        // partial output: try again next poll
      }
    }
    const missing = ids.filter((id) => !known.has(id));
    if (missing.length && this.#hasSacct !== false) {
      const s = await run(this.#cmd("sacct"), [
        "-n",
        "-P",
        "-X",
        "--format=JobID,State,ExitCode",
        `--jobs=${missing.join(",")}`,
      ]);
      if (s.code === 127) this.#hasSacct = false;
      else if (s.code === 0) {
        this.#hasSacct = true;
        for (const [id, info] of parseSacct(s.out)) known.set(id, info);
      }
    }
    for (const id of ids) {
      const j = this.#jobs.get(id)!;
      const info = known.get(id);
      if (info) {
        j.last = info;
        j.unseen = 0;
        if (!TERMINAL.has(info.state)) continue;
      } else if (q.code !== 0 || ++j.unseen < 3) continue; // squeue failed, or a job not listed yet
      this.#jobs.delete(id);
      j.settle(await this.#outcome(id, j, info));
    }
  }

  async #outcome(id: string, j: InFlight, info: JobInfo | undefined): Promise<StageOutcome> {
    const duration_ms = performance.now() - j.t0;
    const v = await j.store.verify(j.stage.key, { verify: true });
    const state = info?.state ?? "UNKNOWN (no longer listed by squeue or sacct)";
    const exit = info?.exitCode === undefined ? "?" : String(info.exitCode);
    const base = { duration_ms, log: j.log, job: id };
    if (v.status === "ok") return { ...base, state: "done", manifest: v.manifest };
    if (j.cancelled) {
      return { ...base, state: "cancelled", error: `slurm job ${id} cancelled (scancel)` };
    }
    const why = v.status === "missing"
      ? `no object ${j.stage.key.slice(0, 12)} was committed`
      : `object ${j.stage.key.slice(0, 12)} does not verify: ${v.problem}`;
    const tail = await lastLine(j.log);
    return {
      ...base,
      state: "failed",
      error: `slurm job ${id} ${state} exit ${exit} after ${formatDuration(duration_ms)}: ${why}${
        tail ? `; last log line: ${tail}` : ""
      }`,
    };
  }
}
