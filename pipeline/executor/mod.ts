/**
 * Executors: where a ready stage runs. The runner (`run.ts`) computes keys, serves cache hits and
 * submits a stage only once its inputs are committed; an executor runs that one stage and says
 * how it ended. `local` runs it in this process (a Web Worker per stage with `--jobs` > 1, see
 * `local.ts`); `slurm` submits one `sbatch` job per stage (`slurm.ts`).
 *
 * The interface is submit → a {@link Submission} whose `result` settles when the stage ended
 * (the executor polls its scheduler for that) → `cancel` for what is still in flight.
 * @module
 */
import type { Ingredients } from "../key.ts";
import type { Manifest } from "../store.ts";
import type { Project } from "../project.ts";

/** A stage whose inputs are committed and whose key is known: ready to run. */
export interface ReadyStage {
  /** Stage name. */
  name: string;
  /** The key the run must produce. */
  key: string;
  /** The key's ingredients. */
  ingredients: Ingredients;
  /** Input alias → the upstream object's key. */
  inputKeys: Record<string, string>;
  /** A forced re-run: an existing object of the key is replaced only when the new one commits. */
  replace: boolean;
}

/** What the runner hands an executor with each stage. */
export interface SubmitContext {
  /** The project (pipeline, registry, store). */
  project: Project;
  /** Aborts when the run is cancelled. */
  signal?: AbortSignal;
  /** Progress of the stage, for the runner's bar. */
  progress(done: number, total: number, note?: string): void;
}

/** How a submitted stage ended. */
export interface StageOutcome {
  /** `done`: the key's object is committed and verifies. */
  state: "done" | "failed" | "cancelled";
  /** The committed object's manifest (done). */
  manifest?: Manifest;
  /** Wall time from submission (or start, in process) to the end. */
  duration_ms: number;
  /** One line: what went wrong. */
  error?: string;
  /** The stage's log file. */
  log?: string;
  /** The scheduler's job id, if any. */
  job?: string;
}

/** A stage in flight. */
export interface Submission {
  /** The executor's id for it (a Slurm job id; the stage name in process). */
  id: string;
  /** Settles when the stage ended; never rejects. */
  result: Promise<StageOutcome>;
}

/** Runs ready stages somewhere. */
export interface Executor {
  /** `local`, `slurm`. */
  readonly name: string;
  /**
   * True when the runner holds the key's lock while the stage runs (in process). False when the
   * job takes the lock itself, on whichever node it runs.
   */
  readonly lockInRunner: boolean;
  /** Starts `stage`. */
  submit(stage: ReadyStage, context: SubmitContext): Promise<Submission>;
  /** Cancels a submission still in flight (its `result` then settles as cancelled). */
  cancel(id: string): Promise<void>;
  /** Releases what the executor keeps between stages (idle workers); called when a run ends. */
  close?(): Promise<void>;
}

/** Names accepted by `--executor`. */
export const EXECUTORS = ["local", "slurm"] as const;
