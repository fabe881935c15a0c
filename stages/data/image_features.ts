/**
 * Frozen-backbone image features, computed in batches, resumable, and the `image-features` stage
 * kind (ResNet-50 pool 2048-d from the Keras `.h5`; AlexNet fc6 4096-d from ONNX bvlcalexnet).
 * The {@link FeatureExtractor} interface and the ResNet extractor live in `stages/nn/extractor.ts`.
 *
 * Resume: rows are appended to `<scratch>/<split>.f32` after each batch, and
 * `<scratch>/<split>.json` records how many rows are complete (written after the data, by rename).
 * A killed run restarts at the first incomplete batch; a partial trailing write is truncated.
 * @module
 */
import { produceRowsResumable } from "../tensor_io/resumable_rows.ts";
import type { ParamsOf, StageContext } from "../../pipeline/types.ts";
import { defineKind, typedParam } from "../util/kind.ts";
import { resolveBackendName } from "../nn/backend_env.ts";
import { writeNpy } from "../tensor_io/npy.ts";
import { caffePreprocess, decodeSquare, type ResizeKernel } from "./images.ts";
import type { RawItems } from "./text.ts";
import type { FeatureExtractor } from "../nn/extractor.ts";
import type { ResNetConfig } from "../nn/resnet.ts";

/** Options of {@link extractFeatures}. */
export interface ExtractOptions {
  /** Scratch file stem; `<stem>.f32` and `<stem>.json` hold the resumable state. */
  scratch: string;
  /** Images per batch. */
  batch: number;
  /** Resampling kernel of the resize. */
  kernel?: ResizeKernel;
  /** Cancels between batches. */
  signal?: AbortSignal;
  /** Progress callback (rows done, total). */
  progress?: (done: number, total: number) => void;
  /** Log lines. */
  log?: (msg: string) => void;
}

/**
 * Features of the images at `paths` (n×outDim, float32), resuming from `options.scratch` if a
 * previous run of the same job left partial results there.
 */
export async function extractFeatures(
  paths: string[],
  extractor: FeatureExtractor,
  options: ExtractOptions,
): Promise<Float32Array> {
  const size = extractor.inputSize;
  const per = size * size * 3;
  const buf = new Float32Array(options.batch * per);
  return await produceRowsResumable(
    { n: paths.length, width: extractor.outDim },
    async (start, m) => {
      await Promise.all(
        Array.from({ length: m }, async (_, i) => {
          const rgb = await decodeSquare(paths[start + i], { size, kernel: options.kernel });
          caffePreprocess(rgb, { out: buf, offset: i * per });
        }),
      );
      return await extractor.run(buf, m);
    },
    {
      ...options,
      job: { n: paths.length, dim: extractor.outDim, model: extractor.name, size },
    },
  );
}

/** Params of the `image-features` kind. */
export type ImageFeaturesParams = ParamsOf<typeof imageFeaturesKind.params>;

async function weightsPath(ctx: StageContext, name: string): Promise<string> {
  const w = ctx.inputs.weights;
  if (w === undefined) {
    throw new Error(
      "image-features needs an input named 'weights' (a download of the weight file)",
    );
  }
  if ((await Deno.stat(w)).isFile) return w;
  return `${w}/${name}`;
}

/**
 * `image-features`: frozen CNN features of every image of a `raw-dataset` object. Inputs:
 * `dataset` (raw-dataset), `root` (extracted data), `weights` (the weight file, or a directory
 * holding `weights`). Outputs `img_train.npy`, `img_test.npy` (float32) and `features.json`.
 */
export const imageFeaturesKind = defineKind({
  name: "image-features",
  description: "frozen CNN image features (ResNet-50 pool / AlexNet fc6), batched and resumable",
  module: import.meta.url,
  inputs: {
    dataset: "the raw-dataset stage (items and splits)",
    root: "the extracted images (an extract stage's `data` output)",
    weights: "the network weights (a download stage's `files` output)",
  },
  params: {
    model: {
      type: "string",
      default: "resnet50",
      enum: ["resnet50", "alexnet-fc6"],
      doc: "backbone: Keras ResNet-50 (2048-d) or ONNX bvlcalexnet fc6 (4096-d)",
    },
    weights: {
      type: "string",
      default: "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
      doc: "weight file name inside the 'weights' input directory",
    },
    architecture: typedParam<ResNetConfig | null>({
      type: "any",
      default: null,
      doc: "ResNet architecture override; null = the architecture the .h5 holds (its layers)",
    }),
    size: { type: "integer", default: 224, doc: "input side (ResNet 224, AlexNet 227)" },
    batch: { type: "integer", default: 16, doc: "images per batch (also the resume granularity)" },
    kernel: {
      type: "string",
      default: "linear",
      enum: ["nearest", "linear", "cubic", "lanczos3"],
      doc: "resize kernel",
    },
  },
  outputs: ["img_train.npy", "img_test.npy", "features.json"],
  environment: async (_params, opts) => ({ backend: await resolveBackendName(opts.backend) }),
  async run(ctx) {
    const p = ctx.params;
    const { dataset, root } = ctx.inputs;
    if (dataset === undefined || root === undefined) {
      throw new Error(
        "image-features needs inputs 'dataset' (raw-dataset) and 'root' (extract data)",
      );
    }
    const items = JSON.parse(await Deno.readTextFile(`${dataset}/items.json`)) as RawItems;
    // tfjs loads with the stage, not with the CLI (README, "Start-up")
    const [{ selectBackend }, { resnetExtractor }, { buildAlexNet, readOnnxAlexNet }] =
      await Promise
        .all([
          import("../nn/backend.ts"),
          import("../nn/extractor.ts"),
          import("../nn/alexnet.ts"),
        ]);
    const info = await selectBackend(ctx.env.backend ?? ctx.options.backend, { log: ctx.log });
    const bytes = await Deno.readFile(await weightsPath(ctx, p.weights));
    const extractor = p.model === "resnet50"
      ? await resnetExtractor(bytes, {
        config: p.architecture ?? undefined,
        inputSize: p.size,
      })
      : buildAlexNet(readOnnxAlexNet(bytes), { inputSize: p.size });
    const total = items.train.length + items.test.length;
    const t0 = performance.now();
    try {
      for (const split of ["train", "test"] as const) {
        const offset = split === "train" ? 0 : items.train.length;
        const paths = items[split].map((it) => `${root}/${it.image}`);
        const feats = await extractFeatures(paths, extractor, {
          scratch: `${ctx.scratch}/${split}`,
          batch: p.batch,
          kernel: p.kernel,
          signal: ctx.signal,
          progress: (d) => ctx.progress(offset + d, total, `${split} images`),
          log: ctx.log,
        });
        await writeNpy(ctx.out(`img_${split}.npy`), feats, [paths.length, extractor.outDim]);
      }
    } finally {
      extractor.dispose();
    }
    const secs = (performance.now() - t0) / 1000;
    const meta = {
      model: extractor.name,
      dim: extractor.outDim,
      inputSize: p.size,
      preprocessing: "centre square crop, resize, RGB→BGR, minus [103.939, 116.779, 123.68]",
      backend: info.name,
      images: total,
    };
    // The object is a function of its key: the wall time goes to the manifest only.
    await Deno.writeTextFile(ctx.out("features.json"), JSON.stringify(meta, null, 2));
    ctx.provenance.imageFeatures = { ...meta, seconds: secs };
  },
});
