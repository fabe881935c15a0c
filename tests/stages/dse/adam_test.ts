import { deepStrictEqual as assertEquals, ok as assert } from "node:assert";
import * as tf from "@tensorflow/tfjs-core";
import { selectBackend } from "../../../stages/nn/backend.ts";
import { type AdamSlot, adamStep, adamStepSize, KERAS_ADAM } from "../../../stages/dse/adam.ts";

await selectBackend("cpu", { log: () => {} });

function close(got: ArrayLike<number>, want: readonly number[], tol: number, what: string) {
  assertEquals(got.length, want.length, what);
  for (let i = 0; i < want.length; i++) {
    assert(
      Math.abs(got[i] - want[i]) <= tol,
      `${what}[${i}]: got ${got[i]}, want ${want[i]} (±${tol})`,
    );
  }
}

Deno.test("adamStepSize folds the bias correction into the step size (hand-worked)", () => {
  // t = 1: 1e-3 · √(1 − 0.999) / (1 − 0.9) = 1e-3 · 0.0316227766 / 0.1 = 3.16227766e-4
  // t = 2: 1e-3 · √(1 − 0.998001) / (1 − 0.81) = 1e-3 · 0.0447101778 / 0.19 = 2.35316725e-4
  close([adamStepSize(1e-3, 1)], [3.16227766e-4], 1e-12, "t=1");
  close([adamStepSize(1e-3, 2)], [2.35316725e-4], 1e-12, "t=2");
  // Late steps: the corrections vanish and the step size tends to lr.
  close([adamStepSize(1e-3, 100000)], [1e-3], 1e-12, "t=1e5");
});

Deno.test("one Adam step matches the hand-worked Keras update", () => {
  // x = [1, 0.25], g = [0.5, 1e-6], m = v = 0, lr 1e-3, β1 0.9, β2 0.999, ε 1e-7, t = 1.
  //   m = 0.1·g          = [0.05, 1e-7]
  //   v = 0.001·g²       = [2.5e-4, 1e-15];  √v = [0.0158113883, 3.16227766e-8]
  //   stepSize(1)        = 3.16227766e-4 (test above)
  //   m / (√v + ε)       = [0.05 / 0.0158114883, 1e-7 / 1.316227766e-7] = [3.16225766, 0.759746927]
  //   x − stepSize·ratio = [1 − 9.99993675e-4, 0.25 − 2.40253073e-4]
  //                      = [0.999000006, 0.249759747]
  // The second element is where ε matters: with ε = 1e-8 it would move by 7.6e-4 instead.
  const x = tf.tensor1d([1, 0.25]);
  const zero = tf.zeros([2]);
  const g = tf.tensor1d([0.5, 1e-6]);
  const [out] = adamStep([{ x, m: zero, v: zero }], [g], { stepSize: adamStepSize(1e-3, 1) });
  close(out.m.dataSync(), [0.05, 1e-7], 1e-9, "m");
  close(out.v.dataSync(), [2.5e-4, 1e-15], 1e-10, "v"); // float32: 2.5e-4 ± 1.2e-11
  close(out.x.dataSync(), [0.999000006, 0.249759747], 1e-7, "x");
  tf.dispose([x, zero, g, out.x, out.m, out.v]);
});

Deno.test("five Adam steps match torch.optim.Adam given Keras's ε placement", () => {
  // Reference: tests/fixtures/dse/adam_schedule_reference.py (PyTorch 2.13 CPU, float64), which
  // sets torch's ε at step t to 1e-7 / √(1 − 0.999^t), the same update as Keras's form.
  const grads = [
    [0.5, -2.0, 1e-6],
    [0.1, 0.3, -1e-6],
    [-0.4, 0.0, 2e-6],
    [0.2, -1.0, 0.0],
    [0.3, 0.5, 1e-6],
  ];
  const torchX = [
    [0.9990000063245154, -0.49900000158113633, 0.24975974692664796],
    [0.9981969703286983, -0.49844780438819725, 0.24977600816886913],
    [0.9981032713834112, -0.4980209543579498, 0.24955856025654677],
    [0.9978584009546122, -0.49744973091147715, 0.2493804903731356],
    [0.9974482270546075, -0.4970966106640487, 0.24914115032917505],
  ];
  const torchV5 = [0.0005486116889902506, 0.005322754253914004, 6.9850129950010055e-15];
  let slot: AdamSlot = { x: tf.tensor1d([1.0, -0.5, 0.25]), m: tf.zeros([3]), v: tf.zeros([3]) };
  for (let t = 1; t <= grads.length; t++) {
    const g = tf.tensor1d(grads[t - 1]);
    const [next] = adamStep([slot], [g], {
      stepSize: adamStepSize(1e-3, t),
      config: KERAS_ADAM,
    });
    tf.dispose([g, slot.x, slot.m, slot.v]);
    slot = next;
    // float32 arithmetic against float64: a few ulps of 1.
    close(slot.x.dataSync(), torchX[t - 1], 3e-7, `x after step ${t}`);
  }
  close(slot.v.dataSync(), torchV5, 1e-9, "v after step 5");
  tf.dispose([slot.x, slot.m, slot.v]);
});
