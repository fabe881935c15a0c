/**
 * Safe extraction of tar, tar.gz and zip archives, and the `extract` stage kind.
 *
 * Every entry of every archive is read and validated before anything is written: an entry whose
 * path is absolute or holds `..`, a link that points outside the target directory, a path that
 * goes through a link of the archive, or a file that would overwrite a link, makes the whole
 * extraction fail with {@link UnsafeArchiveError} and leaves the target untouched.
 *
 * The parsers are written here (ustar, GNU long names, pax headers; zip with zip64), with gzip and
 * deflate from the web-standard `DecompressionStream`, so no npm dependency is needed.
 * @module
 */
import type { ParamsOf } from "../../pipeline/types.ts";
import { defineKind, typedParam } from "../util/kind.ts";

/** Archive formats this module reads. */
export type ArchiveFormat = "tar" | "tar.gz" | "zip";

/** One entry of an archive, as listed before extraction. */
export interface ArchiveEntry {
  /** Path inside the archive, `/`-separated, without a leading `./`. */
  name: string;
  /** What the entry creates. `other` (devices, fifos) is skipped on extraction. */
  type: "file" | "dir" | "symlink" | "hardlink" | "other";
  /** Size in bytes of the stored content (uncompressed). */
  size: number;
  /** Link target for `symlink` and `hardlink`. */
  linkname?: string;
  /** Unix permission bits, when the archive records them. */
  mode?: number;
}

/** Thrown when an archive holds entries that would write outside the target. Nothing is written. */
export class UnsafeArchiveError extends Error {
  /** One line per refused entry. */
  readonly problems: string[];
  /** Build the error from its problems. */
  constructor(archive: string, problems: string[]) {
    const shown = problems.slice(0, 10).join("\n  ");
    const more = problems.length > 10 ? `\n  ... and ${problems.length - 10} more` : "";
    super(
      `refusing to extract ${archive}: ${problems.length} unsafe entr${
        problems.length === 1 ? "y" : "ies"
      }; nothing was extracted. Check the archive's origin (checksum) before trusting it.\n  ${shown}${more}`,
    );
    this.name = "UnsafeArchiveError";
    this.problems = problems;
  }
}

/** Result of {@link extractArchive}. */
export interface ExtractResult {
  /** Number of regular files written (hard links count as files). */
  files: number;
  /** Directories created from explicit entries. */
  dirs: number;
  /** Symbolic links created. */
  symlinks: number;
  /** Bytes of file content written. */
  bytes: number;
  /** Entries skipped (devices, fifos), by name. */
  skipped: string[];
}

/** Guess an archive's format from its first bytes, falling back to its file name. */
export async function detectFormat(path: string): Promise<ArchiveFormat> {
  const f = await Deno.open(path, { read: true });
  try {
    const head = new Uint8Array(512);
    let n = 0;
    while (n < 512) {
      const r = await f.read(head.subarray(n));
      if (r === null) break;
      n += r;
    }
    if (n >= 2 && head[0] === 0x1f && head[1] === 0x8b) return "tar.gz";
    if (n >= 4 && head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5)) {
      return "zip";
    }
    if (n >= 262 && new TextDecoder().decode(head.subarray(257, 262)) === "ustar") return "tar";
    if (n === 512 && tarChecksumOk(head)) return "tar";
  } finally {
    f.close();
  }
  const lower = path.toLowerCase();
  if (lower.endsWith(".tar.gz") || lower.endsWith(".tgz")) return "tar.gz";
  if (lower.endsWith(".tar")) return "tar";
  if (lower.endsWith(".zip")) return "zip";
  throw new Error(
    `${path}: not a tar, tar.gz or zip archive (unknown magic bytes and extension); ` +
      `pass format explicitly or check that the download is complete`,
  );
}

/** List the entries of an archive without extracting anything. */
export async function listArchive(
  path: string,
  options: { format?: ArchiveFormat } = {},
): Promise<ArchiveEntry[]> {
  const format = options.format ?? await detectFormat(path);
  const entries: ArchiveEntry[] = [];
  if (format === "zip") {
    for (const e of await readZipDirectory(path)) entries.push(e.entry);
  } else {
    await walkTar(await openTarStream(path, format), path, (e) => {
      entries.push(e);
      return Promise.resolve(null);
    });
  }
  return entries;
}

