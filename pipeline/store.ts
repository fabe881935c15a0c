/**
 * The content-addressed artifact store under `artifacts/`:
 *
 * ```
 * objects/<key>/           outputs + manifest.json + stage.log   (only ever created by rename)
 * tmp/<key>.<pid>.<rand>/  where a running stage writes
 * scratch/<key>/           checkpoints; kept on failure, removed after a commit
 * logs/<stage>.<key12>.log one log per stage run
 * locks/<key>.lock         owner pid + host, created with O_EXCL
 * state/<stage>.json       the last committed run of a stage name (for status/--explain)
 * statcache.json           size + mtime + inode → sha256
 * ```
 * @module
 */
import process from "node:process";
import { hostname } from "node:os";
import { digestOfFiles, type FileDigest, hashFile, hashTree, StatCache } from "./hash.ts";
import type { Ingredients } from "./key.ts";
import type { Params, StageVerdict } from "./types.ts";

/** The manifest written into every object as manifest.json. */
export interface Manifest {
  /** Engine format version. */
  format: number;
  /** The cache key (the object's directory name). */
  key: string;
  /** Stage name that produced it. */
  stage: string;
  /** Kind name. */
  kind: string;
  /** Resolved params. */
  params: Params;
  /** Alias → upstream stage, output, key and content digest. */
  inputs: Record<string, { stage: string; output?: string; key: string; digest: string }>;
  /** The kind's declared environment. */
  env: Record<string, string>;
  /** The run options the domain asks to record (`RunOption.record`), when any is set. */
  options?: Record<string, string>;
  /** What the stage recorded in ctx.provenance. */
  provenance: Record<string, unknown>;
  /** Tool versions. */
  tools: { deno: string; v8: string; typescript: string };
  /** Host name. */
  host: string;
  /** ISO start time. */
  started: string;
  /** ISO finish time. */
  finished: string;
  /** Wall time of the stage's run(). */
  duration_ms: number;
  /** The stage's verdict, if it returned one. */
  verdict?: StageVerdict;
  /** Declared outputs. */
  outputs: string[];
  /** Every file of the object except manifest.json and stage.log. */
  files: FileDigest[];
  /** {@link digestOfFiles} of `files`: the object's content digest. */
  digest: string;
  /** The key's ingredients. */
  ingredients: Ingredients;
}

/** The last committed run of a stage name. */
export interface StageRecord {
  /** Its key. */
  key: string;
  /** Its ingredients. */
  ingredients: Ingredients;
  /** Wall time. */
  duration_ms: number;
  /** ISO finish time. */
  finished: string;
  /** The verdict, if any. */
  verdict?: StageVerdict;
}

/** Who holds a lock. */
export interface LockOwner {
  /** Process id. */
  pid: number;
  /** Host name. */
  host: string;
  /** Process start time in clock ticks since boot (Linux), to tell a reused pid apart. */
  start?: number;
  /** Stage being run. */
  stage: string;
  /** ISO time the lock was taken. */
  since: string;
}

/** Result of {@link Store.verify}. */
export type Verification =
  | { status: "ok"; manifest: Manifest }
  | { status: "missing" }
  | { status: "corrupt"; problem: string };

/** Engine-reserved names inside an object directory. */
const RESERVED = new Set(["manifest.json", "stage.log"]);
const HOST = hostname();
/** Keys whose locks this process holds (shared by every Store instance in the process). */
const HELD = new Set<string>();

/**
 * `/proc/<pid>/stat` (Linux), or undefined. Deno lets only `-A` read `/proc/<pid>/*`; under a
 * task's narrower flags the same bytes come from `cat`, which the tasks that take locks name in
 * their `--allow-run`.
 */
function procStat(pid: number): string | undefined {
  const path = `/proc/${pid}/stat`;
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotCapable)) return undefined;
  }
  try {
    const r = new Deno.Command("cat", { args: [path], stdout: "piped", stderr: "null" })
      .outputSync();
    return r.success ? new TextDecoder().decode(r.stdout) : undefined;
  } catch {
    return undefined;
  }
}

/** The fields of `/proc/<pid>/stat` after the command name: state first, start time at 19. */
function procFields(pid: number): string[] | undefined {
  const s = procStat(pid);
  return s === undefined ? undefined : s.slice(s.lastIndexOf(")") + 2).split(" ");
}

