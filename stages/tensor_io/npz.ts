/**
 * `.npz` reader (numpy's `savez` / `savez_compressed`): a zip archive of `.npy` members, stored or
 * deflated. Only the zip central directory and the named member are read.
 * @module
 */
import { inflateRawSync } from "node:zlib";
import { decodeNpy, type NpyArray } from "./npy.ts";

interface Member {
  name: string;
  method: number;
  compressed: number;
  offset: number;
}

function members(bytes: Uint8Array, source: string): Member[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 65535); i--) {
    if (dv.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${source}: not an .npz (zip) file: no end of central directory`);
  const count = dv.getUint16(eocd + 10, true);
  let off = dv.getUint32(eocd + 16, true);
  if (off === 0xffffffff || count === 0xffff) {
    throw new Error(
      `${source}: a ZIP64 .npz (over 4 GB) is not supported; save the arrays as .npy`,
    );
  }
  const out: Member[] = [];
  for (let k = 0; k < count; k++) {
    if (dv.getUint32(off, true) !== 0x02014b50) {
      throw new Error(`${source}: corrupt .npz central directory (entry ${k + 1})`);
    }
    const nameLen = dv.getUint16(off + 28, true);
    const extraLen = dv.getUint16(off + 30, true);
    const commentLen = dv.getUint16(off + 32, true);
    out.push({
      name: new TextDecoder().decode(bytes.subarray(off + 46, off + 46 + nameLen)),
      method: dv.getUint16(off + 10, true),
      compressed: dv.getUint32(off + 20, true),
      offset: dv.getUint32(off + 42, true),
    });
    off += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

/** The names of the arrays in `.npz` bytes (member names without `.npy`). */
export function npzNames(bytes: Uint8Array, options: { source?: string } = {}): string[] {
  return members(bytes, options.source ?? ".npz").map((m) => m.name.replace(/\.npy$/, ""));
}

/** One array of `.npz` bytes by name (`x` or `x.npy`); throws listing the names when absent. */
export function decodeNpzArray(
  bytes: Uint8Array,
  name: string,
  options: { source?: string } = {},
): NpyArray {
  const source = options.source ?? ".npz";
  const all = members(bytes, source);
  const m = all.find((e) => e.name === name || e.name === `${name}.npy`);
  if (!m) {
    throw new Error(
      `${source}: no array '${name}'; it holds: ${
        all.map((e) => e.name.replace(/\.npy$/, "")).join(", ") || "(none)"
      }`,
    );
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(m.offset, true) !== 0x04034b50) {
    throw new Error(`${source}: corrupt .npz member '${m.name}'`);
  }
  const start = m.offset + 30 + dv.getUint16(m.offset + 26, true) +
    dv.getUint16(m.offset + 28, true);
  const raw = bytes.subarray(start, start + m.compressed);
  let data: Uint8Array;
  if (m.method === 0) data = raw;
  else if (m.method === 8) data = new Uint8Array(inflateRawSync(raw));
  else throw new Error(`${source}: member '${m.name}' uses zip method ${m.method}; re-save it`);
  return decodeNpy(data);
}

/** Read one array of an `.npz` file. */
export async function readNpzArray(path: string, name: string): Promise<NpyArray> {
  return decodeNpzArray(await Deno.readFile(path), name, { source: path });
}