/**
 * Check entries for paths that would escape the target. Returns the problems (empty if safe).
 * `strip` drops that many leading path components first, as `tar --strip-components` does.
 */
export function checkEntries(entries: ArchiveEntry[], options: { strip?: number } = {}): string[] {
  const problems: string[] = [];
  const strip = options.strip ?? 0;
  const kinds = new Map<string, ArchiveEntry["type"]>();
  const links = new Set<string>();
  const normalised: { e: ArchiveEntry; rel: string[] | null }[] = [];
  for (const e of entries) {
    const parts = safeParts(e.name, problems, "path");
    if (parts === null) {
      normalised.push({ e, rel: null });
      continue;
    }
    const rel = parts.slice(strip);
    normalised.push({ e, rel: rel.length === 0 ? null : rel });
    if (rel.length === 0) continue;
    const key = rel.join("/");
    const prev = kinds.get(key);
    if (prev === "symlink" || (prev !== undefined && e.type === "symlink" && prev !== "dir")) {
      problems.push(`${e.name}: would overwrite a link of the same name`);
    }
    if (prev === undefined || e.type !== "dir") kinds.set(key, e.type);
    if (e.type === "symlink") links.add(key);
  }
  for (const { e, rel } of normalised) {
    if (rel === null) continue;
    for (let i = 1; i < rel.length; i++) {
      const parent = rel.slice(0, i).join("/");
      if (links.has(parent)) {
        problems.push(`${e.name}: goes through the link ${parent}; links may not be used as dirs`);
        break;
      }
    }
    if (e.type === "symlink") {
      const target = e.linkname ?? "";
      if (target === "" || target.startsWith("/") || /^[A-Za-z]:[\\/]/.test(target)) {
        problems.push(`${e.name}: link target ${JSON.stringify(target)} is absolute or empty`);
        continue;
      }
      const resolved = rel.slice(0, -1);
      let escaped = false;
      const segs = target.split(/[\\/]/);
      for (let i = 0; i < segs.length; i++) {
        const s = segs[i];
        if (s === "" || s === ".") continue;
        if (s === "..") {
          if (resolved.length === 0) {
            escaped = true;
            break;
          }
          resolved.pop();
        } else {
          resolved.push(s);
          if (i < segs.length - 1 && links.has(resolved.join("/"))) {
            problems.push(`${e.name}: link target ${target} goes through another link`);
            escaped = false;
            resolved.length = 0;
            break;
          }
        }
      }
      if (escaped) {
        problems.push(`${e.name}: link target ${target} points outside the target directory`);
      }
    } else if (e.type === "hardlink") {
      const tparts = safeParts(e.linkname ?? "", problems, `hard link target of ${e.name}`);
      if (tparts === null) continue;
      const tkey = tparts.slice(strip).join("/");
      if (kinds.get(tkey) !== "file" && kinds.get(tkey) !== "hardlink") {
        problems.push(`${e.name}: hard link target ${e.linkname} is not a file of this archive`);
      }
    }
  }
  return problems;
}

function safeParts(name: string, problems: string[], what: string): string[] | null {
  if (name.includes("\0")) {
    problems.push(`${JSON.stringify(name)}: ${what} holds a NUL byte`);
    return null;
  }
  if (name.startsWith("/") || name.startsWith("\\") || /^[A-Za-z]:/.test(name)) {
    problems.push(`${name}: ${what} is absolute`);
    return null;
  }
  const parts = name.split(/[\\/]/).filter((s) => s !== "" && s !== ".");
  if (parts.includes("..")) {
    problems.push(`${name}: ${what} holds '..'`);
    return null;
  }
  return parts;
}

/**
 * Extract `archive` into `dest` (created if missing; must be empty or new). All entries are
 * validated first; an unsafe one throws {@link UnsafeArchiveError} before anything is written.
 */
export async function extractArchive(
  archive: string,
  dest: string,
  options: { format?: ArchiveFormat; strip?: number } = {},
): Promise<ExtractResult> {
  return await extractArchives([archive], dest, options);
}

/**
 * Extract several archives into one `dest`, validating all of them (together: a link in one may
 * not be used by another) before writing anything.
 */