function procStart(pid: number): number | undefined {
  const f = procFields(pid);
  return f ? Number(f[19]) : undefined;
}

let selfStart: { value: number | undefined } | undefined;
/** This process's start time (read once, when it first takes a lock). */
function ownStart(): number | undefined {
  return (selfStart ??= { value: procStart(Deno.pid) }).value;
}

/** The state letter of `/proc/<pid>/stat` (`R`, `S`, `Z`...), if readable (Linux). */
function procState(pid: number): string | undefined {
  return procFields(pid)?.[0];
}

/**
 * True if the process recorded in `owner` still runs (other hosts count as alive). For this
 * process's own pid, alive means `key` is among the locks it holds. A zombie (exited, not yet
 * reaped: state `Z` or `X`) is dead.
 */
export function ownerAlive(owner: LockOwner, options: { key?: string } = {}): boolean {
  if (owner.host !== HOST) return true;
  if (owner.pid === Deno.pid) return options.key !== undefined && HELD.has(options.key);
  try {
    process.kill(owner.pid, 0);
  } catch (e) {
    if ((e as { code?: string }).code === "EPERM") return true;
    return false;
  }
  const state = procState(owner.pid);
  if (state === "Z" || state === "X") return false;
  if (owner.start !== undefined) {
    const now = procStart(owner.pid);
    if (now !== undefined && now !== owner.start) return false;
  }
  return true;
}

