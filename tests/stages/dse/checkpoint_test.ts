import { deepStrictEqual as assertEquals, rejects } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import { selectBackend } from "../../../stages/nn/backend.ts";
import {
  type CheckpointState,
  readCheckpoint,
  restoreVariables,
  writeCheckpoint,
} from "../../../stages/dse/checkpoint.ts";
import { initialSchedule } from "../../../stages/dse/schedule.ts";

await selectBackend("cpu", { log: () => {} });

function state(epoch: number): CheckpointState {
  return {
    version: 1,
    fingerprint: "fp",
    epoch,
    step: 3 * epoch,
    rng: [1, 2, 3, 4],
    // after an epoch the bests are finite (JSON has no -Infinity)
    schedule: { ...initialSchedule(1e-3), plateauBest: 0.5, stopBest: 0.5 },
    history: [],
    done: false,
    variables: ["w"],
    adam: ["adam_m.w"],
  };
}

Deno.test("a checkpoint round-trips its state and tensors; the latest one wins", async () => {
  const dir = await Deno.makeTempDir();
  const w = tf.variable(tf.tensor2d([[1, 2], [3, 4]]));
  const m = tf.variable(tf.tensor2d([[0.5, 0], [0, 0.5]]));
  await writeCheckpoint(dir, state(1), { vars: { w }, adam: { "adam_m.w": m } });
  w.assign(tf.tensor2d([[5, 6], [7, 8]]));
  await writeCheckpoint(dir, state(2), { vars: { w }, adam: { "adam_m.w": m } });
  const ck = await readCheckpoint(dir);
  assertEquals(ck?.state, state(2));
  assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["ckpt"], "no temp or old left");
  const back = tf.variable(tf.zeros([2, 2]));
  await restoreVariables(ck!.path, { w: back });
  assertEquals(Array.from(back.dataSync()), [5, 6, 7, 8]);
  tf.dispose([w, m, back]);
});

Deno.test("a kill between the renames leaves ckpt.old, which is read; a half-written ckpt.tmp is not", async () => {
  const dir = await Deno.makeTempDir();
  const w = tf.variable(tf.tensor1d([1, 2, 3]));
  await writeCheckpoint(dir, state(4), { vars: { w }, adam: {} });
  await Deno.rename(`${dir}/ckpt`, `${dir}/ckpt.old`);
  await Deno.mkdir(`${dir}/ckpt.tmp`);
  await Deno.writeTextFile(`${dir}/ckpt.tmp/state.json`, "{ trunc");
  assertEquals((await readCheckpoint(dir))?.state.epoch, 4);
  assertEquals(await readCheckpoint(await Deno.makeTempDir()), null);
  const wrong = tf.variable(tf.zeros([2]));
  await rejects(
    restoreVariables(`${dir}/ckpt.old`, { w: wrong }),
    /w has shape \[3\], expected \[2\]/,
  );
  tf.dispose([w, wrong]);
});