export async function extractArchives(
  archives: string[],
  dest: string,
  options: { format?: ArchiveFormat; strip?: number; signal?: AbortSignal } = {},
): Promise<ExtractResult> {
  const strip = options.strip ?? 0;
  const formats: ArchiveFormat[] = [];
  const all: ArchiveEntry[] = [];
  const problems: string[] = [];
  for (const a of archives) {
    const format = options.format ?? await detectFormat(a);
    formats.push(format);
    const entries = await listArchive(a, { format });
    const own = checkEntries(entries, { strip });
    problems.push(...own.map((p) => `${basename(a)}: ${p}`));
    all.push(...entries);
  }
  if (problems.length === 0 && archives.length > 1) {
    problems.push(...checkEntries(all, { strip }).map((p) => `across archives: ${p}`));
  }
  if (problems.length > 0) throw new UnsafeArchiveError(archives.join(", "), problems);
  await Deno.mkdir(dest, { recursive: true });
  for await (const _ of Deno.readDir(dest)) {
    throw new Error(`extract: target ${dest} is not empty; extract into a new directory`);
  }
  const result: ExtractResult = { files: 0, dirs: 0, symlinks: 0, bytes: 0, skipped: [] };
  for (let i = 0; i < archives.length; i++) {
    options.signal?.throwIfAborted();
    if (formats[i] === "zip") await extractZip(archives[i], dest, strip, result);
    else await extractTar(archives[i], formats[i], dest, strip, result);
  }
  return result;
}

function basename(p: string): string {
  return p.replace(/[\\/]+$/, "").split(/[\\/]/).pop() ?? p;
}

function target(dest: string, name: string, strip: number): string | null {
  const parts = name.split(/[\\/]/).filter((s) => s !== "" && s !== ".").slice(strip);
  if (parts.length === 0) return null;
  return `${dest}/${parts.join("/")}`;
}

function parentOf(p: string): string {
  return p.slice(0, p.lastIndexOf("/"));
}

// ---------------------------------------------------------------------------------------------
// Byte reader over a stream

