/**
 * Phase 1, parse: YAML text → the document's top-level fields and the top-level params with
 * `--set` applied. YAML syntax errors and duplicate keys stop here.
 * @module
 */
import { isMap, isScalar, LineCounter, parseDocument, visit } from "yaml";
import type { Document, Pair, YAMLMap } from "yaml";
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
  const doc = parseDocument(text, {
    lineCounter: lines,
    prettyErrors: false,
    uniqueKeys: false,
    merge: true,
  });
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
