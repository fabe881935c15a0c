/**
 * MATLAB Level 5 MAT-file reader (the format of `save -v6` and `save -v7`): numeric, logical,
 * char, cell and struct arrays (nested to any depth), plain or `miCOMPRESSED` (zlib).
 *
 * Why our own reader: the one npm candidate (`mat-for-js` 1.1.0, a single release) returns nested
 * JS arrays, flattens 1×n and n×1 to the same 1-D array (losing the orientation) and has no typed
 * arrays; matrices of thousands of rows are our common case. This reader keeps the class, the full
 * shape, and returns typed arrays in row-major (C) order.
 *
 * Cell and struct arrays keep MATLAB's linear (column-major) element order, so `D(n)` in MATLAB is
 * `records[n - 1]` here; their numeric members are read like top-level variables.
 *
 * Not supported (each gives an error naming the variable and what to do): sparse, object,
 * function-handle and opaque arrays, complex values, big-endian files, MAT v4, and v7.3 (HDF5: see
 * `mat_v73.ts`). A file that holds unsupported variables still opens; only asking for one of them
 * throws. The same holds inside cells and structs.
 * @module
 */
import { inflateSync } from "node:zlib";
import type { Matrix } from "../linalg/matrix.ts";

/** MATLAB array classes this reader can return values for. */
export type MatNumericClass =
  | "double"
  | "single"
  | "int8"
  | "uint8"
  | "int16"
  | "uint16"
  | "int32"
  | "uint32"
  | "int64"
  | "uint64"
  | "logical";

/** Every MATLAB array class a MAT file can hold. */
export type MatClass =
  | MatNumericClass
  | "char"
  | "cell"
  | "struct"
  | "object"
  | "sparse"
  | "function"
  | "opaque"
  | "unknown";

/** Typed array of a numeric MAT variable (int64/uint64 keep their exact BigInt values). */
export type MatData =
  | Float64Array
  | Float32Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** One variable of a MAT file. */
export interface MatVariable {
  /** Variable name. */
  name: string;
  /** MATLAB class (`logical` for logical arrays). */
  class: MatClass;
  /** MATLAB dimensions (at least 2), e.g. `[2173, 128]`. */
  shape: number[];
  /** Numeric values in row-major (C) order; absent for char and unsupported variables. */
  data?: MatData;
  /** Char arrays: one string per row (a 1×n char array gives one string). */
  text?: string[];
  /** Cell arrays: the elements in MATLAB's linear (column-major) order, each named `''`. */
  cells?: MatVariable[];
  /** Struct arrays: the field names, in file order. */
  fields?: string[];
  /** Struct arrays: one record per element in MATLAB's linear order, field name → value. */
  records?: Map<string, MatVariable>[];
  /** Why the variable cannot be read, if it cannot; asking for its values throws this. */
  unsupported?: string;
}

const HINT = "convert it in MATLAB (e.g. `full(x)` for sparse, `real(x)`/`imag(x)` for complex, " +
  "`struct(obj)` for objects) and re-save with `save(file, ..., '-v7')`";

/** Deepest nesting of cells and structs accepted (a guard against crafted files). */
const MAX_DEPTH = 32;

const MI_INT8 = 1,
  MI_UINT8 = 2,
  MI_INT16 = 3,
  MI_UINT16 = 4,
  MI_INT32 = 5,
  MI_UINT32 = 6,
  MI_SINGLE = 7,
  MI_DOUBLE = 9,
  MI_INT64 = 12,
  MI_UINT64 = 13,
  MI_MATRIX = 14,
  MI_COMPRESSED = 15,
  MI_UTF8 = 16,
  MI_UTF16 = 17,
  MI_UTF32 = 18;

const CLASS_CODES: Record<number, MatClass> = {
  1: "cell",
  2: "struct",
  3: "object",
  4: "char",
  5: "sparse",
  6: "double",
  7: "single",
  8: "int8",
  9: "uint8",
  10: "int16",
  11: "uint16",
  12: "int32",
  13: "uint32",
  14: "int64",
  15: "uint64",
  16: "function",
  17: "opaque",
};

interface Element {
  type: number;
  /** Payload bytes (a view). */
  body: Uint8Array;
  /** Offset of the next element. */
  next: number;
}