class StreamReader {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #buf: Uint8Array = new Uint8Array(0);
  #pos = 0;
  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }
  async #fill(): Promise<boolean> {
    const r = await this.#reader.read();
    if (r.done) return false;
    const rest = this.#buf.subarray(this.#pos);
    const next = new Uint8Array(rest.length + r.value.length);
    next.set(rest, 0);
    next.set(r.value, rest.length);
    this.#buf = next;
    this.#pos = 0;
    return true;
  }
  /** Exactly n bytes, or null at a clean end of stream (0 bytes left). */
  async read(n: number): Promise<Uint8Array | null> {
    while (this.#buf.length - this.#pos < n) {
      if (!(await this.#fill())) {
        if (this.#buf.length - this.#pos === 0) return null;
        throw new Error("truncated archive: stream ended inside an entry");
      }
    }
    const out = this.#buf.slice(this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }
  /** Pass n bytes in chunks to `sink` (null skips them). */
  async forward(n: number, sink: ((chunk: Uint8Array) => Promise<void>) | null): Promise<void> {
    let left = n;
    while (left > 0) {
      if (this.#buf.length - this.#pos === 0) {
        const r = await this.#reader.read();
        if (r.done) throw new Error("truncated archive: stream ended inside an entry");
        this.#buf = r.value;
        this.#pos = 0;
      }
      const take = Math.min(left, this.#buf.length - this.#pos);
      if (sink) await sink(this.#buf.subarray(this.#pos, this.#pos + take));
      this.#pos += take;
      left -= take;
    }
  }
  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------
// tar

async function openTarStream(
  path: string,
  format: ArchiveFormat,
): Promise<ReadableStream<Uint8Array>> {
  const f = await Deno.open(path, { read: true });
  let s: ReadableStream<Uint8Array> = f.readable;
  if (format === "tar.gz") {
    s = s.pipeThrough(new DecompressionStream("gzip") as TransformStream<Uint8Array, Uint8Array>);
  }
  return s;
}

function tarChecksumOk(h: Uint8Array): boolean {
  const stored = parseOctal(h.subarray(148, 156));
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i];
  return stored === sum;
}

function parseOctal(b: Uint8Array): number {
  if (b[0] & 0x80) {
    // GNU base-256: big-endian, high bit of the first byte is the marker.
    let v = b[0] & 0x7f;
    for (let i = 1; i < b.length; i++) v = v * 256 + b[i];
    return v;
  }
  const s = cstr(b).trim();
  if (s === "") return 0;
  if (!/^[0-7]+$/.test(s)) {
    throw new Error(`corrupt tar header: bad octal field ${JSON.stringify(s)}`);
  }
  return parseInt(s, 8);
}

function cstr(b: Uint8Array): string {
  const z = b.indexOf(0);
  return new TextDecoder().decode(z < 0 ? b : b.subarray(0, z));
}

function parsePax(data: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < data.length) {
    const sp = data.indexOf(0x20, pos);
    if (sp < 0) break;
    const len = parseInt(new TextDecoder().decode(data.subarray(pos, sp)), 10);
    if (!(len > 0)) throw new Error("corrupt pax header: bad record length");
    const rec = new TextDecoder().decode(data.subarray(sp + 1, pos + len - 1));
    const eq = rec.indexOf("=");
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    pos += len;
  }
  return out;
}

/** Walk a tar stream; `onEntry` returns a sink for a file's content, or null to skip it. */
async function walkTar(
  stream: ReadableStream<Uint8Array>,
  label: string,
  onEntry: (e: ArchiveEntry) => Promise<((chunk: Uint8Array) => Promise<void>) | null>,
  onEntryEnd?: (e: ArchiveEntry) => Promise<void>,
): Promise<void> {
  const r = new StreamReader(stream);
  let longName: string | null = null;
  let longLink: string | null = null;
  let pax: Record<string, string> = {};
  let global: Record<string, string> = {};
  try {
    while (true) {
      const h = await r.read(512);
      if (h === null || h.every((x) => x === 0)) break;
      if (!tarChecksumOk(h)) {
        throw new Error(`${label}: corrupt tar header (checksum mismatch); is the file complete?`);
      }
      const flag = String.fromCharCode(h[156] || 0x30);
      let size = parseOctal(h.subarray(124, 136));
      const padded = Math.ceil(size / 512) * 512;
      if (flag === "L" || flag === "K" || flag === "x" || flag === "g") {
        const data = (await r.read(padded)) ?? new Uint8Array(0);
        const body = data.subarray(0, size);
        if (flag === "L") longName = cstr(body);
        else if (flag === "K") longLink = cstr(body);
        else if (flag === "x") pax = parsePax(body);
        else global = { ...global, ...parsePax(body) };
        continue;
      }
      const magic = new TextDecoder().decode(h.subarray(257, 263));
      const prefix = magic.startsWith("ustar") ? cstr(h.subarray(345, 500)) : "";
      let name = cstr(h.subarray(0, 100));
      if (prefix !== "") name = `${prefix}/${name}`;
      const attrs = { ...global, ...pax };
      if (longName !== null) name = longName;
      if (attrs.path !== undefined) name = attrs.path;
      let linkname = cstr(h.subarray(157, 257));
      if (longLink !== null) linkname = longLink;
      if (attrs.linkpath !== undefined) linkname = attrs.linkpath;
      if (attrs.size !== undefined) size = parseInt(attrs.size, 10);
      longName = longLink = null;
      pax = {};
      const type: ArchiveEntry["type"] = flag === "0" || flag === "7"
        ? (name.endsWith("/") ? "dir" : "file")
        : flag === "5"
        ? "dir"
        : flag === "2"
        ? "symlink"
        : flag === "1"
        ? "hardlink"
        : "other";
      const clean = name.replace(/^(\.\/)+/, "");
      const e: ArchiveEntry = {
        name: clean,
        type,
        size: type === "file" ? size : 0,
        mode: parseOctal(h.subarray(100, 108)) & 0o777,
      };
      if (type === "symlink" || type === "hardlink") e.linkname = linkname.replace(/^(\.\/)+/, "");
      const sink = await onEntry(e);
      const contentBytes = type === "file" || type === "other" ? size : 0;
      const contentPadded = Math.ceil(contentBytes / 512) * 512;
      await r.forward(contentBytes, sink);
      await r.forward(contentPadded - contentBytes, null);
      if (onEntryEnd) await onEntryEnd(e);
    }
  } finally {
    await r.cancel();
  }
}

async function extractTar(
  archive: string,
  format: ArchiveFormat,
  dest: string,
  strip: number,
  result: ExtractResult,
): Promise<void> {
  let file: Deno.FsFile | null = null;
  await walkTar(await openTarStream(archive, format), archive, async (e) => {
    const out = target(dest, e.name, strip);
    if (out === null) return null;
    if (e.type === "dir") {
      await Deno.mkdir(out, { recursive: true });
      result.dirs++;
      return null;
    }
    if (e.type === "other") {
      result.skipped.push(e.name);
      return null;
    }
    await Deno.mkdir(parentOf(out), { recursive: true });
    if (e.type === "symlink") {
      await Deno.symlink(e.linkname!, out);
      result.symlinks++;
      return null;
    }
    if (e.type === "hardlink") {
      await Deno.copyFile(target(dest, e.linkname!, strip)!, out);
      result.files++;
      return null;
    }
    file = await Deno.open(out, { write: true, create: true, truncate: true });
    result.files++;
    const f = file;
    return async (chunk: Uint8Array) => {
      let off = 0;
      while (off < chunk.length) off += await f.write(chunk.subarray(off));
      result.bytes += chunk.length;
    };
  }, async (e) => {
    if (file !== null) {
      (file as Deno.FsFile).close();
      file = null;
      const out = target(dest, e.name, strip);
      if (out && e.mode) await Deno.chmod(out, (e.mode & 0o777) | 0o600).catch(() => {});
    }
  });
}

// ---------------------------------------------------------------------------------------------
// zip

interface ZipRecord {
  entry: ArchiveEntry;
  method: number;
  crc: number;
  compressedSize: number;
  localOffset: number;
}

async function readAt(f: Deno.FsFile, offset: number, n: number): Promise<Uint8Array> {
  await f.seek(offset, Deno.SeekMode.Start);
  const buf = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const r = await f.read(buf.subarray(got));
    if (r === null) throw new Error("truncated zip: unexpected end of file");
    got += r;
  }
  return buf;
}

async function readZipDirectory(path: string): Promise<ZipRecord[]> {
  const f = await Deno.open(path, { read: true });
  try {
    const size = (await f.stat()).size;
    const tailLen = Math.min(size, 65557);
    const tail = await readAt(f, size - tailLen, tailLen);
    let eocd = -1;
    for (let i = tail.length - 22; i >= 0; i--) {
      if (tail[i] === 0x50 && tail[i + 1] === 0x4b && tail[i + 2] === 5 && tail[i + 3] === 6) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) {
      throw new Error(
        `${path}: not a zip file (no end-of-central-directory record); is it complete?`,
      );
    }
    const dv = new DataView(tail.buffer, tail.byteOffset + eocd);
    let count = dv.getUint16(10, true);
    let cdSize = dv.getUint32(12, true);
    let cdOffset = dv.getUint32(16, true);
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      const locPos = size - tailLen + eocd - 20;
      const loc = new DataView((await readAt(f, locPos, 20)).buffer);
      if (loc.getUint32(0, true) !== 0x07064b50) throw new Error(`${path}: corrupt zip64 locator`);
      const z64 = new DataView((await readAt(f, Number(loc.getBigUint64(8, true)), 56)).buffer);
      if (z64.getUint32(0, true) !== 0x06064b50) throw new Error(`${path}: corrupt zip64 record`);
      count = Number(z64.getBigUint64(32, true));
      cdSize = Number(z64.getBigUint64(40, true));
      cdOffset = Number(z64.getBigUint64(48, true));
    }
    const cd = await readAt(f, cdOffset, cdSize);
    const v = new DataView(cd.buffer);
    const out: ZipRecord[] = [];
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (v.getUint32(p, true) !== 0x02014b50) {
        throw new Error(`${path}: corrupt zip central directory at entry ${i}`);
      }
      const madeBy = v.getUint16(p + 4, true) >> 8;
      const flags = v.getUint16(p + 8, true);
      const method = v.getUint16(p + 10, true);
      const crc = v.getUint32(p + 16, true);
      let compressedSize = v.getUint32(p + 20, true);
      let uncompressedSize = v.getUint32(p + 24, true);
      const nameLen = v.getUint16(p + 28, true);
      const extraLen = v.getUint16(p + 30, true);
      const commentLen = v.getUint16(p + 32, true);
      const external = v.getUint32(p + 38, true);
      let localOffset = v.getUint32(p + 42, true);
      const nameBytes = cd.subarray(p + 46, p + 46 + nameLen);
      const name = (flags & 0x800) ? new TextDecoder().decode(nameBytes) : latin1OrUtf8(nameBytes);
      let q = p + 46 + nameLen;
      const extraEnd = q + extraLen;
      while (q + 4 <= extraEnd) {
        const id = v.getUint16(q, true);
        const len = v.getUint16(q + 2, true);
        if (id === 0x0001) {
          let r = q + 4;
          if (uncompressedSize === 0xffffffff) {
            uncompressedSize = Number(v.getBigUint64(r, true));
            r += 8;
          }
          if (compressedSize === 0xffffffff) {
            compressedSize = Number(v.getBigUint64(r, true));
            r += 8;
          }
          if (localOffset === 0xffffffff) localOffset = Number(v.getBigUint64(r, true));
        }
        q += 4 + len;
      }
      p = extraEnd + commentLen;
      if (flags & 1) {
        throw new Error(`${path}: entry ${name} is encrypted; encrypted zips are not supported`);
      }
      const unixMode = madeBy === 3 ? external >>> 16 : 0;
      const isLink = (unixMode & 0o170000) === 0o120000;
      const isDir = name.endsWith("/") || (unixMode & 0o170000) === 0o040000 ||
        (external & 0x10) !== 0;
      const entry: ArchiveEntry = {
        name: name.replace(/^(\.\/)+/, ""),
        type: isLink ? "symlink" : isDir ? "dir" : "file",
        size: isDir ? 0 : uncompressedSize,
      };
      if (unixMode) entry.mode = unixMode & 0o777;
      if (isLink) {
        if (compressedSize > 4096) throw new Error(`${path}: link entry ${name} is too large`);
        entry.linkname = new TextDecoder().decode(
          await zipContent(f, { entry, method, crc, compressedSize, localOffset }),
        );
      }
      if (method !== 0 && method !== 8 && entry.type === "file") {
        throw new Error(
          `${path}: entry ${name} uses compression method ${method}; only stored (0) and deflate (8) are supported`,
        );
      }
      out.push({ entry, method, crc, compressedSize, localOffset });
    }
    return out;
  } finally {
    f.close();
  }
}

