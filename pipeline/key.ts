/**
 * The cache key of a stage: sha256 over the canonical JSON of its {@link Ingredients}.
 *
 * Code ingredients are the source of the kind's module and of every local module it imports,
 * transitively (relative and `file:` specifiers; type-only imports are erased at run time and
 * skipped); bare and `npm:` specifiers contribute their
 * version as resolved by deno.json + deno.lock, `node:` and others contribute the specifier.
 * @module
 */
import { canonicalJson, sha256Hex } from "./hash.ts";
import type { Params } from "./types.ts";

/** Bump when the object layout or key recipe changes: every key changes with it. */
export const ENGINE_FORMAT = 1;

/** Everything that determines a stage's result. */
export interface Ingredients {
  /** {@link ENGINE_FORMAT}. */
  format: number;
  /** Kind name. */
  kind: string;
  /** Local module path (relative to the project root) → sha256 of its source text. */
  code: Record<string, string>;
  /** External specifier → resolved version (or the specifier itself). */
  deps: Record<string, string>;
  /** Resolved params. */
  params: Params;
  /** Alias → the upstream artifact's content digest (and where it came from). */
  inputs: Record<string, { stage: string; output?: string; digest: string }>;
  /** The kind's declared environment (e.g. the compute backend). */
  env: Record<string, string>;
  /**
   * Files the stage reads that are not another stage's output (params marked `file`, and the
   * kind's `files()` hook): absolute path → sha256 of the content, `(missing)`, or for a
   * directory the digest of its tree. Absent when the stage reads none, so keys of such stages
   * are unchanged by this field's introduction.
   */
  files?: Record<string, string>;
}

/** The digest recorded for a declared file that does not exist. */
export const MISSING_FILE = "(missing)";

/** sha256 (hex) of the canonical JSON of the ingredients. */
export function cacheKey(ingredients: Ingredients): string {
  return sha256Hex(canonicalJson(ingredients));
}

/**
 * What changed between two ingredient sets, as readable items:
 * `params.lr: 0.1 → 0.01`, `code stages/x.ts`, `input emb`, `env.backend: cpu → wasm`.
 */
