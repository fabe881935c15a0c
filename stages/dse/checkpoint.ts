/**
 * The training checkpoint of `train-dse`: every variable and Adam moment as `.npy`, with the
 * RNG state, epoch, step, history and schedule in `state.json`, written atomically (a temp dir
 * renamed into place) into the stage's scratch directory after every epoch.
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { readNpy, writeNpy } from "../tensor_io/npy.ts";
import type { RngState } from "../util/rng.ts";
import type { ScheduleState } from "./schedule.ts";
import type { DseParams } from "./train_params.ts";
import type { DseData } from "./train_data.ts";

/** One epoch's record in `history.json`. */
export interface EpochRecord {
  /** 1-based epoch. */
  epoch: number;
  /** Mean total loss over the epoch's steps (data loss + L2 term). */
  loss: number;
  /** Training accuracy over both modalities. */
  acc: number;
  /** Training accuracy of the image rows. */
  acc_img: number;
  /** Training accuracy of the text rows. */
  acc_txt: number;
  /** Learning rate used in the epoch. */
  lr: number;
  /** Wall seconds of the epoch (in the checkpoint and the manifest, not in history.json). */
  seconds: number;
}

/** Why training stopped. */
export type StopReason = "early-stop" | "max-epochs";

/** `state.json` of a checkpoint. */
export interface CheckpointState {
  /** Layout version. */
  version: 1;
  /** {@link fingerprint} of the run that wrote it; a run with another one ignores it. */
  fingerprint: string;
  /** Epochs done. */
  epoch: number;
  /** Optimiser steps done. */
  step: number;
  /** The sampling RNG after `epoch`. */
  rng: RngState;
  /** The lr schedule after `epoch`. */
  schedule: ScheduleState;
  /** Records of the epochs done. */
  history: EpochRecord[];
  /** Training had finished. */
  done: boolean;
  /** Why, when done. */
  stopReason?: StopReason;
  /** Names of the variables saved. */
  variables: string[];
  /** Names of the Adam moments saved. */
  adam: string[];
}

/** What a checkpoint must match to be resumed: the params, the backend and the data's shapes. */
export function fingerprint(params: DseParams, data: DseData, backend: string): string {
  return JSON.stringify({
    params,
    backend,
    shapes: [data.imgTrain.shape, data.txtTrain.shape, data.imgTest.shape, data.txtTest.shape],
  });
}

/** Writes `dir/ckpt` atomically: into `ckpt.tmp`, then renamed over the previous one. */
export async function writeCheckpoint(
  dir: string,
  state: CheckpointState,
  tensors: { vars: Record<string, tf.Variable>; adam: Record<string, tf.Variable> },
): Promise<void> {
  const tmp = `${dir}/ckpt.tmp`;
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  await Deno.mkdir(tmp, { recursive: true });
  for (const [name, v] of [...Object.entries(tensors.vars), ...Object.entries(tensors.adam)]) {
    const data = await v.data() as Float32Array;
    await writeNpy(`${tmp}/${name}.npy`, data, v.shape);
  }
  await Deno.writeTextFile(`${tmp}/state.json`, JSON.stringify(state));
  const cur = `${dir}/ckpt`;
  const old = `${dir}/ckpt.old`;
  await Deno.remove(old, { recursive: true }).catch(() => {});
  const hasCur = await Deno.stat(cur).then(() => true, () => false);
  if (hasCur) await Deno.rename(cur, old);
  await Deno.rename(tmp, cur);
  await Deno.remove(old, { recursive: true }).catch(() => {});
}

/** The latest complete checkpoint in `dir`, or null. */
export async function readCheckpoint(
  dir: string,
): Promise<{ path: string; state: CheckpointState } | null> {
  // `ckpt` is the latest complete checkpoint; `ckpt.old` exists only if a kill hit between renames.
  for (const name of ["ckpt", "ckpt.old"]) {
    const path = `${dir}/${name}`;
    try {
      const state = JSON.parse(await Deno.readTextFile(`${path}/state.json`)) as CheckpointState;
      return { path, state };
    } catch {
      // missing or incomplete: try the next
    }
  }
  return null;
}

/** Assigns each variable its saved value from checkpoint `path` (shapes must match). */
export async function restoreVariables(
  path: string,
  vars: Record<string, tf.Variable>,
): Promise<void> {
  for (const [name, v] of Object.entries(vars)) {
    const a = await readNpy(`${path}/${name}.npy`);
    if (a.shape.join(",") !== v.shape.join(",")) {
      throw new Error(`checkpoint ${path}: ${name} has shape [${a.shape}], expected [${v.shape}]`);
    }
    tf.tidy(() => v.assign(tf.tensor(a.data as Float32Array, v.shape, "float32")));
  }
}