function latin1OrUtf8(b: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(b);
  } catch {
    return new TextDecoder("latin1").decode(b);
  }
}

async function zipDataOffset(f: Deno.FsFile, rec: ZipRecord): Promise<number> {
  const h = new DataView((await readAt(f, rec.localOffset, 30)).buffer);
  if (h.getUint32(0, true) !== 0x04034b50) {
    throw new Error(`corrupt zip: no local header for ${rec.entry.name}`);
  }
  return rec.localOffset + 30 + h.getUint16(26, true) + h.getUint16(28, true);
}

async function zipContent(f: Deno.FsFile, rec: ZipRecord): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  await zipStream(f, rec, (c) => {
    chunks.push(c.slice());
    return Promise.resolve();
  });
  const n = chunks.reduce((a, c) => a + c.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

async function zipStream(
  f: Deno.FsFile,
  rec: ZipRecord,
  sink: (chunk: Uint8Array) => Promise<void>,
): Promise<number> {
  const start = await zipDataOffset(f, rec);
  let left = rec.compressedSize;
  await f.seek(start, Deno.SeekMode.Start);
  const raw = new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      if (left === 0) {
        ctrl.close();
        return;
      }
      const buf = new Uint8Array(Math.min(left, 1 << 20));
      const r = await f.read(buf);
      if (r === null) {
        ctrl.error(new Error(`truncated zip: data of ${rec.entry.name} ends early`));
        return;
      }
      left -= r;
      ctrl.enqueue(buf.subarray(0, r));
    },
  });
  const s = rec.method === 8
    ? raw.pipeThrough(
      new DecompressionStream("deflate-raw") as TransformStream<Uint8Array, Uint8Array>,
    )
    : raw;
  let crc = 0xffffffff;
  let n = 0;
  for await (const chunk of s) {
    crc = crc32Update(crc, chunk);
    n += chunk.length;
    await sink(chunk);
  }
  if (((crc ^ 0xffffffff) >>> 0) !== rec.crc) {
    throw new Error(`zip entry ${rec.entry.name}: CRC-32 mismatch; the archive is corrupt`);
  }
  return n;
}

