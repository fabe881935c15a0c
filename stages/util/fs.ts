/**
 * File-system helpers shared by the fetching kinds: safe relative names, streamed sha256, existence
 * and moves across file systems.
 * @module
 */
import { createHash } from "node:crypto";

/** Refuse names that could escape the output directory. Returns the normalised relative path. */
export function safeRelativePath(name: string): string {
  const norm = name.replaceAll("\\", "/");
  const parts = norm.split("/").filter((p) => p !== "" && p !== ".");
  if (
    norm.startsWith("/") || /^[a-zA-Z]:/.test(norm) || parts.length === 0 ||
    parts.some((p) => p === "..")
  ) {
    throw new Error(
      `download: file name '${name}' must be a relative path without '..' (it is written under files/)`,
    );
  }
  return parts.join("/");
}

/** sha256 (hex) and size of a file, streamed. */
export async function sha256File(path: string): Promise<{ sha256: string; bytes: number }> {
  const h = createHash("sha256");
  let bytes = 0;
  using f = await Deno.open(path);
  const buf = new Uint8Array(1 << 20);
  while (true) {
    const n = await f.read(buf);
    if (n === null) break;
    h.update(buf.subarray(0, n));
    bytes += n;
  }
  return { sha256: h.digest("hex"), bytes };
}

/** Whether `path` exists (file or directory). */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The directory part of a `/`-separated path (`/` for a top-level name). */
export function dirname(p: string): string {
  const i = p.lastIndexOf("/");
  return i <= 0 ? "/" : p.slice(0, i);
}

/** Move a file, creating the target's directory; copies and deletes across file systems. */
export async function moveFile(from: string, to: string): Promise<void> {
  await Deno.mkdir(dirname(to), { recursive: true });
  try {
    await Deno.rename(from, to);
  } catch {
    await Deno.copyFile(from, to); // across file systems
    await Deno.remove(from);
  }
}
