/**
 * Lock files: sha256 digests recorded by first downloads of files without a published digest,
 * updated under an exclusive `.lck` so parallel stages do not clash.
 * @module
 */
import { delay } from "./async.ts";

/** A lock file: digests recorded by first downloads of files without a published sha256. */
export interface LockFile {
  /** Format version. */
  version: 1;
  /** By key (`mirror_path` or `name`). */
  files: Record<string, { sha256: string; size: number; source: string }>;
}

/** Read a lock file; a missing file is an empty lock. */
export async function readLock(path: string): Promise<LockFile> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { version: 1, files: {} };
    throw e;
  }
  try {
    const lock = JSON.parse(text) as LockFile;
    if (lock.version !== 1 || typeof lock.files !== "object") throw new Error("bad layout");
    return lock;
  } catch (e) {
    throw new Error(
      `lock file ${path} is not valid (${(e as Error).message}); fix it or restore it from git`,
    );
  }
}

/** Record entries into a lock file, under an exclusive `.lck` so parallel stages do not clash. */
export async function updateLock(
  path: string,
  entries: Record<string, { sha256: string; size: number; source: string }>,
): Promise<void> {
  const lck = `${path}.lck`;
  for (let attempt = 0;; attempt++) {
    try {
      (await Deno.open(lck, { createNew: true, write: true })).close();
      break;
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
      const st = await Deno.stat(lck).catch(() => null);
      if (st?.mtime && Date.now() - st.mtime.getTime() > 60_000) {
        await Deno.remove(lck).catch(() => {});
        continue;
      }
      if (attempt > 400) throw new Error(`lock file ${path} is held by ${lck}; remove it if stale`);
      await delay(50, new AbortController().signal);
    }
  }
  try {
    const lock = await readLock(path);
    Object.assign(lock.files, entries);
    const sorted: LockFile = { version: 1, files: {} };
    for (const k of Object.keys(lock.files).sort()) sorted.files[k] = lock.files[k];
    // One fixed name: the `.lck` above makes this writer the only one (and deno.json's tasks
    // grant writes to exactly these three names).
    const tmp = `${path}.tmp`;
    await Deno.writeTextFile(tmp, JSON.stringify(sorted, null, 2) + "\n");
    await Deno.rename(tmp, path);
  } finally {
    await Deno.remove(lck).catch(() => {});
  }
}