/** Tool versions recorded in manifests. */
export function toolVersions(): { deno: string; v8: string; typescript: string } {
  return { deno: Deno.version.deno, v8: Deno.version.v8, typescript: Deno.version.typescript };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** Total size in bytes of a directory tree. */
export async function treeSize(path: string): Promise<number> {
  let n = 0;
  try {
    const st = await Deno.lstat(path);
    if (!st.isDirectory) return st.size;
    for await (const e of Deno.readDir(path)) n += await treeSize(`${path}/${e.name}`);
  } catch {
    // vanished while walking
  }
  return n;
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    function onAbort() {
      clearTimeout(t);
      reject(signal!.reason);
    }
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** A held per-key lock. */
export interface Lock {
  /** The key. */
  key: string;
  /** Removes the lock file. */
  release(): Promise<void>;
}

/** The artifact store rooted at one directory. */
export class Store {
  /** Root directory (`artifacts/`). */
  readonly root: string;
  /** The persisted stat cache. */
  readonly cache: StatCache;
  #held = HELD;

  /** A store at `root` using `cache`. Prefer {@link Store.open}. */
  constructor(root: string, cache: StatCache) {
    this.root = root.replace(/\/+$/, "") || "/";
    this.cache = cache;
  }

  /** Opens the store at `root` (nothing is created until something is written). */
  static async open(root: string): Promise<Store> {
    const abs = root.startsWith("/") ? root : `${Deno.cwd()}/${root}`;
    return new Store(abs, await StatCache.load(`${abs}/statcache.json`));
  }

  /** Directory of the object with `key`. */
  objectDir(key: string): string {
    return `${this.root}/objects/${key}`;
  }

  /** Scratch directory of `key`. */
  scratchDir(key: string): string {
    return `${this.root}/scratch/${key}`;
  }

  /** Log path of a stage run. */
  logPath(stage: string, key: string): string {
    return `${this.root}/logs/${stage}.${key.slice(0, 12)}.log`;
  }

  /** Creates a fresh temporary directory for a stage run of `key`. */
  async makeTmp(key: string): Promise<string> {
    const dir = `${this.root}/tmp/${key}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}`;
    await Deno.mkdir(dir, { recursive: true });
    return dir;
  }

  /** Reads an object's manifest without verifying files; `undefined` if absent or unreadable. */
  async readManifest(key: string): Promise<Manifest | undefined> {
    try {
      return JSON.parse(await Deno.readTextFile(`${this.objectDir(key)}/manifest.json`));
    } catch {
      return undefined;
    }
  }

  /**
   * Verifies an object against its manifest: every file exists with its size (always) and its
   * digest (through the stat cache, or a full rehash with `verify`).
   */
  async verify(key: string, options: { verify?: boolean } = {}): Promise<Verification> {
    const dir = this.objectDir(key);
    let text: string;
    try {
      text = await Deno.readTextFile(`${dir}/manifest.json`);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        return (await exists(dir))
          ? { status: "corrupt", problem: "manifest.json is missing" }
          : { status: "missing" };
      }
      return { status: "corrupt", problem: `manifest.json unreadable: ${e}` };
    }
    let m: Manifest;
    try {
      m = JSON.parse(text);
    } catch {
      return { status: "corrupt", problem: "manifest.json is not valid JSON" };
    }
    if (m.key !== key || !Array.isArray(m.files)) {
      return { status: "corrupt", problem: "manifest.json does not describe this object" };
    }
    if (digestOfFiles(m.files) !== m.digest) {
      return { status: "corrupt", problem: "manifest.json file list does not match its digest" };
    }
    for (const f of m.files) {
      const p = `${dir}/${f.path}`;
      let st: Deno.FileInfo;
      try {
        st = await Deno.stat(p);
      } catch {
        return { status: "corrupt", problem: `${f.path} is missing` };
      }
      if (st.size !== f.size) {
        return {
          status: "corrupt",
          problem: `${f.path} has ${st.size} bytes, manifest says ${f.size}`,
        };
      }
      const { sha256 } = await hashFile(p, { cache: this.cache, verify: options.verify });
      if (sha256 !== f.sha256) {
        return {
          status: "corrupt",
          problem: `${f.path} sha256 ${sha256.slice(0, 12)}… ≠ manifest ${f.sha256.slice(0, 12)}…`,
        };
      }
    }
    return { status: "ok", manifest: m };
  }

  /**
   * Commits a finished stage: checks every declared output exists in `tmp`, hashes the files,
   * writes manifest.json (and stage.log from `logFile`), then renames `tmp` to objects/<key>.
   * With `replace` (a forced re-run), an existing object of the key is swapped out only now, so
   * that a run that fails or is cancelled leaves the old object in place.
   */
  async commit(
    tmp: string,
    manifest: Omit<Manifest, "files" | "digest">,
    options: { logFile?: string; replace?: boolean } = {},
  ): Promise<Manifest> {
    for (const o of manifest.outputs) {
      if (!(await exists(`${tmp}/${o}`))) {
        throw new Error(
          `stage did not write its declared output '${o}' (write it to ctx.out(${
            JSON.stringify(o)
          }))`,
        );
      }
    }
    const files = await hashTree(tmp, { exclude: RESERVED });
    const full: Manifest = { ...manifest, files, digest: digestOfFiles(files) };
    await Deno.writeTextFile(`${tmp}/manifest.json`, JSON.stringify(full, null, 1));
    if (options.logFile) {
      await Deno.copyFile(options.logFile, `${tmp}/stage.log`).catch(() => {});
    }
    const dest = this.objectDir(manifest.key);
    await Deno.mkdir(`${this.root}/objects`, { recursive: true });
    if (options.replace) {
      await this.#replace(tmp, dest);
      return await this.#remember(dest, full);
    }
    try {
      await Deno.rename(tmp, dest);
    } catch (e) {
      // Another holder of the same key committed first (two stages can share a key). Objects
      // are content-addressed, so a verified one is as good as ours: keep it, drop ours.
      const other = await this.verify(manifest.key, { verify: true }).catch(() => undefined);
      if (other?.status !== "ok") throw e;
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
      return other.manifest;
    }
    return await this.#remember(dest, full);
  }

  /**
   * Installs an object fetched from elsewhere (a remote): `tmp` holds its files, already checked
   * against `manifest` by the caller; the manifest is written as given and `tmp` renamed to
   * objects/<key>. An object of the key that is already there and verifies is kept.
   */
  async install(tmp: string, manifest: Manifest): Promise<Manifest> {
    await Deno.writeTextFile(`${tmp}/manifest.json`, JSON.stringify(manifest, null, 1));
    const dest = this.objectDir(manifest.key);
    await Deno.mkdir(`${this.root}/objects`, { recursive: true });
    try {
      await Deno.rename(tmp, dest);
    } catch (e) {
      const other = await this.verify(manifest.key, { verify: true }).catch(() => undefined);
      if (other?.status !== "ok") throw e;
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
      return other.manifest;
    }
    return await this.#remember(dest, manifest);
  }

  /** Records the committed files of `dest` in the stat cache. */
  async #remember(dest: string, full: Manifest): Promise<Manifest> {
    this.cache.forgetUnder(`${dest}/`);
    for (const f of full.files) {
      const p = `${dest}/${f.path}`;
      this.cache.remember(p, await Deno.stat(p), f.sha256);
    }
    return full;
  }

  /** Moves the object at `dest` aside, renames `tmp` into its place, then deletes the old one. */
  async #replace(tmp: string, dest: string): Promise<void> {
    const trash = `${this.root}/tmp/trash-${dest.slice(dest.lastIndexOf("/") + 1)}.${Deno.pid}.${
      crypto.randomUUID().slice(0, 8)
    }`;
    let moved = false;
    try {
      await Deno.rename(dest, trash);
      moved = true;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    try {
      await Deno.rename(tmp, dest);
    } catch (e) {
      if (moved) await Deno.rename(trash, dest).catch(() => {});
      throw e;
    }
    if (moved) await Deno.remove(trash, { recursive: true }).catch(() => {});
  }

  /** Moves an object out of objects/ (atomically) and deletes it. */
  async removeObject(key: string): Promise<void> {
    const dir = this.objectDir(key);
    const trash = `${this.root}/tmp/trash-${key}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}`;
    await Deno.mkdir(`${this.root}/tmp`, { recursive: true });
    try {
      await Deno.rename(dir, trash);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return;
      throw e;
    }
    this.cache.forgetUnder(`${dir}/`);
    await Deno.remove(trash, { recursive: true });
  }

  /** Keys of every object in the store. */
  async listObjects(): Promise<string[]> {
    const out: string[] = [];
    try {
      for await (const e of Deno.readDir(`${this.root}/objects`)) {
        if (e.isDirectory) out.push(e.name);
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    return out.sort();
  }

  /** Removes temp dirs left by dead processes of this host; returns how many. */
  async cleanTmp(): Promise<number> {
    let n = 0;
    try {
      for await (const e of Deno.readDir(`${this.root}/tmp`)) {
        const m = /\.(\d+)\.[0-9a-f]{8}$/.exec(e.name);
        if (!m) continue;
        const pid = Number(m[1]);
        if (ownerAlive({ pid, host: HOST, stage: "", since: "" })) continue;
        if (pid === Deno.pid) continue;
        await Deno.remove(`${this.root}/tmp/${e.name}`, { recursive: true }).catch(() => {});
        n++;
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    return n;
  }

  /** Removes locks whose owner died (this host only); returns how many. */
  async cleanLocks(): Promise<number> {
    let n = 0;
    try {
      for await (const e of Deno.readDir(`${this.root}/locks`)) {
        if (!e.name.endsWith(".lock")) continue;
        const key = e.name.slice(0, -5);
        const owner = await this.lockOwner(key);
        if (!owner || owner.host !== HOST || ownerAlive(owner, { key })) continue;
        await this.#reclaim(key, owner);
        n++;
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    return n;
  }

  #lockPath(key: string): string {
    return `${this.root}/locks/${key}.lock`;
  }

  /** The owner of `key`'s lock, if it is locked. */
  async lockOwner(key: string): Promise<LockOwner | undefined> {
    try {
      return JSON.parse(await Deno.readTextFile(this.#lockPath(key)));
    } catch {
      return undefined;
    }
  }

  /** True if `key` is locked by a live process (this one included). */
  async isLocked(key: string): Promise<LockOwner | undefined> {
    const o = await this.lockOwner(key);
    return o && ownerAlive(o, { key }) ? o : undefined;
  }

  /** Takes `key`'s lock if free (or held by a dead owner, which is reclaimed); else returns the owner. */
  async tryLock(key: string, stage: string): Promise<Lock | LockOwner> {
    const path = this.#lockPath(key);
    await Deno.mkdir(`${this.root}/locks`, { recursive: true });
    for (let attempt = 0; attempt < 3; attempt++) {
      const owner: LockOwner = {
        pid: Deno.pid,
        host: HOST,
        start: ownStart(),
        stage,
        since: new Date().toISOString(),
      };
      try {
        const f = await Deno.open(path, { write: true, createNew: true });
        try {
          await f.write(new TextEncoder().encode(JSON.stringify(owner)));
        } finally {
          f.close();
        }
        this.#held.add(key);
        return {
          key,
          release: async () => {
            this.#held.delete(key);
            await Deno.remove(path).catch(() => {});
          },
        };
      } catch (e) {
        if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
      }
      const cur = await this.lockOwner(key);
      if (cur === undefined) {
        // half-written by a live creator, or just released: give it a moment unless it is old
        const st = await Deno.stat(path).catch(() => undefined);
        if (!st) continue; // released meanwhile: try to take it again
        if (Date.now() - (st.mtime?.getTime() ?? 0) < 2000) {
          return { pid: 0, host: "?", stage, since: "(being written)" };
        }
      } else if (ownerAlive(cur, { key })) return cur;
      await this.#reclaim(key, cur);
    }
    return (await this.lockOwner(key)) ?? { pid: 0, host: "?", stage, since: "?" };
  }

  /** Removes a dead owner's lock, serialised with other reclaimers through an flock. */
  async #reclaim(key: string, seen: LockOwner | undefined): Promise<void> {
    const guard = await Deno.open(`${this.root}/locks/.reclaim`, { create: true, write: true });
    try {
      await guard.lock(true);
      const now = await this.lockOwner(key);
      // An unreadable (empty) lock is only stale when it is old: a live creator may be writing it.
      const st = now === undefined
        ? await Deno.stat(this.#lockPath(key)).catch(() => undefined)
        : undefined;
      const stale = now === undefined
        ? st !== undefined && Date.now() - (st.mtime?.getTime() ?? 0) >= 2000
        : JSON.stringify(now) === JSON.stringify(seen);
      if (stale) await Deno.remove(this.#lockPath(key)).catch(() => {});
    } finally {
      await guard.unlock().catch(() => {});
      guard.close();
    }
  }

  /**
   * Waits for `key`'s lock. `onWait` is called once with the owner if it has to wait.
   * Rejects if `signal` aborts.
   */
  async lock(
    key: string,
    stage: string,
    options: { signal?: AbortSignal; onWait?: (owner: LockOwner) => void } = {},
  ): Promise<Lock> {
    let wait = 20;
    let told = false;
    for (;;) {
      const r = await this.tryLock(key, stage);
      if ("release" in r) return r;
      if (!told) {
        options.onWait?.(r);
        told = true;
      }
      await delay(wait, options.signal);
      wait = Math.min(250, wait * 1.5);
    }
  }

  /** Removes lock files: all of them, or those of `keys`. Returns the removed owners. */
  async unlock(
    keys?: readonly string[],
  ): Promise<{ key: string; owner?: LockOwner; alive: boolean }[]> {
    const out: { key: string; owner?: LockOwner; alive: boolean }[] = [];
    let list = keys;
    if (!list) {
      list = [];
      try {
        for await (const e of Deno.readDir(`${this.root}/locks`)) {
          if (e.name.endsWith(".lock")) (list as string[]).push(e.name.slice(0, -5));
        }
      } catch {
        // no locks dir
      }
    }
    for (const k of list) {
      const owner = await this.lockOwner(k);
      if (!(await exists(this.#lockPath(k)))) continue;
      await Deno.remove(this.#lockPath(k)).catch(() => {});
      out.push({ key: k, owner, alive: owner ? ownerAlive(owner) : false });
    }
    return out;
  }

  /** The last committed run of a stage name. */
  async readRecord(stage: string): Promise<StageRecord | undefined> {
    try {
      return JSON.parse(await Deno.readTextFile(`${this.root}/state/${stage}.json`));
    } catch {
      return undefined;
    }
  }

  /** Saves the last committed run of a stage name (atomically). */
  async writeRecord(stage: string, record: StageRecord): Promise<void> {
    await Deno.mkdir(`${this.root}/state`, { recursive: true });
    const tmp = `${this.root}/state/.${stage}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}`;
    await Deno.writeTextFile(tmp, JSON.stringify(record, null, 1));
    await Deno.rename(tmp, `${this.root}/state/${stage}.json`);
  }
}

/** This machine's host name. */
export function hostName(): string {
  return HOST;
}
