/**
 * Phase 1, parse: YAML text → the document's top-level fields and the top-level params with
 * `--set` applied. YAML syntax errors and duplicate keys stop here.
 * @module
 */
import { isMap, isScalar, LineCounter, parseDocument, visit } from "yaml";
import type { Document, Pair, ScalarTag, YAMLMap } from "yaml";
import type { Params } from "../types.ts";
import { didYouMean } from "../usage.ts";
import { Diagnostics } from "./diagnostics.ts";
import { IDENT_RE, jsonType, parseSetValue, short } from "./values.ts";

/**
 * The fields a pipeline file may have at the top. `templates:` is ignored by the engine: it holds
 * YAML anchors (`&name`) that stages merge into their params with `<<: *name`.
 */
export const TOP_KEYS = [
  "version",
  "description",
  "templates",
  "params",
  "stages",
  "targets",
  "default",
];

/** The parsed file: its document, top-level fields and params. */
export interface Parsed {
  /** The YAML document (nodes keep their source ranges). */
  doc: Document;
  /** Where the phases report problems. */
  diag: Diagnostics;
  /** Top-level field → its pair. */
  top: Map<string, Pair>;
  /** Top-level params, `--set` applied. */
  params: Params;
  /** The params `--set` changed. */
  fromSet: Set<string>;
}

function dirOf(file: string): string {
  const i = file.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : file.slice(0, i);
}

/**
 * The `!include path` tag: the value is the content of another YAML file, the path relative to
 * the including file (`with: !include checks/paper.yaml`). Its content enters the stage's params,
 * hence its key, like any value written in place. Problems (unreadable file, YAML errors, an
 * include cycle) are reported at the tag, naming the included file's line and column.
 */
export function includeTag(file: string, depth = 0): ScalarTag {
  return {
    tag: "!include",
    resolve(value: string, onError: (message: string) => void): unknown {
      const path = value.startsWith("/") ? value : `${dirOf(file)}/${value}`;
      if (depth >= 8) {
        onError(`!include ${value}: more than 8 nested includes (an include cycle?)`);
        return null;
      }
      let text: string;
      try {
        text = Deno.readTextFileSync(path);
      } catch (e) {
        const why = e instanceof Deno.errors.NotFound ? "file not found" : String(e);
        onError(`!include ${value}: cannot read ${path} (${why})`);
        return null;
      }
      const lines = new LineCounter();
      const doc = parseDocument(text, { ...yamlOptions(path, depth + 1), lineCounter: lines });
      const first = doc.errors[0];
      if (first) {
        const p = lines.linePos(first.pos?.[0] ?? 0);
        const what = first.message.split(/ at line \d+, column \d+/)[0];
        onError(`!include ${value}: ${path}:${p.line}:${p.col}: ${what}`);
        return null;
      }
      return doc.toJS();
    },
  };
}

/**
 * The YAML options the engine reads a pipeline file with (merge keys `<<`, the `!include` tag),
 * for tools that read it themselves.
 */
export function yamlOptions(
  file: string,
  depth = 0,
): { merge: true; uniqueKeys: false; prettyErrors: false; customTags: ScalarTag[] } {
  return {
    merge: true,
    uniqueKeys: false,
    prettyErrors: false,
    customTags: [includeTag(file, depth)],
  };
}

/**
 * Reports a key written twice in one mapping, in one pass over the document (the YAML
 * library's own check compares every pair of keys: quadratic in a mapping's size).
 */
function duplicateKeys(doc: Document, diag: Diagnostics): void {
  visit(doc, {
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        if (!isScalar(pair.key) || typeof pair.key.value === "symbol") continue; // `<<` merges
        const k = pair.key.value;
        if (seen.has(k)) diag.err(pair.key, "YAML: Map keys must be unique");
        seen.add(k);
      }
    },
  });
}

/** Parses `text`; stops (throws) on YAML errors or a root that is not a mapping. */
export function parse(text: string, options: { file: string; set?: readonly string[] }): Parsed {
  const lines = new LineCounter();
  const doc = parseDocument(text, { ...yamlOptions(options.file), lineCounter: lines });
  const diag = new Diagnostics(options.file, lines);
  for (const e of doc.errors) {
    diag.err(e.pos?.[0] ?? 0, `YAML: ${e.message.split(/ at line \d+, column \d+/)[0]}`);
  }
  diag.check();
  duplicateKeys(doc, diag);
  diag.check();
  const root = doc.contents;
  if (!isMap(root)) {
    diag.err(
      root,
      "a pipeline must be a mapping with `stages:` (and optionally `params:`, `targets:`)",
    );
    diag.fail();
  }
  const top = topFields(root as YAMLMap, doc, diag);
  const { params, fromSet } = topParams(top.get("params")?.value, options.set ?? [], doc, diag);
  return { doc, diag, top, params, fromSet };
}

function topFields(root: YAMLMap, doc: Document, diag: Diagnostics): Map<string, Pair> {
  const top = new Map<string, Pair>();
  for (const pair of root.items as Pair[]) {
    const k = isScalar(pair.key) ? String(pair.key.value) : undefined;
    if (k === undefined || !TOP_KEYS.includes(k)) {
      diag.err(
        pair.key,
        `unknown top-level field '${k}'${didYouMean(k ?? "", TOP_KEYS)}; allowed: ${
          TOP_KEYS.join(", ")
        }`,
      );
      continue;
    }
    top.set(k, pair);
  }
  const version = top.get("version");
  if (version && diag.js(doc, version.value) !== 1) {
    diag.err(
      version.value,
      `unsupported version ${short(diag.js(doc, version.value))}; this engine reads version 1`,
    );
  }
  return top;
}

function topParams(
  node: unknown,
  set: readonly string[],
  doc: Document,
  diag: Diagnostics,
): { params: Params; fromSet: Set<string> } {
  const params: Params = {};
  if (node != null) {
    if (!isMap(node)) diag.err(node, "`params:` must be a mapping of name: value");
    else {
      for (const pair of node.items) {
        const k = isScalar(pair.key) ? String(pair.key.value) : "";
        if (!IDENT_RE.test(k)) {
          diag.err(pair.key, `bad param name '${k}': use letters, digits, _ and -`);
          continue;
        }
        params[k] = diag.js(doc, pair.value) ?? null;
      }
    }
  }
  const fromSet = new Set<string>();
  for (const s of set) {
    const eq = s.indexOf("=");
    if (eq <= 0) {
      diag.push({ file: `--set ${s}`, message: "expected --set key=value" });
      continue;
    }
    const k = s.slice(0, eq);
    const v = parseSetValue(s.slice(eq + 1));
    if (!(k in params)) {
      const known = Object.keys(params);
      diag.push({
        file: `--set ${s}`,
        message: `unknown param '${k}'${didYouMean(k, known)}; pipeline params: ${
          known.length ? known.join(", ") : "(none)"
        }`,
      });
      continue;
    }
    const was = jsonType(params[k]);
    if (params[k] !== null && jsonType(v) !== was) {
      diag.push({
        file: `--set ${s}`,
        message: `param '${k}' is a ${was} (${short(params[k])}), got ${jsonType(v)} ${short(v)}`,
      });
      continue;
    }
    params[k] = v;
    fromSet.add(k);
  }
  return { params, fromSet };
}