let crcTable: Uint32Array | null = null;

/** Continue a CRC-32 (IEEE) over `data`; start from 0xffffffff and xor the end with it. */
export function crc32Update(crc: number, data: Uint8Array): number {
  if (crcTable === null) {
    crcTable = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[i] = c >>> 0;
    }
  }
  let c = crc >>> 0;
  for (let i = 0; i < data.length; i++) c = crcTable[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return c >>> 0;
}

async function extractZip(
  archive: string,
  dest: string,
  strip: number,
  result: ExtractResult,
): Promise<void> {
  const records = await readZipDirectory(archive);
  const f = await Deno.open(archive, { read: true });
  try {
    for (const rec of records) {
      const e = rec.entry;
      const out = target(dest, e.name, strip);
      if (out === null) continue;
      if (e.type === "dir") {
        await Deno.mkdir(out, { recursive: true });
        result.dirs++;
        continue;
      }
      await Deno.mkdir(parentOf(out), { recursive: true });
      if (e.type === "symlink") {
        await Deno.symlink(e.linkname!, out);
        result.symlinks++;
        continue;
      }
      const w = await Deno.open(out, { write: true, create: true, truncate: true });
      try {
        result.bytes += await zipStream(f, rec, async (chunk) => {
          let off = 0;
          while (off < chunk.length) off += await w.write(chunk.subarray(off));
        });
      } finally {
        w.close();
      }
      if (e.mode) await Deno.chmod(out, (e.mode & 0o777) | 0o600).catch(() => {});
      result.files++;
    }
  } finally {
    f.close();
  }
}

