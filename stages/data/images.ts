/**
 * Image decoding for the CNN features: decode (sharp / libvips), centre-crop the square middle,
 * resize to `size`×`size`, and ImageNet "caffe" preprocessing as Keras applies it for ResNet-50
 * (`preprocess_input`, mode "caffe": RGB→BGR, subtract the BGR means [103.939, 116.779, 123.68],
 * no scaling).
 * @module
 */

/** ImageNet channel means in BGR order, as in keras `imagenet_utils.preprocess_input` ("caffe"). */
export const CAFFE_MEAN_BGR: readonly [number, number, number] = [103.939, 116.779, 123.68];

/** Resampling kernels sharp offers for the resize. */
export type ResizeKernel = "nearest" | "linear" | "cubic" | "lanczos3";

/** Options of {@link decodeSquare}. */
export interface SquareOptions {
  /** Output side in pixels (default 224). */
  size?: number;
  /** Resampling kernel (default "linear", closest to PIL's bilinear). */
  kernel?: ResizeKernel;
}

/** The centre square of a w×h image: `{ left, top, side }` with side = min(w, h). */
export function centreSquare(width: number, height: number): {
  left: number;
  top: number;
  side: number;
} {
  const side = Math.min(width, height);
  return {
    left: Math.floor((width - side) / 2),
    top: Math.floor((height - side) / 2),
    side,
  };
}

/**
 * Decode an image (file path or bytes), crop its centre square, resize to size×size, and return
 * RGB bytes in HWC order (length size·size·3). Grey, CMYK and alpha images become RGB.
 */
export async function decodeSquare(
  input: string | Uint8Array,
  options: SquareOptions = {},
): Promise<Uint8Array> {
  const size = options.size ?? 224;
  const kernel = options.kernel ?? "linear";
  let img;
  let meta;
  try {
    // sharp (libvips), a native addon, loads on the first decode, not when the stage registry is
    // imported, so commands that decode nothing need no --allow-ffi.
    const { default: sharp } = await import("sharp");
    img = sharp(input, { failOn: "error" });
    meta = await img.metadata();
  } catch (e) {
    const what = typeof input === "string" ? input : `${input.length} bytes`;
    throw new Error(`cannot decode image ${what}: ${(e as Error).message}; is the file complete?`);
  }
  if (!meta.width || !meta.height) throw new Error(`image has no size: ${String(input)}`);
  const { left, top, side } = centreSquare(meta.width, meta.height);
  const { data, info } = await img
    .extract({ left, top, width: side, height: side })
    .resize(size, size, { kernel, fit: "fill" })
    .toColourspace("srgb")
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels === 3) return new Uint8Array(data.buffer, data.byteOffset, data.length);
  const out = new Uint8Array(size * size * 3);
  for (let i = 0; i < size * size; i++) {
    for (let c = 0; c < 3; c++) {
      out[i * 3 + c] = data[i * info.channels + Math.min(c, info.channels - 1)];
    }
  }
  return out;
}

/**
 * Keras "caffe" preprocessing of RGB HWC bytes: BGR order, minus {@link CAFFE_MEAN_BGR}.
 * Writes into `out` at `offset` if given (for batches), else a new Float32Array.
 */
export function caffePreprocess(
  rgb: Uint8Array,
  options: { out?: Float32Array; offset?: number } = {},
): Float32Array {
  const out = options.out ?? new Float32Array(rgb.length);
  const o = options.offset ?? 0;
  const [mb, mg, mr] = CAFFE_MEAN_BGR;
  for (let i = 0; i < rgb.length; i += 3) {
    out[o + i] = rgb[i + 2] - mb;
    out[o + i + 1] = rgb[i + 1] - mg;
    out[o + i + 2] = rgb[i] - mr;
  }
  return out;
}

/**
 * Decode, crop, resize and preprocess a batch of image files into one NHWC Float32Array,
 * decoding `concurrency` images at a time (libvips runs them on its own threads).
 */
export async function loadBatch(
  paths: string[],
  options: SquareOptions & { concurrency?: number } = {},
): Promise<Float32Array> {
  const size = options.size ?? 224;
  const per = size * size * 3;
  const out = new Float32Array(paths.length * per);
  const conc = Math.max(1, options.concurrency ?? 4);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < paths.length) {
      const i = next++;
      const rgb = await decodeSquare(paths[i], options);
      caffePreprocess(rgb, { out, offset: i * per });
    }
  }
  await Promise.all(Array.from({ length: Math.min(conc, paths.length) }, worker));
  return out;
}
