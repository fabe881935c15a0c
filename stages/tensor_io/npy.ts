/**
 * NumPy `.npy` (format 1.0/2.0/3.0) reading and writing, little-endian, C order.
 *
 * Every matrix artifact in this project is an `.npy` file, so `numpy.load` opens it.
 * @module
 */
import type { Matrix } from "../linalg/matrix.ts";

/** The dtypes we read and write. */
export type NpyDtype =
  | "<f8"
  | "<f4"
  | "<i4"
  | "<i8"
  | "<u1"
  | "|u1"
  | "<i2"
  | "<u2"
  | "<u4"
  | "|i1";

/** Typed array of any supported dtype. */
export type NumericArray =
  | Float64Array
  | Float32Array
  | Int32Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Uint32Array
  | Int8Array;

/** A decoded `.npy` array. */
export interface NpyArray {
  /** Numpy dtype descriptor, e.g. `<f8`. */
  dtype: string;
  /** Shape, C order. */
  shape: number[];
  /** Values, C (row-major) order. int64 is decoded into Float64Array (exact up to 2^53). */
  data: NumericArray | Float64Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

function dtypeOf(data: NumericArray): NpyDtype {
  if (data instanceof Float64Array) return "<f8";
  if (data instanceof Float32Array) return "<f4";
  if (data instanceof Int32Array) return "<i4";
  if (data instanceof Uint8Array) return "|u1";
  if (data instanceof Int16Array) return "<i2";
  if (data instanceof Uint16Array) return "<u2";
  if (data instanceof Uint32Array) return "<u4";
  if (data instanceof Int8Array) return "|i1";
  throw new Error("npy: unsupported typed array");
}

/**
 * Encode an array as `.npy` bytes (format 1.0, little-endian, C order).
 * @param data values in row-major order
 * @param shape the array's shape; its product must equal `data.length`
 */
export function encodeNpy(data: NumericArray, shape: readonly number[]): Uint8Array {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== data.length) {
    throw new Error(`npy: shape [${shape}] holds ${n} values but data has ${data.length}`);
  }
  const shapeStr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let header = `{'descr': '${dtypeOf(data)}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  const pre = 10;
  const total = Math.ceil((pre + header.length + 1) / 64) * 64;
  header = header.padEnd(total - pre - 1, " ") + "\n";
  const out = new Uint8Array(total + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), pre);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), total);
  return out;
}

/**
 * Decode `.npy` bytes. Supports little-endian numeric dtypes in C or Fortran order
 * (Fortran order is transposed to C order on read).
 */
export function decodeNpy(bytes: Uint8Array): NpyArray {
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) throw new Error("npy: not a .npy file (bad magic)");
  }
  const major = bytes[6];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hlen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const hstart = major === 1 ? 10 : 12;
  const header = new TextDecoder().decode(bytes.subarray(hstart, hstart + hlen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*True/.test(header);
  const shapeMatch = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !shapeMatch) throw new Error(`npy: cannot parse header ${header}`);
  const shape = shapeMatch[1].split(",").map((s) => s.trim()).filter((s) => s.length > 0).map(
    Number,
  );
  const n = shape.reduce((a, b) => a * b, 1);
  const off = hstart + hlen;
  const raw = bytes.slice(off, off + n * itemSize(descr));
  if (raw.byteLength !== n * itemSize(descr)) throw new Error("npy: truncated data");
  let data: NumericArray | Float64Array;
  switch (descr) {
    case "<f8":
      data = new Float64Array(raw.buffer);
      break;
    case "<f4":
      data = new Float32Array(raw.buffer);
      break;
    case "<i4":
      data = new Int32Array(raw.buffer);
      break;
    case "<u4":
      data = new Uint32Array(raw.buffer);
      break;
    case "<i2":
      data = new Int16Array(raw.buffer);
      break;
    case "<u2":
      data = new Uint16Array(raw.buffer);
      break;
    case "|u1":
    case "<u1":
    case "|b1":
      data = new Uint8Array(raw.buffer);
      break;
    case "|i1":
      data = new Int8Array(raw.buffer);
      break;
    case "<i8": {
      const big = new BigInt64Array(raw.buffer);
      data = Float64Array.from(big, (v) => Number(v));
      break;
    }
    default:
      throw new Error(`npy: unsupported dtype ${descr} (use little-endian numeric types)`);
  }
  if (fortran && shape.length > 1) data = fortranToC(data, shape);
  return { dtype: descr, shape, data };
}

function itemSize(descr: string): number {
  const m = /(\d+)$/.exec(descr);
  if (!m) throw new Error(`npy: unsupported dtype ${descr}`);
  return Number(m[1]);
}

function fortranToC<T extends NumericArray | Float64Array>(data: T, shape: number[]): T {
  const out = new (data.constructor as { new (n: number): T })(data.length);
  const nd = shape.length;
  const idx = new Array(nd).fill(0);
  for (let f = 0; f < data.length; f++) {
    // f is the Fortran linear index of idx
    let c = 0;
    for (let d = 0; d < nd; d++) c = c * shape[d] + idx[d];
    out[c] = data[f];
    for (let d = 0; d < nd; d++) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

/** Read an `.npy` file. */
export async function readNpy(path: string): Promise<NpyArray> {
  return decodeNpy(await Deno.readFile(path));
}

/** Write an `.npy` file. */
export async function writeNpy(
  path: string,
  data: NumericArray,
  shape: readonly number[],
): Promise<void> {
  await Deno.writeFile(path, encodeNpy(data, shape));
}

/** Read a 2-D `.npy` file as a float64 {@link Matrix} (a 1-D array becomes one column). */
export async function readMatrix(path: string): Promise<Matrix> {
  const a = await readNpy(path);
  if (a.shape.length > 2) throw new Error(`${path}: expected a 2-D array, got [${a.shape}]`);
  const rows = a.shape[0];
  const cols = a.shape.length === 2 ? a.shape[1] : 1;
  return { rows, cols, data: a.data instanceof Float64Array ? a.data : Float64Array.from(a.data) };
}

/** Write a {@link Matrix} as a 2-D float64 (or float32 with `{ float32: true }`) `.npy`. */
export async function writeMatrix(
  path: string,
  m: Matrix,
  options: { float32?: boolean } = {},
): Promise<void> {
  const data = options.float32 ? Float32Array.from(m.data) : m.data;
  await writeNpy(path, data, [m.rows, m.cols]);
}

/** Read a 1-D `.npy` of integer labels as Int32Array. */
export async function readLabels(path: string): Promise<Int32Array> {
  const a = await readNpy(path);
  return a.data instanceof Int32Array ? a.data : Int32Array.from(a.data);
}

/** Write integer labels as a 1-D int32 `.npy`. */
export async function writeLabels(path: string, labels: ArrayLike<number>): Promise<void> {
  await writeNpy(path, Int32Array.from(labels), [labels.length]);
}
