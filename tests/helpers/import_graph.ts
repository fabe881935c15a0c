/**
 * The import graph of the project's own modules and the layer rule of docs/architecture.md
 * ("Layers"), as data a test can check.
 *
 * Every import counts here, type-only ones included: a type import is still a dependency a reader
 * has to follow, even though the cache key skips it.
 * @module
 */
import { dirname, join, relative } from "node:path";

/** One import: `from` imports `to` (both paths relative to the repository root). */
export interface ImportEdge {
  /** Importing module. */
  from: string;
  /** Imported module. */
  to: string;
}

/** Shared libraries, in layer order: one may import itself and the libraries before it. */
export const LIBRARIES: readonly string[] = [
  "util",
  "linalg",
  "tensor_io",
  "nn",
  "retrieval",
  "formats",
];

/** Stage-kind packages: each may import itself, the shared libraries and `pipeline/types.ts`. */
export const KIND_PACKAGES: readonly string[] = [
  "data",
  "baselines",
  "dse",
  "eval",
  "check",
  "report",
];

/** The domain's composition root: may import any module under `stages/`. */
export const COMPOSITION: readonly string[] = ["stages/mod.ts", "stages/commands.ts"];

/**
 * Edges allowed against the rule, each with its reason. Keep this list short and temporary.
 */
export const EXCEPTIONS: ReadonlyMap<string, string> = new Map();

const SPEC_RE =
  /(?:^|[^\w$.])(?:import|export)\s+(?:type\s+)?(?:[\w*${},\s]+?\s+from\s+)?["']([^"'\n]+)["']|\bimport\s*\(\s*["']([^"'\n]+)["']\s*\)/g;

/** Local import specifiers (relative ones) in a module's source, type-only imports included. */
export function localSpecifiers(source: string): string[] {
  const out = new Set<string>();
  for (const m of source.matchAll(SPEC_RE)) {
    const s = m[1] ?? m[2];
    if (s.startsWith("./") || s.startsWith("../")) out.add(s);
  }
  return [...out];
}

function* walk(dir: string): Generator<string> {
  for (const e of Deno.readDirSync(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) yield* walk(p);
    else if (e.isFile && p.endsWith(".ts")) yield p;
  }
}

/** Every local import edge of the `.ts` modules under `dirs` (relative to `root`). */
export function importEdges(root: string, dirs: readonly string[]): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const d of dirs) {
    for (const file of walk(join(root, d))) {
      const from = relative(root, file);
      for (const s of localSpecifiers(Deno.readTextFileSync(file))) {
        edges.push({ from, to: relative(root, join(dirname(file), s)) });
      }
    }
  }
  return edges;
}

type Place =
  | { layer: "engine" }
  | { layer: "engine-types" }
  | { layer: "composition" }
  | { layer: "library"; name: string; rank: number }
  | { layer: "kind"; name: string }
  | { layer: "unknown" };

function placeOf(path: string): Place {
  if (path === "pipeline/types.ts") return { layer: "engine-types" };
  if (path.startsWith("pipeline/")) return { layer: "engine" };
  if (COMPOSITION.includes(path)) return { layer: "composition" };
  const m = /^stages\/([^/]+)\//.exec(path);
  if (m) {
    const rank = LIBRARIES.indexOf(m[1]);
    if (rank >= 0) return { layer: "library", name: m[1], rank };
    if (KIND_PACKAGES.includes(m[1])) return { layer: "kind", name: m[1] };
  }
  return { layer: "unknown" };
}

/** Why an edge breaks the layer rule, or `undefined` when it is allowed. */
export function ruleViolation(edge: ImportEdge): string | undefined {
  if (EXCEPTIONS.has(`${edge.from} -> ${edge.to}`)) return undefined;
  const a = placeOf(edge.from), b = placeOf(edge.to);
  switch (a.layer) {
    case "engine":
    case "engine-types":
      return b.layer === "engine" || b.layer === "engine-types"
        ? undefined
        : "the engine (pipeline/) imports nothing from stages/";
    case "composition":
      return b.layer === "engine"
        ? "the domain imports only pipeline/types.ts from the engine"
        : b.layer === "unknown"
        ? `${edge.to} is in no layer (add its directory to LIBRARIES or KIND_PACKAGES)`
        : undefined;
    case "library":
      if (b.layer === "engine-types") return undefined;
      if (b.layer === "library" && b.rank <= a.rank) return undefined;
      if (b.layer === "library") {
        return `shared library ${a.name}/ may import only ${
          LIBRARIES.slice(0, a.rank + 1).join(", ")
        } (library order), not ${b.name}/`;
      }
      return `shared library ${a.name}/ imports only shared libraries before it and pipeline/types.ts`;
    case "kind":
      if (b.layer === "engine-types" || b.layer === "library") return undefined;
      if (b.layer === "kind" && b.name === a.name) return undefined;
      return `stage-kind package ${a.name}/ imports only itself, shared libraries and pipeline/types.ts`;
    case "unknown":
      return `${edge.from} is in no layer (add its directory to LIBRARIES or KIND_PACKAGES)`;
  }
}
