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
 * Numeric, logical and char arrays are read; a numeric dataset without `MATLAB_class` (a plain
 * HDF5 file, e.g. written by h5py) keeps its own C-order dimensions; scalar structs (groups; also plain HDF5 groups)
 * with their fields, nested to any depth, so `data.I_tr` finds a field by path
 * (`matPath`); sparse, cell, struct arrays, objects, function handles and complex values are
 * listed as unsupported (asking for one throws, naming what to do).
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

type Entity = NonNullable<ReturnType<InstanceType<typeof h5wasm.File>["get"]>>;

const MAX_DEPTH = 32;

const PLAIN_CLASSES: [new (...a: never[]) => unknown, MatNumericClass][] = [
  [Float64Array, "double"],
  [Float32Array, "single"],
  [Int8Array, "int8"],
  [Uint8Array, "uint8"],
  [Int16Array, "int16"],
  [Uint16Array, "uint16"],
  [Int32Array, "int32"],
  [Uint32Array, "uint32"],
  [BigInt64Array, "int64"],
  [BigUint64Array, "uint64"],
];

/**
 * A dataset without `MATLAB_class`, as h5py and other HDF5 writers leave them: numeric values in
 * C order with the dataset's own dimensions (not MATLAB's reversed ones); a 1-D dataset is a column.
 */
function plainDataset(
  entity: InstanceType<typeof h5wasm.Dataset>,
  options: { name: string; at: string },
): MatVariable {
  const hshape = entity.shape ?? [];
  const shape = hshape.length === 0 ? [1, 1] : hshape.length === 1 ? [hshape[0], 1] : [...hshape];
  const raw = entity.value;
  const cls = PLAIN_CLASSES.find(([ctor]) => raw instanceof ctor)?.[1];
  if (!cls || !isTyped(raw)) {
    return {
      name: options.name,
      class: "unknown" as MatClass,
      shape,
      unsupported: `${options.at} is an HDF5 dataset of type ${
        JSON.stringify(entity.dtype)
      } without MATLAB_class, which this reader does not support: store numbers`,
    };
  }
  return { name: options.name, class: cls, shape, data: raw };
}

/**
 * One HDF5 object as a {@link MatVariable}: numeric, logical and char datasets; a scalar struct
 * (a group, MATLAB_class `struct`, or a plain HDF5 group) as a 1×1 struct whose fields are its
 * members, read recursively; anything else as unsupported with a hint.
 */
function readEntity(
  entity: Entity,
  options: { name: string; at: string; depth: number },
): MatVariable | undefined {
  const { name, at } = options;
  if (!("attrs" in entity)) return undefined;
  const cls = (attrString(entity, "MATLAB_class") ?? "unknown") as MatClass;
  if (entity instanceof h5wasm.Group) {
    const sparse = "MATLAB_sparse" in entity.attrs;
    if (!sparse && (cls === "struct" || cls === "unknown") && options.depth < MAX_DEPTH) {
      const fields: string[] = [];
      const rec = new Map<string, MatVariable>();
      for (const key of entity.keys()) {
        if (key.startsWith("#")) continue;
        const child = entity.get(key);
        if (!child) continue;
        const v = readEntity(child, {
          name: key,
          at: `${at}.${key}`,
          depth: options.depth + 1,
        });
        if (!v) continue;
        fields.push(key);
        rec.set(key, v);
      }
      return { name, class: "struct", shape: [1, 1], fields, records: [rec] };
    }
    const kind = sparse ? "sparse" : cls;
    return {
      name,
      class: sparse ? "sparse" : cls,
      shape: [],
      unsupported: `${at} is a ${kind} (an HDF5 group), which this reader does not support: ` +
        HINT,
    };
  }
  if (!(entity instanceof h5wasm.Dataset)) return undefined;
  const hshape = entity.shape ?? [];
  const mshape = hshape.length === 0 ? [1, 1] : [...hshape].reverse();
  if (mshape.length === 1) mshape.push(1);
  const v: MatVariable = { name, class: cls, shape: mshape };
  if (typeof entity.dtype === "object" && "compound_type" in entity.dtype) {
    v.unsupported = `${at} is a complex ${cls} array, which this reader does not support: ${HINT}`;
    return v;
  }
  if (cls === "struct") {
    v.unsupported = `${at} is a ${mshape.join("×")} struct array (references in v7.3), which ` +
      `this reader does not support: index a scalar struct, or save the field as its own variable`;
    return v;
  }
  if (cls === "unknown") return plainDataset(entity, { name, at });
  if (cls !== "char" && !NUMERIC.has(cls)) {
    v.unsupported = `${at} is a MATLAB ${cls} array, which this reader does not support: ${HINT}`;
    return v;
  }
  const raw = entity.value;
  const empty = attrString(entity, "MATLAB_empty");
  if (empty !== undefined && empty !== "0") {
    // the dataset holds the HDF5-ordered dimensions of an empty array
    const dims = isTyped(raw) ? Array.from(raw as ArrayLike<number | bigint>, Number) : [0, 0];
    v.shape = dims.reverse();
    if (cls === "char") v.text = v.shape[0] === 0 ? [] : v.shape.map(() => "");
    else v.data = toMatClass(new Float64Array(0), cls as MatNumericClass, { source: at });
    return v;
  }
  if (!isTyped(raw)) {
    throw new Error(`${at}: unexpected HDF5 value of type ${typeof raw}`);
  }
  if (cls === "char") {
    v.text = charRows(Array.from(raw as ArrayLike<number | bigint>, Number), mshape, {
      source: at,
    });
  } else {
    v.data = columnToRowMajor(toMatClass(raw, cls as MatNumericClass, { source: at }), mshape);
  }
  return v;
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
      const entity = file.get(name);
      if (!entity || !("attrs" in entity)) continue;
      const v = readEntity(entity, { name, at: `${path}: variable '${name}'`, depth: 0 });
      if (v) out.set(name, v);
    }
  } finally {
    file.close();
  }
  return out;
}

/** HDF5 sniffing, kept here for importers of this module (it lives in `hdf5.ts`). */
export { hasHdf5Signature };
