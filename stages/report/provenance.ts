/**
 * The report's provenance section: git commit (and whether the tree was dirty), Deno and library
 * versions, backends and seeds, and per input object its cache key and wall time (from the
 * engine's manifest when the object holds one).
 * @module
 */
import type { ObjectInfo } from "./inputs.ts";
import { renderVersions } from "./render.ts";

/** The provenance the report prints and stores in report.json. */
export interface Provenance {
  /** `git rev-parse HEAD` of the checkout holding this module, if it is one. */
  commit?: string;
  /** Whether `git status --porcelain` listed changes. */
  dirty?: boolean;
  /** Why git information is missing, when it is. */
  gitNote?: string;
  /** Deno, V8, TypeScript and library versions. */
  versions: Record<string, string>;
  /** Distinct backends recorded by the inputs. */
  backends: string[];
  /** Seeds recorded by the inputs (stage → seed). */
  seeds: Record<string, unknown>;
  /** One entry per input object. */
  objects: ObjectInfo[];
}

async function git(args: string[], cwd: string): Promise<string | undefined> {
  try {
    const out = await new Deno.Command("git", { args, cwd, stdout: "piped", stderr: "null" })
      .output();
    return out.success ? new TextDecoder().decode(out.stdout) : undefined;
  } catch {
    return undefined;
  }
}

/** Commit and dirty flag of the git checkout at `cwd` (undefined fields when not a checkout). */
export async function gitState(
  cwd: string,
): Promise<{ commit?: string; dirty?: boolean; note?: string }> {
  const head = await git(["rev-parse", "HEAD"], cwd);
  if (!head) return { note: "not a git checkout, or git is not installed" };
  const status = await git(["status", "--porcelain"], cwd);
  return { commit: head.trim(), dirty: status === undefined ? undefined : status.trim() !== "" };
}

const LIBS = [
  "vega",
  "vega-lite",
  "@resvg/resvg-js",
  "cli-table3",
  "ml-matrix",
  "@tensorflow/tfjs-core",
  "@tensorflow/tfjs-backend-cpu",
  "@tensorflow/tfjs-backend-wasm",
  "@tensorflow/tfjs-backend-webgpu",
  "h5wasm",
  "yaml",
];

/** Resolved npm versions of the project's libraries, read from `deno.lock` (best effort). */
export async function lockedVersions(lockPath: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  let lock: Record<string, unknown>;
  try {
    lock = JSON.parse(await Deno.readTextFile(lockPath));
  } catch {
    return out;
  }
  const specs = (lock.specifiers ?? {}) as Record<string, string>;
  for (const [spec, resolved] of Object.entries(specs)) {
    const m = /^npm:((?:@[^/]+\/)?[^@]+)@/.exec(spec);
    if (m && LIBS.includes(m[1])) out[m[1]] = String(resolved).split("_")[0];
  }
  return out;
}

/**
 * Gather the provenance for a report over `objects`.
 * @param repoDir the checkout to ask git about (the module's repository)
 */
export async function collectProvenance(
  objects: ObjectInfo[],
  repoDir: string,
): Promise<Provenance> {
  const g = await gitState(repoDir);
  const versions: Record<string, string> = {
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    ...await lockedVersions(`${repoDir}/deno.lock`),
    ...await renderVersions(),
  };
  const backends = [...new Set(objects.map((o) => o.backend).filter((b): b is string => !!b))];
  const seeds: Record<string, unknown> = {};
  for (const o of objects) if (o.seeds !== undefined) seeds[o.stage ?? o.alias] = o.seeds;
  for (const o of objects) {
    for (const [k, v] of Object.entries(o.versions ?? {})) {
      if (!(k in versions)) versions[k] = v;
    }
  }
  return {
    commit: g.commit,
    dirty: g.dirty,
    gitNote: g.note,
    versions,
    backends,
    seeds,
    objects,
  };
}
