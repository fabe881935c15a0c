/**
 * The learning-rate schedule and the stopping rule of the paper (§3.5), both on the epoch's
 * training accuracy, as Keras's callbacks implement them:
 *
 * - `ReduceLROnPlateau(monitor="acc", factor=0.1, patience=10, min_delta=1e-4)`: an epoch
 *   improves when its accuracy exceeds the best so far by more than 1e-4; after `patience`
 *   epochs without improvement, lr ← lr·0.1 and the count restarts.
 * - `EarlyStopping(monitor="acc", patience=15, min_delta=0)`: stop after `patience` epochs
 *   whose accuracy does not exceed the best so far.
 *
 * PyTorch's `ReduceLROnPlateau(mode="max", threshold_mode="abs", threshold=1e-4)` is the same
 * rule with `patience` one less (it cuts when the count *exceeds* patience).
 * @module
 */

/** Where the schedule stands after some epochs (stored in the checkpoint). */
export interface ScheduleState {
  /** The learning rate of the next epoch. */
  lr: number;
  /** Best accuracy seen by the plateau rule. */
  plateauBest: number;
  /** Epochs since the plateau rule last saw an improvement (or cut the lr). */
  plateauWait: number;
  /** Best accuracy seen by the stopping rule. */
  stopBest: number;
  /** Epochs since the stopping rule last saw an improvement. */
  stopWait: number;
}

/** The rule's constants. */
export interface ScheduleConfig {
  /** Epochs without improvement before lr ×factor. */
  plateauPatience: number;
  /** Epochs without improvement before stopping. */
  stopPatience: number;
  /** lr multiplier on a plateau (Keras/paper: 0.1). */
  factor?: number;
  /** Improvement the plateau rule needs (Keras default 1e-4). */
  minDelta?: number;
}

/** The schedule before the first epoch. */
export function initialSchedule(lr: number): ScheduleState {
  return { lr, plateauBest: -Infinity, plateauWait: 0, stopBest: -Infinity, stopWait: 0 };
}

/**
 * The schedule after an epoch with training accuracy `acc`: the new state, whether the lr was
 * cut, and whether training should stop. Pure.
 */
export function scheduleAfterEpoch(
  state: ScheduleState,
  acc: number,
  config: ScheduleConfig,
): { state: ScheduleState; lrCut: boolean; stop: boolean } {
  const next = { ...state };
  const factor = config.factor ?? 0.1;
  const minDelta = config.minDelta ?? 1e-4;
  let lrCut = false;
  if (acc > next.plateauBest + minDelta) {
    next.plateauBest = acc;
    next.plateauWait = 0;
  } else if (++next.plateauWait >= config.plateauPatience) {
    next.lr *= factor;
    next.plateauWait = 0;
    lrCut = true;
  }
  let stop = false;
  if (acc > next.stopBest) {
    next.stopBest = acc;
    next.stopWait = 0;
  } else if (++next.stopWait >= config.stopPatience) {
    stop = true;
  }
  return { state: next, lrCut, stop };
}
