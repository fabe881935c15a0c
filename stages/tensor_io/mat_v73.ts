/**
 * MATLAB v7.3 MAT-file reader (`save -v7.3`): an HDF5 file with a 512-byte text user block, read
 * with `h5wasm`.
 *
 * Layout MATLAB writes: each variable is a root dataset with a `MATLAB_class` attribute
 * (`double`, `single`, `int8`..`uint64`, `logical`, `char`, `cell`, `struct`...). HDF5 dimensions
 * are MATLAB's reversed: a MATLAB r×c matrix is an HDF5 c×r dataset whose C-order values are the
 * column-major values of the matrix. Empty arrays hold their dimensions as values and carry
 * `MATLAB_empty = 1`. Sparse matrices and structs are groups; cells are reference datasets.
 *
 * Numeric, logical and char arrays are read; sparse, cell, struct, object, function handles and
 * complex values are listed as unsupported (asking for one throws, naming what to do).
 * @module
 */
import h5wasm from "h5wasm/node";
import { hasHdf5Signature } from "./hdf5.ts";
import {
  charRows,
  columnToRowMajor,
  type MatClass,
  type MatData,
  type MatNumericClass,
  type MatVariable,
  toMatClass,
} from "./mat_v5.ts";

const NUMERIC = new Set<string>([
  "double",
  "single",
  "int8",
  "uint8",
  "int16",
  "uint16",
  "int32",
  "uint32",
  "int64",
  "uint64",
  "logical",
]);

const HINT = "convert it in MATLAB (`full(x)` for sparse, `real(x)`/`imag(x)` for complex, " +
  "separate numeric variables for cell and struct) and re-save";

function attrString(obj: { attrs: Record<string, { value: unknown }> }, name: string) {
  const a = obj.attrs[name];
  if (!a) return undefined;
  const v = a.value;
  if (typeof v === "string") return v.replace(/\0+$/, "");
  if (v instanceof Uint8Array) return new TextDecoder().decode(v).replace(/\0+$/, "");
  return v === null || v === undefined ? undefined : String(v);
}

function isTyped(v: unknown): v is MatData {
  return ArrayBuffer.isView(v) && !(v instanceof DataView);
}

/**
 * Read every variable of a MAT v7.3 file. Names starting with `#` (MATLAB's `#refs#` and
 * `#subsystem#` groups) are skipped.
 */
export async function readMatV73(path: string): Promise<Map<string, MatVariable>> {
  await h5wasm.ready;
  let head: Uint8Array;
  try {
    using f = await Deno.open(path);
    head = new Uint8Array(1032);
    let n = 0;
    while (n < head.length) {
      const got = await f.read(head.subarray(n));
      if (got === null) break;
      n += got;
    }
    head = head.subarray(0, n);
  } catch {
    throw new Error(`${path}: file not found`);
  }
  if (!hasHdf5Signature(head)) {
    throw new Error(
      `${path}: not a readable HDF5 / MAT v7.3 file (no HDF5 signature); for MAT v5 use format 'mat'`,
    );
  }
  let file: InstanceType<typeof h5wasm.File>;
  try {
    file = new h5wasm.File(path, "r");
  } catch (e) {
    throw new Error(`${path}: not a readable HDF5 / MAT v7.3 file (${(e as Error).message})`);
  }
  const out = new Map<string, MatVariable>();
  try {
    for (const name of file.keys()) {
      if (name.startsWith("#")) continue;
      const at = `${path}: variable '${name}'`;
      const entity = file.get(name);
      if (!entity || !("attrs" in entity)) continue;
      const cls = (attrString(entity, "MATLAB_class") ?? "unknown") as MatClass;
      if (entity instanceof h5wasm.Group) {
        const kind = "MATLAB_sparse" in entity.attrs ? "sparse" : cls === "unknown" ? "group" : cls;
        out.set(name, {
          name,
          class: kind === "sparse" ? "sparse" : cls,
          shape: [],
          unsupported: `${at} is a ${kind} (an HDF5 group), which this reader does not support: ` +
            HINT,
        });
        continue;
      }
      if (!(entity instanceof h5wasm.Dataset)) continue;
      const hshape = entity.shape ?? [];
      const mshape = hshape.length === 0 ? [1, 1] : [...hshape].reverse();
      if (mshape.length === 1) mshape.push(1);
      const v: MatVariable = { name, class: cls, shape: mshape };
      if (typeof entity.dtype === "object" && "compound_type" in entity.dtype) {
        v.unsupported =
          `${at} is a complex ${cls} array, which this reader does not support: ${HINT}`;
        out.set(name, v);
        continue;
      }
      if (cls !== "char" && !NUMERIC.has(cls)) {
        v.unsupported =
          `${at} is a MATLAB ${cls} array, which this reader does not support: ${HINT}`;
        out.set(name, v);
        continue;
      }
      const raw = entity.value;
      const empty = attrString(entity, "MATLAB_empty");
      if (empty !== undefined && empty !== "0") {
        // the dataset holds the HDF5-ordered dimensions of an empty array
        const dims = isTyped(raw) ? Array.from(raw as ArrayLike<number | bigint>, Number) : [0, 0];
        v.shape = dims.reverse();
        if (cls === "char") v.text = v.shape[0] === 0 ? [] : v.shape.map(() => "");
        else v.data = toMatClass(new Float64Array(0), cls as MatNumericClass, { source: at });
        out.set(name, v);
        continue;
      }
      if (!isTyped(raw)) {
        throw new Error(`${at}: unexpected HDF5 value of type ${typeof raw}`);
      }
      if (cls === "char") {
        v.text = charRows(Array.from(raw as ArrayLike<number | bigint>, Number), mshape, {
          source: at,
        });
      } else {
        v.data = columnToRowMajor(
          toMatClass(raw, cls as MatNumericClass, { source: at }),
          mshape,
        );
      }
      out.set(name, v);
    }
  } finally {
    file.close();
  }
  return out;
}

/** HDF5 sniffing, kept here for importers of this module (it lives in `hdf5.ts`). */
export { hasHdf5Signature };
