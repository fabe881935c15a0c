/**
 * A small MAT v5 writer for test fixtures: double matrices, char rows and struct arrays (1×n),
 * uncompressed, in the layout MATLAB's `save -v6` writes. Enough to generate Hwang's Pascal
 * `train.mat`/`test.mat` form; the reader (`stages/tensor_io/mat_v5.ts`) is tested against files
 * written by scipy, and this writer against the reader.
 * @module
 */

/** A value to write: a double matrix, a string (1×n char) or a struct array. */
export type MatValue =
  | { kind: "double"; rows: number; cols: number; data: ArrayLike<number> }
  | { kind: "char"; text: string }
  | { kind: "struct"; fields: string[]; records: Record<string, MatValue>[] };

/** A 1×n double row vector. */
export function matRow(values: ArrayLike<number>): MatValue {
  return { kind: "double", rows: 1, cols: values.length, data: values };
}

/** A 1×n char array. */
export function matText(text: string): MatValue {
  return { kind: "char", text };
}

/** A 1×n struct array; every record must have every field. */
export function matStruct(fields: string[], records: Record<string, MatValue>[]): MatValue {
  return { kind: "struct", fields, records };
}

const MI_INT8 = 1, MI_INT32 = 5, MI_UINT32 = 6, MI_DOUBLE = 9, MI_MATRIX = 14, MI_UTF16 = 17;

/** One MAT v5 data element: an 8-byte tag (type, byte count), then `body` padded to 8 bytes. */
export function matElement(type: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + Math.ceil(body.length / 8) * 8);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, type, true);
  dv.setUint32(4, body.length, true);
  out.set(body, 8);
  return out;
}

/** The parts, one after the other. */
export function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function i32(xs: number[]): Uint8Array {
  return new Uint8Array(new Int32Array(xs).buffer);
}

function matrix(name: string, v: MatValue): Uint8Array {
  const nameEl = matElement(MI_INT8, new TextEncoder().encode(name));
  const flags = (cls: number) =>
    matElement(MI_UINT32, new Uint8Array(new Uint32Array([cls, 0]).buffer));
  let parts: Uint8Array[];
  if (v.kind === "double") {
    // column-major values
    const col = new Float64Array(v.rows * v.cols);
    for (let i = 0; i < v.rows; i++) {
      for (let j = 0; j < v.cols; j++) col[j * v.rows + i] = v.data[i * v.cols + j];
    }
    parts = [
      flags(6),
      matElement(MI_INT32, i32([v.rows, v.cols])),
      nameEl,
      matElement(MI_DOUBLE, new Uint8Array(col.buffer)),
    ];
  } else if (v.kind === "char") {
    const codes = new Uint16Array(Array.from(v.text, (c) => c.charCodeAt(0)));
    parts = [
      flags(4),
      matElement(MI_INT32, i32([1, codes.length])),
      nameEl,
      matElement(MI_UTF16, new Uint8Array(codes.buffer)),
    ];
  } else {
    const len = 32;
    const names = new Uint8Array(len * v.fields.length);
    v.fields.forEach((f, k) =>
      names.set(new TextEncoder().encode(f).subarray(0, len - 1), k * len)
    );
    parts = [
      flags(2),
      matElement(MI_INT32, i32([1, v.records.length])),
      nameEl,
      matElement(MI_INT32, i32([len])),
      matElement(MI_INT8, names),
    ];
    for (const rec of v.records) {
      for (const f of v.fields) {
        const x = rec[f];
        if (x === undefined) throw new Error(`matStruct: a record lacks field '${f}'`);
        parts.push(matrix("", x));
      }
    }
  }
  return matElement(MI_MATRIX, concatBytes(parts));
}

/** The bytes of a MAT v5 file holding `vars` (name → value), uncompressed. */
export function encodeMat(vars: Record<string, MatValue>): Uint8Array {
  const header = new Uint8Array(128).fill(0x20);
  header.set(
    new TextEncoder().encode("MATLAB 5.0 MAT-file, written by tests/helpers/mat_writer.ts"),
  );
  header.fill(0, 116, 124); // no subsystem data
  header.set([0x00, 0x01, 0x49, 0x4d], 124); // version 0x0100, "IM"
  return concatBytes([header, ...Object.entries(vars).map(([n, v]) => matrix(n, v))]);
}
