/**
 * Streaming sha256 of files, canonical JSON, and a persisted stat cache so a no-op run does not
 * re-read large files (size + mtime + inode must all match).
 * @module
 */
import { createHash } from "node:crypto";

const CHUNK = 4 << 20;

/** Hex sha256 of a string or bytes. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Streams a file through sha256; returns the hex digest and the number of bytes read. */
export async function sha256File(path: string): Promise<{ sha256: string; size: number }> {
  const h = createHash("sha256");
  const buf = new Uint8Array(CHUNK);
  let size = 0;
  using f = await Deno.open(path);
  while (true) {
    const n = await f.read(buf);
    if (n === null) break;
    h.update(buf.subarray(0, n));
    size += n;
  }
  return { sha256: h.digest("hex"), size };
}

/**
 * JSON with object keys sorted at every level and no whitespace: equal values give equal text.
 * `undefined` object members are dropped; non-finite numbers are rejected.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === "boolean" || typeof value === "string") {
    return JSON.stringify(value);
  }
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`canonicalJson: non-finite number ${value}`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(",")}]`;
  if (typeof value === "object") {
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(",")}}`;
  }
  throw new Error(`canonicalJson: cannot encode ${typeof value}`);
}

type Entry = [size: number, mtimeMs: number, ino: number, sha256: string];

/**
 * Remembers the digest of a file together with its size, mtime and inode. A lookup hits only
 * if all three still match. Persisted as JSON; concurrent writers may lose entries, which only
 * costs a rehash.
 */
export class StatCache {
  #entries = new Map<string, Entry>();
  #dirty = false;
  /** The JSON file this cache persists to (or `undefined`: in memory only). */
  readonly path: string | undefined;

  /** An empty cache persisted at `path` (or not persisted). */
  constructor(path?: string) {
    this.path = path;
  }

  /** Loads the cache at `path`; a missing or unreadable file gives an empty cache. */
  static async load(path: string): Promise<StatCache> {
    const c = new StatCache(path);
    try {
      const j = JSON.parse(await Deno.readTextFile(path));
      if (j?.version === 1 && j.entries && typeof j.entries === "object") {
        for (const [k, v] of Object.entries(j.entries)) {
          if (Array.isArray(v) && v.length === 4) c.#entries.set(k, v as Entry);
        }
      }
    } catch {
      // missing or corrupt cache: start empty
    }
    return c;
  }

  /** The cached digest for `path` if `info` still matches, else `undefined`. */
  lookup(path: string, info: Deno.FileInfo): string | undefined {
    const e = this.#entries.get(path);
    if (!e) return undefined;
    if (e[0] !== info.size || e[1] !== (info.mtime?.getTime() ?? -1) || e[2] !== (info.ino ?? -1)) {
      return undefined;
    }
    return e[3];
  }

  /** Records the digest of `path` as of `info`. */
  remember(path: string, info: Deno.FileInfo, sha256: string): void {
    this.#entries.set(path, [info.size, info.mtime?.getTime() ?? -1, info.ino ?? -1, sha256]);
    this.#dirty = true;
  }

  /** Drops entries under a directory prefix (after deleting an object). */
  forgetUnder(prefix: string): void {
    for (const k of [...this.#entries.keys()]) {
      if (k.startsWith(prefix)) {
        this.#entries.delete(k);
        this.#dirty = true;
      }
    }
  }

  /** Writes the cache atomically (temp file + rename) if it changed. */
  async save(): Promise<void> {
    if (!this.path || !this.#dirty) return;
    const tmp = `${this.path}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}`;
    const entries = Object.fromEntries(this.#entries);
    try {
      await Deno.writeTextFile(tmp, JSON.stringify({ version: 1, entries }));
      await Deno.rename(tmp, this.path);
      this.#dirty = false;
    } catch (e) {
      await Deno.remove(tmp).catch(() => {});
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
}

/**
 * Digest of one file, through the stat cache unless `verify` forces a rehash.
 * Returns the size from `stat` and the digest.
 */
export async function hashFile(
  path: string,
  options: { cache?: StatCache; verify?: boolean } = {},
): Promise<{ size: number; sha256: string; cached: boolean }> {
  const info = await Deno.stat(path);
  if (!options.verify && options.cache) {
    const hit = options.cache.lookup(path, info);
    if (hit) return { size: info.size, sha256: hit, cached: true };
  }
  const { sha256 } = await sha256File(path);
  const after = await Deno.stat(path);
  if (
    options.cache && after.size === info.size && after.mtime?.getTime() === info.mtime?.getTime()
  ) {
    options.cache.remember(path, after, sha256);
  }
  return { size: info.size, sha256, cached: false };
}

/** One file of a directory tree: path relative to the root (with `/`), size, digest. */
export interface FileDigest {
  /** Path relative to the tree's root, `/`-separated. */
  path: string;
  /** Size in bytes. */
  size: number;
  /** Hex sha256. */
  sha256: string;
}

/** Lists regular files under `dir` recursively (sorted), skipping names in `exclude` at top level. */
export async function listFiles(
  dir: string,
  options: { exclude?: ReadonlySet<string> } = {},
): Promise<string[]> {
  const out: string[] = [];
  async function walk(rel: string) {
    const abs = rel ? `${dir}/${rel}` : dir;
    for await (const e of Deno.readDir(abs)) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (!rel && options.exclude?.has(e.name)) continue;
      if (e.isDirectory) await walk(r);
      else if (e.isFile) out.push(r);
      else if (e.isSymlink) {
        const st = await Deno.stat(`${dir}/${r}`);
        if (st.isDirectory) await walk(r);
        else out.push(r);
      }
    }
  }
  await walk("");
  return out.sort();
}

/** Hashes every file under `dir` (see {@link listFiles}). */
export async function hashTree(
  dir: string,
  options: { cache?: StatCache; verify?: boolean; exclude?: ReadonlySet<string> } = {},
): Promise<FileDigest[]> {
  const files = await listFiles(dir, options);
  const out: FileDigest[] = [];
  for (const p of files) {
    const { size, sha256 } = await hashFile(`${dir}/${p}`, options);
    out.push({ path: p, size, sha256 });
  }
  return out;
}

/** Digest of a set of files: sha256 of the canonical JSON of the sorted (path, size, sha256) list. */
export function digestOfFiles(files: readonly FileDigest[]): string {
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return sha256Hex(canonicalJson(sorted.map((f) => [f.path, f.size, f.sha256])));
}
