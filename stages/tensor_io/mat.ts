/**
 * Open any supported MAT file: sniffs v7.3 (HDF5) against v5 (v6/v7) and dispatches. The v7.3
 * reader (and h5wasm with it) is imported only when a v7.3 file is read.
 * @module
 */
import { hasHdf5Signature } from "./hdf5.ts";
import { decodeMatV5, type MatVariable } from "./mat_v5.ts";

/** Which MAT flavour the bytes are: `mat73` (HDF5) or `mat` (Level 5). */
export function sniffMat(bytes: Uint8Array): "mat" | "mat73" {
  const head = new TextDecoder("latin1").decode(bytes.subarray(0, 10));
  if (head.startsWith("MATLAB 7.3")) return "mat73";
  return hasHdf5Signature(bytes) ? "mat73" : "mat";
}

/**
 * Read every variable of a MAT file, v5 or v7.3.
 * @param path the file
 * @param options `format` forces one reader instead of sniffing the header
 */
export async function readMat(
  path: string,
  options: { format?: "mat" | "mat73" } = {},
): Promise<Map<string, MatVariable>> {
  let format = options.format;
  if (!format) {
    const head = new Uint8Array(1032);
    using f = await Deno.open(path);
    let n = 0;
    while (n < head.length) {
      const got = await f.read(head.subarray(n));
      if (got === null) break;
      n += got;
    }
    format = sniffMat(head.subarray(0, n));
  }
  if (format === "mat73") {
    const { readMatV73 } = await import("./mat_v73.ts");
    return await readMatV73(path);
  }
  return decodeMatV5(await Deno.readFile(path), { source: path });
}