// ---------------------------------------------------------------------------------------------
// stage kind

const ARCHIVE_RE = /\.(tar|tar\.gz|tgz|zip)$/i;

/** Params of the `extract` kind. */
export type ExtractParams = ParamsOf<typeof extractKind.params>;

/**
 * `extract`: unpack the archives of the input `archive` (one file, or a directory: its files
 * named in `files`, or all `*.tar`, `*.tar.gz`, `*.tgz`, `*.zip` in it) into the output `data/`.
 */
export const extractKind = defineKind({
  name: "extract",
  description:
    "safely unpack tar / tar.gz / zip archives (refuses .., absolute paths, escaping links)",
  module: import.meta.url,
  inputs: { archive: "the archive: a download stage's `files` output (or one file of it)" },
  params: {
    files: typedParam<string[]>({
      type: "array",
      default: [],
      doc: "archive file names inside the input directory; [] = every tar/tar.gz/tgz/zip there",
    }),
    strip: { type: "integer", default: 0, doc: "leading path components to drop from each entry" },
    format: {
      type: "string",
      default: "auto",
      enum: ["auto", "tar", "tar.gz", "zip"],
      doc: "archive format; auto reads the magic bytes",
    },
  },
  outputs: ["data"],
  async run(ctx) {
    const params = ctx.params;
    const input = ctx.inputs.archive;
    if (input === undefined) {
      throw new Error(
        `extract: stage ${ctx.name} needs an input named 'archive' (a file or directory)`,
      );
    }
    const st = await Deno.stat(input);
    let archives: string[];
    if (st.isFile) archives = [input];
    else {
      const names: string[] = [];
      for await (const d of Deno.readDir(input)) if (d.isFile) names.push(d.name);
      names.sort();
      const want = params.files;
      if (want.length > 0) {
        for (const w of want) {
          if (!names.includes(w)) {
            throw new Error(
              `extract: ${w} is not in ${input} (found: ${names.join(", ") || "nothing"})`,
            );
          }
        }
        archives = want.map((w) => `${input}/${w}`);
      } else {
        archives = names.filter((n) => ARCHIVE_RE.test(n)).map((n) => `${input}/${n}`);
      }
      if (archives.length === 0) {
        throw new Error(
          `extract: no archive (*.tar, *.tar.gz, *.tgz, *.zip) in ${input}; name them in 'files'`,
        );
      }
    }
    const format = params.format === "auto" ? undefined : params.format;
    ctx.progress(0, archives.length, "validating");
    const res = await extractArchives(archives, ctx.out("data"), {
      format,
      strip: params.strip,
      signal: ctx.signal,
    });
    ctx.progress(archives.length, archives.length);
    ctx.log(
      `extracted ${archives.map(basename).join(", ")}: ${res.files} files, ${res.dirs} dirs, ` +
        `${res.symlinks} links, ${res.bytes} bytes; skipped ${res.skipped.length}`,
    );
    ctx.provenance.archives = archives.map(basename);
    ctx.provenance.extracted = { files: res.files, bytes: res.bytes };
  },
});
