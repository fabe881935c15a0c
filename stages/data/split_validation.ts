/**
 * The `split-validation` stage kind: carves a validation split out of a Feature set's training
 * rows, for choosing recipes without the test set (issue 13). It writes a Feature set whose
 * "train" is the training rows minus the validation rows and whose "test" is the validation rows;
 * the input's test rows are never read into it. So `train-dse` and `evaluate` run on it unchanged.
 *
 * The split is stratified by class and seeded: each class's training rows are shuffled with the
 * seed (the project's sfc32 {@link Rng}, one generator for all classes in class order) and the
 * first `round(fraction · n_c)` go to validation, at most `n_c − 1` so that every class keeps a
 * training row, and at least 1 when `n_c ≥ 2`. Both parts keep the input's row order.
 * @module
 */
import type { ParamSchema, ParamsOf, StageContext } from "../../pipeline/types.ts";
import { defineKind } from "../util/kind.ts";
import { Rng } from "../util/rng.ts";
import type { NpyArray } from "../tensor_io/npy.ts";
import {
  FEATURE_SET_OUTPUTS,
  readFeatureSetArrays,
  type ViewRows,
  writeFeatureSet,
} from "../formats/feature_set.ts";

/** Params of `split-validation`, derived from {@link SPLIT_PARAMS}. */
export type SplitValidationParams = ParamsOf<typeof SPLIT_PARAMS>;

const SPLIT_PARAMS = {
  fraction: {
    type: "number",
    default: 0.2,
    doc: "share of each class's training rows that become validation rows, in (0, 1)",
  },
  seed: { type: "integer", default: 0, doc: "seed of the per-class shuffle" },
} as const satisfies ParamSchema;

/**
 * The validation rows of a stratified, seeded split of `labels` (indices into them, ascending).
 * @param labels the training labels (0-based class ids)
 * @param options `fraction` in (0, 1), `seed`
 * @returns ascending row indices of the validation part
 */
export function stratifiedValidationRows(
  labels: ArrayLike<number>,
  options: { fraction: number; seed: number },
): Int32Array {
  const { fraction, seed } = options;
  if (!(fraction > 0 && fraction < 1)) {
    throw new Error(`split-validation: fraction must be in (0, 1) (got ${fraction})`);
  }
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (!Number.isInteger(y) || y < 0) {
      throw new Error(`split-validation: label ${y} at train row ${i} is not a 0-based class id`);
    }
    const list = byClass.get(y);
    if (list) list.push(i);
    else byClass.set(y, [i]);
  }
  const rng = new Rng(seed);
  const picked: number[] = [];
  for (const y of [...byClass.keys()].sort((a, b) => a - b)) {
    const rows = byClass.get(y)!;
    if (rows.length < 2) continue; // a lone row stays in training
    const k = Math.min(rows.length - 1, Math.max(1, Math.round(fraction * rows.length)));
    rng.shuffle(rows);
    picked.push(...rows.slice(0, k));
  }
  return Int32Array.from(picked.sort((a, b) => a - b));
}

/** The rows `idx` of a stored array (any rank: a row is everything after the first axis). */
export function takeRows(a: NpyArray, idx: ArrayLike<number>): ViewRows {
  const width = a.shape.slice(1).reduce((x, y) => x * y, 1);
  const Ctor = a.data instanceof Float32Array ? Float32Array : Float64Array;
  const out = new Ctor(idx.length * width);
  for (let r = 0; r < idx.length; r++) {
    const i = idx[r];
    for (let j = 0; j < width; j++) out[r * width + j] = Number(a.data[i * width + j]);
  }
  return { data: out, shape: [idx.length, ...a.shape.slice(1)] };
}

async function runSplit(ctx: StageContext<SplitValidationParams>): Promise<void> {
  const dir = ctx.inputs.features;
  if (!dir) {
    throw new Error(
      "split-validation: needs an input `features` (a Feature-set stage, e.g. wiki-data)",
    );
  }
  // Only the training rows are used below: the input's test rows never reach the output.
  const fs = await readFeatureSetArrays(dir);
  const n = fs.yTrain.length;
  const val = stratifiedValidationRows(fs.yTrain, ctx.params);
  const isVal = new Uint8Array(n);
  for (const i of val) isVal[i] = 1;
  const fit = Int32Array.from({ length: n - val.length }, () => 0);
  for (let i = 0, k = 0; i < n; i++) if (!isVal[i]) fit[k++] = i;
  const labelsOf = (idx: Int32Array) => Int32Array.from(idx, (i) => fs.yTrain[i]);
  const validation = {
    of: "train",
    fraction: ctx.params.fraction,
    seed: ctx.params.seed,
    stratified: "by class",
    n_train: fit.length,
    n_val: val.length,
  };
  ctx.provenance.validation = validation;
  ctx.log(
    `split-validation: ${n} training rows → ${fit.length} train + ${val.length} validation ` +
      `(fraction ${ctx.params.fraction}, seed ${ctx.params.seed}); the test rows are not used`,
  );
  await writeFeatureSet(ctx.out, {
    img: { train: takeRows(fs.img.train, fit), test: takeRows(fs.img.train, val) },
    txt: { train: takeRows(fs.txt.train, fit), test: takeRows(fs.txt.train, val) },
    yTrain: labelsOf(fit),
    yTest: labelsOf(val),
    meta: { ...fs.meta, n_train: fit.length, n_test: val.length, validation },
  });
}

/** The `split-validation` stage kind. */
export const splitValidationKind = defineKind({
  name: "split-validation",
  description:
    "a stratified, seeded validation split of a Feature set's training rows: Feature set → Feature set (train = train − val, test = val; the test rows are dropped)",
  module: import.meta.url,
  inputs: { features: "a Feature set (e.g. wiki-data)" },
  params: SPLIT_PARAMS,
  validate(p) {
    return p.fraction > 0 && p.fraction < 1
      ? []
      : [{ param: "fraction", message: `must be in (0, 1), e.g. 0.2 (got ${p.fraction})` }];
  },
  outputs: FEATURE_SET_OUTPUTS,
  run: runSplit,
});