function readElement(bytes: Uint8Array, offset: number, where: string): Element {
  if (offset + 8 > bytes.length) throw new Error(`${where}: truncated data element at ${offset}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const first = dv.getUint32(offset, true);
  if (first >>> 16 !== 0) {
    // small data element: 2-byte size, 2-byte type, up to 4 bytes of data in the same 8 bytes
    const size = first >>> 16;
    const type = first & 0xffff;
    if (size > 4) throw new Error(`${where}: bad small data element at ${offset}`);
    return { type, body: bytes.subarray(offset + 4, offset + 4 + size), next: offset + 8 };
  }
  const type = first;
  const size = dv.getUint32(offset + 4, true);
  const start = offset + 8;
  if (start + size > bytes.length) {
    throw new Error(
      `${where}: data element at ${offset} runs past the end of the file (truncated?)`,
    );
  }
  // miCOMPRESSED elements are not padded; everything else is padded to 8 bytes
  const next = type === MI_COMPRESSED ? start + size : start + Math.ceil(size / 8) * 8;
  return { type, body: bytes.subarray(start, start + size), next };
}

function toNumbers(a: MatData): number[] {
  const out = new Array<number>(a.length);
  for (let i = 0; i < a.length; i++) out[i] = Number(a[i]);
  return out;
}

function copyBytes(body: Uint8Array): ArrayBuffer {
  const buf = new ArrayBuffer(body.byteLength);
  new Uint8Array(buf).set(body);
  return buf;
}

/** Decode a numeric element into a typed array of its own storage type. */
function storageArray(el: Element, where: string): MatData {
  const b = copyBytes(el.body);
  switch (el.type) {
    case MI_INT8:
      return new Int8Array(b);
    case MI_UINT8:
    case MI_UTF8:
      return new Uint8Array(b);
    case MI_INT16:
      return new Int16Array(b);
    case MI_UINT16:
    case MI_UTF16:
      return new Uint16Array(b);
    case MI_INT32:
      return new Int32Array(b);
    case MI_UINT32:
    case MI_UTF32:
      return new Uint32Array(b);
    case MI_SINGLE:
      return new Float32Array(b);
    case MI_DOUBLE:
      return new Float64Array(b);
    case MI_INT64:
      return new BigInt64Array(b);
    case MI_UINT64:
      return new BigUint64Array(b);
    default:
      throw new Error(`${where}: unexpected data type ${el.type} for array values`);
  }
}

/**
 * Convert stored values to the typed array of a MATLAB class (MATLAB may store e.g. a double array
 * as miUINT8). Returns `src` itself when it already has the class's type.
 */
export function toMatClass(
  src: MatData,
  cls: MatNumericClass,
  options: { source?: string } = {},
): MatData {
  const where = options.source ?? "MAT file";
  const n = src.length;
  const isBig = src instanceof BigInt64Array || src instanceof BigUint64Array;
  const num = (i: number) => Number(src[i]);
  const make = <T extends MatData>(ctor: { new (n: number): T }): T => {
    if (src instanceof ctor) return src as T;
    const out = new ctor(n);
    const big = out instanceof BigInt64Array || out instanceof BigUint64Array;
    for (let i = 0; i < n; i++) {
      (out as unknown as (number | bigint)[])[i] = big
        ? (isBig ? src[i] : BigInt(num(i)))
        : (isBig ? Number(src[i]) : num(i));
    }
    return out;
  };
  switch (cls) {
    case "double":
      return make(Float64Array);
    case "single":
      return make(Float32Array);
    case "int8":
      return make(Int8Array);
    case "uint8":
    case "logical":
      return make(Uint8Array);
    case "int16":
      return make(Int16Array);
    case "uint16":
      return make(Uint16Array);
    case "int32":
      return make(Int32Array);
    case "uint32":
      return make(Uint32Array);
    case "int64":
      return make(BigInt64Array);
    case "uint64":
      return make(BigUint64Array);
    default:
      throw new Error(`${where}: cannot convert to class ${cls}`);
  }
}

/** Reorder column-major (Fortran) values of `shape` into row-major (C) order. */
export function columnToRowMajor<T extends MatData>(data: T, shape: readonly number[]): T {
  const n = data.length;
  if (shape.length < 2 || n <= 1) return data;
  const out = new (data.constructor as { new (n: number): T })(n);
  if (shape.length === 2) {
    const [r, c] = shape;
    for (let j = 0; j < c; j++) {
      for (let i = 0; i < r; i++) out[i * c + j] = data[j * r + i];
    }
    return out;
  }
  const nd = shape.length;
  const idx = new Array(nd).fill(0);
  for (let f = 0; f < n; f++) {
    let cIdx = 0;
    for (let d = 0; d < nd; d++) cIdx = cIdx * shape[d] + idx[d];
    out[cIdx] = data[f];
    for (let d = 0; d < nd; d++) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

function decodeChars(el: Element, shape: number[], where: string): string[] {
  let codes: number[];
  if (el.type === MI_UTF8) {
    // UTF-8 may use several bytes per char, so the column-major layout is only simple for 1 row
    const s = new TextDecoder().decode(el.body);
    if (shape[0] <= 1) return [s];
    codes = Array.from(s, (ch) => ch.codePointAt(0) ?? 0);
  } else {
    codes = toNumbers(storageArray(el, where));
  }
  return charRows(codes, shape, { source: where });
}

/**
 * Rows of a MATLAB char array from its character codes in column-major order.
 * @param codes UTF-16 code units (or code points), column-major
 * @param shape MATLAB dimensions; dimensions after the first are flattened into columns
 */
export function charRows(
  codes: ArrayLike<number>,
  shape: readonly number[],
  options: { source?: string } = {},
): string[] {
  const where = options.source ?? "MAT file";
  const rows = shape[0];
  const cols = shape.slice(1).reduce((a, b) => a * b, 1);
  if (codes.length !== rows * cols) {
    throw new Error(`${where}: char array holds ${codes.length} characters, shape is [${shape}]`);
  }
  const out: string[] = [];
  for (let i = 0; i < rows; i++) {
    let s = "";
    for (let j = 0; j < cols; j++) s += String.fromCodePoint(codes[j * rows + i]);
    out.push(s);
  }
  return out;
}

/**
 * One miMATRIX payload. `label` names it in errors: `variable 'x'` at the top level, then
 * `variable 'D'(3).taglist` or `variable 'c'{2}` for what is nested inside cells and structs.
 */
function parseMatrix(
  body: Uint8Array,
  where: string,
  label: string | null,
  depth: number,
): MatVariable {
  if (depth > MAX_DEPTH) throw new Error(`${where}: cells/structs nested deeper than ${MAX_DEPTH}`);
  if (body.length === 0) {
    // MATLAB writes an empty element of a cell or struct as an miMATRIX with no payload
    return { name: "", class: "double", shape: [0, 0], data: new Float64Array(0) };
  }
  const flagsEl = readElement(body, 0, where);
  if (flagsEl.type !== MI_UINT32 || flagsEl.body.length < 8) {
    throw new Error(`${where}: miMATRIX without array flags`);
  }
  const fdv = new DataView(flagsEl.body.buffer, flagsEl.body.byteOffset, 8);
  const flagWord = fdv.getUint32(0, true);
  const classCode = flagWord & 0xff;
  const flags = (flagWord >>> 8) & 0xff;
  const complex = (flags & 0x08) !== 0;
  const logical = (flags & 0x02) !== 0;
  let cls: MatClass = CLASS_CODES[classCode] ?? "unknown";
  if (logical && cls !== "sparse") cls = "logical";

  const dimsEl = readElement(body, flagsEl.next, where);
  const dims = toNumbers(storageArray(dimsEl, where));
  const nameEl = readElement(body, dimsEl.next, where);
  const name = new TextDecoder().decode(nameEl.body);
  const at = `${where}: ${label ?? `variable '${name}'`}`;
  const v: MatVariable = { name, class: cls, shape: dims };
  const n = dims.reduce((a, b) => a * b, 1);

  if (cls === "function" || cls === "opaque" || cls === "object" || cls === "unknown") {
    // these carry no dims/name in the usual layout; report by class only
    v.unsupported = `${at} is a MATLAB ${cls} array, which this reader does not support: ${HINT}`;
    return v;
  }
  if (cls === "sparse") {
    v.unsupported = `${at} is a sparse array (${dims.join("×")}), which this reader does not ` +
      `support: ${HINT}`;
    return v;
  }
  if (cls === "cell") {
    const cells: MatVariable[] = [];
    let off = nameEl.next;
    for (let i = 0; i < n; i++) {
      const el = readElement(body, off, at);
      if (el.type !== MI_MATRIX) throw new Error(`${at}: cell element ${i + 1} is not an array`);
      cells.push(
        parseMatrix(el.body, where, `${label ?? `variable '${name}'`}{${i + 1}}`, depth + 1),
      );
      off = el.next;
    }
    v.cells = cells;
    return v;
  }
  if (cls === "struct") {
    const lenEl = readElement(body, nameEl.next, at);
    const fieldLen = toNumbers(storageArray(lenEl, at))[0] ?? 0;
    const namesEl = readElement(body, lenEl.next, at);
    const nFields = fieldLen > 0 ? Math.floor(namesEl.body.length / fieldLen) : 0;
    const fields: string[] = [];
    for (let f = 0; f < nFields; f++) {
      const raw = namesEl.body.subarray(f * fieldLen, (f + 1) * fieldLen);
      const end = raw.indexOf(0);
      fields.push(new TextDecoder().decode(end < 0 ? raw : raw.subarray(0, end)));
    }
    const records: Map<string, MatVariable>[] = [];
    let off = namesEl.next;
    for (let i = 0; i < n; i++) {
      const rec = new Map<string, MatVariable>();
      for (const field of fields) {
        const el = readElement(body, off, at);
        if (el.type !== MI_MATRIX) {
          throw new Error(`${at}: field '${field}' of element ${i + 1} is not an array`);
        }
        const sub = `${label ?? `variable '${name}'`}(${i + 1}).${field}`;
        rec.set(field, parseMatrix(el.body, where, sub, depth + 1));
        off = el.next;
      }
      records.push(rec);
    }
    v.fields = fields;
    v.records = records;
    return v;
  }
  if (complex) {
    v.unsupported = `${at} is a complex ${cls} array, which this reader does not support: ${HINT}`;
    return v;
  }
  const realEl = readElement(body, nameEl.next, at);
  if (cls === "char") {
    v.text = n === 0 ? [] : decodeChars(realEl, dims, at);
    return v;
  }
  const stored = storageArray(realEl, at);
  if (stored.length !== n) {
    throw new Error(`${at}: holds ${stored.length} values but its shape [${dims}] needs ${n}`);
  }
  v.data = columnToRowMajor(toMatClass(stored, cls as MatNumericClass, { source: at }), dims);
  return v;
}

/** Options of {@link decodeMatV5}. */
export interface MatV5Options {
  /** Name used in error messages (e.g. the file path). */
  source?: string;
}

/**
 * Decode the bytes of a MAT v5 file (v6/v7, compressed or not) into its variables, by name.
 * Unsupported variables are listed with {@link MatVariable.unsupported} set.
 */
export function decodeMatV5(
  bytes: Uint8Array,
  options: MatV5Options = {},
): Map<string, MatVariable> {
  const where = options.source ?? "MAT file";
  if (bytes.length < 128) throw new Error(`${where}: too short to be a MAT file`);
  const headerText = new TextDecoder("latin1").decode(bytes.subarray(0, 116));
  if (headerText.startsWith("MATLAB 7.3") || isHdf5(bytes)) {
    throw new Error(
      `${where}: is a MAT v7.3 (HDF5) file; read it with format 'mat73' (readMatV73)`,
    );
  }
  const endian = String.fromCharCode(bytes[126], bytes[127]);
  if (endian === "MI") {
    throw new Error(`${where}: big-endian MAT file; re-save it on a little-endian machine`);
  }
  if (endian !== "IM" || !headerText.startsWith("MATLAB")) {
    throw new Error(
      `${where}: not a MAT v5 file (MAT v4 and other formats are not supported; ` +
        `re-save with save(file, ..., '-v7'))`,
    );
  }
  const out = new Map<string, MatVariable>();
  let offset = 128;
  while (offset + 8 <= bytes.length) {
    const el = readElement(bytes, offset, where);
    offset = el.next;
    let matrix: Element = el;
    if (el.type === MI_COMPRESSED) {
      let inflated: Uint8Array;
      try {
        inflated = inflateSync(el.body);
      } catch (e) {
        throw new Error(`${where}: corrupt compressed variable: ${(e as Error).message}`);
      }
      matrix = readElement(inflated, 0, where);
    }
    if (matrix.type !== MI_MATRIX) continue; // other top-level elements carry no variables
    if (matrix.body.length === 0) continue; // an empty miMATRIX (e.g. an empty cell entry)
    const v = parseMatrix(matrix.body, where, null, 0);
    out.set(v.name, v);
  }
  return out;
}

function isHdf5(bytes: Uint8Array): boolean {
  const sig = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
  for (const off of [0, 512]) {
    if (bytes.length >= off + 8 && sig.every((b, i) => bytes[off + i] === b)) return true;
  }
  return false;
}

/** Read a MAT v5 file from disk; see {@link decodeMatV5}. */
export async function readMatV5(path: string): Promise<Map<string, MatVariable>> {
  return decodeMatV5(await Deno.readFile(path), { source: path });
}

/**
 * Get one variable's values, throwing a clear error when it is missing or unsupported.
 * @param vars the decoded file
 * @param name the variable name
 */
export function matVariable(
  vars: ReadonlyMap<string, MatVariable>,
  name: string,
  options: { source?: string } = {},
): MatVariable {
  const v = vars.get(name);
  const where = options.source ?? "MAT file";
  if (!v) {
    throw new Error(
      `${where}: no variable '${name}'; it holds: ${[...vars.keys()].join(", ") || "(none)"}`,
    );
  }
  if (v.unsupported) throw new Error(v.unsupported);
  return v;
}

/**
 * A value inside a file by path: `name`, `s.field`, `s.a.b` (nested structs), `s(2).field` (one
 * element of a struct array, 1-based as in MATLAB), `c{3}` (one cell). `/` separates like `.`
 * (HDF5 style: `data/I_tr`). A name the file holds verbatim wins over a path. Throws, naming what
 * is there, when a step does not exist.
 * @param vars the decoded file
 * @param path the path
 */
export function matPath(
  vars: ReadonlyMap<string, MatVariable>,
  path: string,
  options: { source?: string } = {},
): MatVariable {
  if (vars.has(path)) return matVariable(vars, path, options);
  const where = options.source ?? "MAT file";
  const steps = path.split(/[./]/);
  const parsed = steps.map((st) => /^([^()[\]{}]+)(?:\((\d+)\)|\{(\d+)\})?$/.exec(st));
  const bad = parsed.findIndex((m) => !m);
  if (bad >= 0) {
    throw new Error(
      `${where}: cannot read the path '${path}' at '${steps[bad]}'; write fields as ` +
        `'s.field', elements as 's(2).field', cells as 'c{2}'`,
    );
  }
  let cur: MatVariable | undefined;
  let at = "";
  for (const m of parsed as RegExpExecArray[]) {
    const [, name, paren, brace] = m;
    if (!cur) {
      cur = matVariable(vars, name, options);
      at = name;
    } else {
      if (cur.class !== "struct" || !cur.records) {
        throw new Error(
          `${where}: '${at}' is a ${cur.shape.join("×")} ${cur.class} array, not a struct; ` +
            `it has no field '${name}'`,
        );
      }
      if (cur.records.length !== 1) {
        throw new Error(
          `${where}: '${at}' is a ${cur.shape.join("×")} struct array; name one element, ` +
            `e.g. '${at}(1).${name}'`,
        );
      }
      cur = matField(cur.records[0], name, { source: `${where}: '${at}'` });
      at = `${at}.${name}`;
    }
    if (paren !== undefined) {
      const i = Number(paren);
      if (cur.class !== "struct" || !cur.records) {
        throw new Error(`${where}: '${at}' is a ${cur.class} array; '(${i})' indexes structs only`);
      }
      if (i < 1 || i > cur.records.length) {
        throw new Error(`${where}: '${at}' has ${cur.records.length} elements; no '(${i})'`);
      }
      const rec = cur.records[i - 1];
      cur = {
        name: cur.name,
        class: "struct",
        shape: [1, 1],
        fields: cur.fields,
        records: [rec],
      };
      at = `${at}(${i})`;
    }
    if (brace !== undefined) {
      const i = Number(brace);
      if (!cur.cells) throw new Error(`${where}: '${at}' is a ${cur.class} array, not a cell`);
      if (i < 1 || i > cur.cells.length) {
        throw new Error(`${where}: '${at}' has ${cur.cells.length} cells; no '{${i}}'`);
      }
      cur = cur.cells[i - 1];
      at = `${at}{${i}}`;
      if (cur.unsupported) throw new Error(cur.unsupported);
    }
  }
  return { ...cur!, name: path };
}

/**
 * One field of one struct record, throwing a clear error when the field is absent or unsupported.
 * @param record a record of {@link MatVariable.records}
 * @param field the field name
 */
export function matField(
  record: ReadonlyMap<string, MatVariable>,
  field: string,
  options: { source?: string } = {},
): MatVariable {
  const v = record.get(field);
  if (!v) {
    throw new Error(
      `${options.source ?? "MAT struct"}: no field '${field}'; it has: ` +
        `${[...record.keys()].join(", ") || "(none)"}`,
    );
  }
  if (v.unsupported) throw new Error(v.unsupported);
  return v;
}

/** A cell array of numeric vectors of one length as a matrix with one row per cell, else null. */
function stackCells(v: MatVariable): Matrix | null {
  const cells = v.cells ?? [];
  if (cells.length === 0) return null;
  const len = cells[0].data?.length ?? -1;
  if (len <= 0) return null;
  for (const c of cells) {
    if (!c.data || c.data.length !== len || c.shape.filter((d) => d !== 1).length > 1) return null;
  }
  const data = new Float64Array(cells.length * len);
  cells.forEach((c, i) => {
    for (let j = 0; j < len; j++) data[i * len + j] = Number(c.data![j]);
  });
  return { rows: cells.length, cols: len, data };
}

/**
 * A numeric variable as a float64 {@link Matrix}, rows = MATLAB rows. A row or column vector gives
 * a 1-row or 1-column matrix. Throws for N-D, char, unsupported variables, and int64 values beyond
 * ±2^53 (not exact as float64).
 */
export function matToMatrix(v: MatVariable, options: { source?: string } = {}): Matrix {
  const where = `${options.source ?? "MAT file"}: variable '${v.name}'`;
  if (v.unsupported) throw new Error(v.unsupported);
  if (!v.data && v.class === "cell" && v.cells) {
    const stacked = stackCells(v);
    if (stacked) return stacked;
  }
  if (!v.data) {
    const how = v.class === "struct"
      ? `: it has the fields ${(v.fields ?? []).join(", ") || "(none)"}; name one by path, ` +
        `e.g. '${v.name}.${v.fields?.[0] ?? "field"}'${
          (v.records?.length ?? 0) > 1 ? ` (a struct array: '${v.name}(1).field')` : ""
        }`
      : v.class === "cell"
      ? ": a cell array is read as a matrix only when every cell is a numeric vector of the same " +
        `length (one row per cell); name one cell as '${v.name}{1}'`
      : "";
    throw new Error(`${where} is a ${v.class} array, not numeric${how}`);
  }
  const dims = v.shape.length > 2 && v.shape.slice(2).every((d) => d === 1)
    ? v.shape.slice(0, 2)
    : v.shape;
  if (dims.length !== 2) throw new Error(`${where} has shape [${v.shape}]; expected a 2-D matrix`);
  const data = new Float64Array(v.data.length);
  for (let i = 0; i < data.length; i++) {
    const x = v.data[i];
    if (typeof x === "bigint") {
      if (x > 9007199254740992n || x < -9007199254740992n) {
        throw new Error(`${where}: int64 value ${x} is not exact as float64`);
      }
      data[i] = Number(x);
    } else data[i] = x;
  }
  return { rows: dims[0], cols: dims[1], data };
}
