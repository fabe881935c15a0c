/**
 * The `image-tensors` stage kind: a Feature set whose image matrices are the images themselves,
 * for `train-dse` with `image_branch: end-to-end`.
 *
 * Every image of a `raw-dataset` object is decoded, centre-cropped, resized to `size`×`size` and
 * caffe-preprocessed exactly as for the frozen features (stages/data/images.ts), and written as
 * float32 `img_train.npy` / `img_test.npy` of shape [n, size, size, 3] (NHWC, BGR minus the
 * ImageNet means). The text features come from the `txt` input (an `lda-text` / `tag-counts`
 * object or a Feature set: `txt_train.npy`, `txt_test.npy`), the labels and `dataset.json` from
 * the `dataset` input.
 *
 * Size: 4·size²·3 bytes per image (602 KB at 224: 1.7 GB for the 2866 Wikipedia images).
 *
 * Resume: decoded rows are appended to `<scratch>/<split>.f32` after each batch, and
 * `<scratch>/<split>.json` records how many rows are complete (written after the data, by rename);
 * a killed run restarts at the first incomplete batch.
 * @module
 */
import { produceRowsResumable } from "../tensor_io/resumable_rows.ts";
import type { ParamsOf } from "../../pipeline/types.ts";
import { defineKind } from "../util/kind.ts";
import { readNpy, writeNpy } from "../tensor_io/npy.ts";
import { caffePreprocess, decodeSquare, type ResizeKernel } from "./images.ts";
import type { RawItems } from "./text.ts";
import { FEATURE_SET_OUTPUTS } from "../formats/feature_set.ts";

/** Params of `image-tensors`. */
export type ImageTensorsParams = ParamsOf<typeof imageTensorsKind.params>;

/** Options of {@link decodeImagesResumable}. */
export interface DecodeOptions {
  /** Output side. */
  size: number;
  /** Images per batch. */
  batch: number;
  /** Resize kernel. */
  kernel?: ResizeKernel;
  /** Scratch stem: `<stem>.f32` and `<stem>.json`. */
  scratch: string;
  /** Cancels between batches. */
  signal?: AbortSignal;
  /** Rows done, total. */
  progress?: (done: number, total: number) => void;
  /** Log lines. */
  log?: (msg: string) => void;
}

/**
 * Decode, crop, resize and caffe-preprocess the images at `paths` into one float32 NHWC array,
 * resuming from `options.scratch` where a previous run of the same job stopped.
 */
export async function decodeImagesResumable(
  paths: string[],
  options: DecodeOptions,
): Promise<Float32Array> {
  const per = options.size * options.size * 3;
  const buf = new Float32Array(options.batch * per);
  return await produceRowsResumable(
    { n: paths.length, width: per },
    async (start, m) => {
      await Promise.all(
        Array.from({ length: m }, async (_, i) => {
          const rgb = await decodeSquare(paths[start + i], {
            size: options.size,
            kernel: options.kernel,
          });
          caffePreprocess(rgb, { out: buf, offset: i * per });
        }),
      );
      return buf;
    },
    {
      ...options,
      unit: "image",
      job: { n: paths.length, size: options.size, kernel: options.kernel ?? "linear", paths },
    },
  );
}

async function statOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.stat(path);
  } catch {
    return null;
  }
}

/**
 * `image-tensors`: a Feature set with raw images as the image matrices. Inputs: `dataset`
 * (raw-dataset), `root` (the extracted data), `txt` (text features: lda-text, tag-counts or a
 * Feature set). Outputs the six Feature-set matrices and `dataset.json`.
 */
export const imageTensorsKind = defineKind({
  name: "image-tensors",
  description: "Feature set with decoded, cropped, resized, caffe-preprocessed images [n,H,W,3]",
  module: import.meta.url,
  inputs: {
    dataset: "the raw-dataset stage",
    root: "the extracted images (an extract stage's `data` output)",
    txt: "text features: lda-text, tag-counts or a Feature set",
  },
  params: {
    size: { type: "integer", default: 224, doc: "output side in pixels (ResNet-50: 224)" },
    batch: { type: "integer", default: 64, doc: "images decoded per batch (resume granularity)" },
    kernel: {
      type: "string",
      default: "linear",
      enum: ["nearest", "linear", "cubic", "lanczos3"],
      doc: "resize kernel",
    },
  },
  outputs: FEATURE_SET_OUTPUTS,
  async run(ctx) {
    const p = ctx.params;
    const { dataset, root, txt } = ctx.inputs;
    if (dataset === undefined || root === undefined || txt === undefined) {
      throw new Error(
        "image-tensors needs inputs 'dataset' (raw-dataset), 'root' (extract data) and 'txt' " +
          "(lda-text, tag-counts or a Feature set holding txt_train.npy / txt_test.npy)",
      );
    }
    if (!(p.size >= 8) || !(p.batch >= 1)) {
      throw new Error(`image-tensors: size must be ≥ 8 and batch ≥ 1 (got ${p.size}, ${p.batch})`);
    }
    const items = JSON.parse(await Deno.readTextFile(`${dataset}/items.json`)) as RawItems;
    const meta = JSON.parse(await Deno.readTextFile(`${dataset}/dataset.json`));
    const total = items.train.length + items.test.length;
    const t0 = performance.now();
    for (const split of ["train", "test"] as const) {
      const n = items[split].length;
      const file = `txt_${split}.npy`;
      if (!(await statOrNull(`${txt}/${file}`))?.isFile) {
        throw new Error(`image-tensors: the 'txt' input ${txt} has no ${file}`);
      }
      const t = await readNpy(`${txt}/${file}`);
      if (t.shape[0] !== n) {
        throw new Error(
          `image-tensors: ${file} has ${t.shape[0]} rows but the dataset's ${split} split has ` +
            `${n}; the 'txt' input must come from the same raw-dataset`,
        );
      }
      const offset = split === "train" ? 0 : items.train.length;
      const paths = items[split].map((it) => `${root}/${it.image}`);
      const data = await decodeImagesResumable(paths, {
        size: p.size,
        batch: p.batch,
        kernel: p.kernel,
        scratch: `${ctx.scratch}/${split}`,
        signal: ctx.signal,
        progress: (d) => ctx.progress(offset + d, total, `${split} images`),
        log: ctx.log,
      });
      await writeNpy(ctx.out(`img_${split}.npy`), data, [n, p.size, p.size, 3]);
      await Deno.copyFile(`${txt}/${file}`, ctx.out(file));
      await Deno.copyFile(`${dataset}/y_${split}.npy`, ctx.out(`y_${split}.npy`));
    }
    const image = {
      kind: "raw images",
      shape: ["n", p.size, p.size, 3],
      preprocessing: "centre square crop, resize, RGB→BGR, minus [103.939, 116.779, 123.68]",
      kernel: p.kernel,
      images: total,
    };
    // The object is a function of its key: the wall time goes to the manifest only.
    meta.source = { ...meta.source, image };
    await Deno.writeTextFile(ctx.out("dataset.json"), JSON.stringify(meta, null, 2));
    ctx.provenance.imageTensors = { ...image, seconds: (performance.now() - t0) / 1000 };
  },
});
