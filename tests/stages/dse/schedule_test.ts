import { deepStrictEqual as assertEquals } from "node:assert";
import { initialSchedule, scheduleAfterEpoch } from "../../../stages/dse/schedule.ts";

/** Runs the schedule over accuracies; returns the lr after each epoch and the stopping epoch. */
function replay(acc: number[], plateauPatience: number, stopPatience: number) {
  let state = initialSchedule(1e-3);
  const lrs: number[] = [];
  let stoppedAt: number | undefined;
  acc.forEach((a, i) => {
    const next = scheduleAfterEpoch(state, a, { plateauPatience, stopPatience });
    state = next.state;
    lrs.push(state.lr);
    if (next.stop && stoppedAt === undefined) stoppedAt = i + 1;
  });
  return { lrs, stoppedAt };
}

Deno.test("the plateau rule cuts lr as torch's ReduceLROnPlateau does", () => {
  // Reference: tests/fixtures/dse/adam_schedule_reference.py, PyTorch 2.13
  // ReduceLROnPlateau(mode="max", factor=0.1, patience=2, threshold=1e-4, threshold_mode="abs"),
  // i.e. Keras patience 3. Gains under 1e-4 (0.6 → 0.60005) do not count as improvements.
  const acc = [
    0.5,
    0.6,
    0.60005,
    0.6,
    0.59,
    0.61,
    0.61005,
    0.6101,
    0.6102,
    0.6,
    0.7,
    0.7,
    0.7,
    0.7,
  ];
  const torch = [
    0.001,
    0.001,
    0.001,
    0.001,
    0.0001,
    0.0001,
    0.0001,
    0.0001,
    0.0001,
    0.0001,
    0.0001,
    0.0001,
    0.0001,
    1e-05,
    1e-05,
    1e-05,
    1.0000000000000002e-06,
  ];
  const { lrs } = replay([...acc, 0.7, 0.7, 0.7], 3, 100);
  assertEquals(lrs, torch);
});

Deno.test("early stopping: after `stopPatience` epochs without a strictly better accuracy", () => {
  // Hand-worked, Keras EarlyStopping(patience=3, min_delta=0):
  //   epoch 1: 0.5 best (wait 0) · 2: 0.6 best (0) · 3: 0.6 not better (1) · 4: 0.55 (2)
  //   · 5: 0.6000001 best (0) · 6: 0.6000001 equal, not better (1) · 7: 0.6 (2)
  //   · 8: 0.6000001 (3) → stop after epoch 8.
  // A gain under 1e-4 (epoch 5) resets early stopping but not the plateau rule.
  const acc = [0.5, 0.6, 0.6, 0.55, 0.6000001, 0.6000001, 0.6, 0.6000001, 0.6];
  const { stoppedAt, lrs } = replay(acc, 3, 3);
  assertEquals(stoppedAt, 8);
  // Plateau (patience 3, min_delta 1e-4): waits 1, 2 at epochs 3, 4; epoch 5 is no gain → 3: cut.
  assertEquals(lrs.slice(0, 6), [0.001, 0.001, 0.001, 0.001, 0.0001, 0.0001]);
});

Deno.test("scheduleAfterEpoch is pure: the input state is not changed", () => {
  const s = initialSchedule(0.01);
  const copy = { ...s };
  scheduleAfterEpoch(s, 0.5, { plateauPatience: 1, stopPatience: 1 });
  assertEquals(s, copy);
});