export function diffIngredients(prev: Ingredients, cur: Ingredients): string[] {
  const out: string[] = [];
  const show = (v: unknown) => (v === undefined ? "(none)" : canonicalJson(v));
  if (prev.format !== cur.format) out.push(`engine format ${prev.format} → ${cur.format}`);
  if (prev.kind !== cur.kind) out.push(`kind ${prev.kind} → ${cur.kind}`);
  const keys = (a: object, b: object) =>
    [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  for (const k of keys(prev.code, cur.code)) {
    if (prev.code[k] !== cur.code[k]) {
      out.push(
        `code ${k}${
          prev.code[k] === undefined ? " (new)" : cur.code[k] === undefined ? " (gone)" : ""
        }`,
      );
    }
  }
  for (const k of keys(prev.deps, cur.deps)) {
    if (prev.deps[k] !== cur.deps[k]) out.push(`dep ${k}: ${prev.deps[k]} → ${cur.deps[k]}`);
  }
  for (const k of keys(prev.params, cur.params)) {
    if (canonicalJson(prev.params[k] ?? null) !== canonicalJson(cur.params[k] ?? null)) {
      out.push(`params.${k}: ${show(prev.params[k])} → ${show(cur.params[k])}`);
    }
  }
  for (const k of keys(prev.inputs, cur.inputs)) {
    const a = prev.inputs[k], b = cur.inputs[k];
    if (canonicalJson(a ?? null) !== canonicalJson(b ?? null)) {
      out.push(`input ${k} (${(b ?? a).stage}${(b ?? a).output ? `/${(b ?? a).output}` : ""})`);
    }
  }
  for (const k of keys(prev.env, cur.env)) {
    if (prev.env[k] !== cur.env[k]) out.push(`env.${k}: ${prev.env[k]} → ${cur.env[k]}`);
  }
  const pf = prev.files ?? {}, cf = cur.files ?? {};
  for (const k of keys(pf, cf)) {
    if (pf[k] !== cf[k]) {
      out.push(
        `file ${k}${
          pf[k] === undefined
            ? " (new)"
            : cf[k] === undefined
            ? " (gone)"
            : cf[k] === MISSING_FILE
            ? " (missing)"
            : " (content)"
        }`,
      );
    }
  }
  return out;
}

interface ModuleInfo {
  sha256: string;
  local: string[]; // resolved file URLs
  external: string[]; // specifiers
}

const moduleCache = new Map<string, Promise<ModuleInfo>>();
const rootCache = new Map<string, Promise<RootInfo>>();

interface RootInfo {
  dir: string | undefined;
  imports: Record<string, string>;
  lock: Record<string, string>;
}

const IMPORT_RE =
  /(?:^|[^\w$.])(?:import|export)\s+(type\s+)?(?:[\w*${},\s]+?\s+from\s+)?["']([^"'\n]+)["']/g;
const DYNAMIC_RE = /\bimport\s*\(\s*["']([^"'\n]+)["']\s*\)/g;

/**
 * Runtime import specifiers found in module source: static imports, re-exports and literal
 * dynamic imports. Type-only statements (`import type`, `export type`) are skipped: they are
 * erased before running, so they cannot change a result.
 */
export function importSpecifiers(source: string): string[] {
  const out = new Set<string>();
  for (const m of source.matchAll(IMPORT_RE)) if (!m[1]) out.add(m[2]);
  for (const m of source.matchAll(DYNAMIC_RE)) out.add(m[1]);
  return [...out];
}

function isLocal(spec: string): boolean {
  return spec.startsWith("./") || spec.startsWith("../") || spec.startsWith("/") ||
    spec.startsWith("file:");
}

function loadModule(url: string): Promise<ModuleInfo> {
  let p = moduleCache.get(url);
  if (!p) {
    p = (async () => {
      const text = await Deno.readTextFile(new URL(url));
      const local: string[] = [], external: string[] = [];
      for (const s of importSpecifiers(text)) {
        if (isLocal(s)) {
          const u = new URL(s, url);
          u.search = "";
          u.hash = "";
          local.push(u.href);
        } else external.push(s);
      }
      return { sha256: sha256Hex(text), local, external };
    })();
    moduleCache.set(url, p);
  }
  return p;
}

/** Forgets cached module digests (after editing sources in the same process, e.g. in tests). */
export function clearModuleCache(): void {
  moduleCache.clear();
  rootCache.clear();
}

function findRoot(fileUrl: string): Promise<RootInfo> {
  let dir = new URL(".", fileUrl);
  const start = dir.href;
  let p = rootCache.get(start);
  if (p) return p;
  p = (async () => {
    for (;;) {
      try {
        const cfg = JSON.parse(await Deno.readTextFile(new URL("deno.json", dir)));
        let lock: Record<string, string> = {};
        try {
          lock = JSON.parse(await Deno.readTextFile(new URL("deno.lock", dir))).specifiers ?? {};
        } catch {
          // no lock file: versions fall back to the specifiers
        }
        return { dir: dir.href, imports: cfg.imports ?? {}, lock };
      } catch {
        const up = new URL("..", dir);
        if (up.href === dir.href) return { dir: undefined, imports: {}, lock: {} };
        dir = up;
      }
    }
  })();
  rootCache.set(start, p);
  return p;
}

function resolveExternal(spec: string, root: RootInfo): string {
  let target = spec;
  if (!spec.includes(":")) {
    const exact = root.imports[spec];
    if (exact) target = exact;
    else {
      const prefix = Object.keys(root.imports).filter((k) => k.endsWith("/") && spec.startsWith(k))
        .sort((a, b) => b.length - a.length)[0];
      if (prefix) target = root.imports[prefix] + spec.slice(prefix.length);
      else {
        // `pkg/sub` through an `npm:` entry for `pkg` (Deno resolves npm subpaths this way)
        const base = Object.keys(root.imports).find((k) =>
          spec.startsWith(`${k}/`) && root.imports[k].startsWith("npm:")
        );
        if (base) target = `${root.imports[base]}${spec.slice(base.length)}`;
      }
    }
  }
  if (!target.startsWith("npm:")) return target;
  if (root.lock[target]) return `${target.replace(/@[^@/]*$/, "")}@${root.lock[target]}`;
  const m = /^npm:(@?[^@/]+(?:\/[^@/]+)?)(?:@([^/]*))?/.exec(target);
  if (m) {
    const hit = Object.keys(root.lock).find((k) => k.startsWith(`npm:${m[1]}@`));
    if (hit) return `npm:${m[1]}@${root.lock[hit]}`;
  }
  return target;
}

/**
 * Code ingredients of a module: every local module reachable through imports (path relative
 * to the nearest directory holding deno.json → sha256 of its text) and the resolved external
 * dependencies. Results are cached per process ({@link clearModuleCache}).
 */
export async function codeIngredients(
  moduleUrl: string,
): Promise<{ code: Record<string, string>; deps: Record<string, string> }> {
  const start = new URL(moduleUrl);
  start.search = "";
  start.hash = "";
  if (start.protocol !== "file:") return { code: {}, deps: { [moduleUrl]: moduleUrl } };
  const root = await findRoot(start.href);
  const code: Record<string, string> = {};
  const deps: Record<string, string> = {};
  const seen = new Set<string>();
  const todo = [start.href];
  while (todo.length) {
    const u = todo.pop()!;
    if (seen.has(u)) continue;
    seen.add(u);
    const rel = root.dir && u.startsWith(root.dir) ? u.slice(root.dir.length) : new URL(u).pathname;
    let info: ModuleInfo;
    try {
      info = await loadModule(u);
    } catch (e) {
      if (u === start.href) throw new Error(`cannot read module ${u} of a stage kind: ${e}`);
      code[rel] = "(missing)";
      continue;
    }
    code[rel] = info.sha256;
    todo.push(...info.local);
    for (const s of info.external) deps[s] = resolveExternal(s, root);
  }
  return { code, deps };
}
