/**
 * Phase 3, expand: each `stages:` entry → one draft stage per matrix combination, with its name,
 * params and input references interpolated. Kinds, patterns and types are not looked at yet.
 * @module
 */
import { isMap, isScalar, isSeq } from "yaml";
import type { Pair, YAMLMap } from "yaml";
import type { Params } from "../types.ts";
import { didYouMean } from "../usage.ts";
import type { Diagnostics } from "./diagnostics.ts";
import { interpolate, type Scope } from "./interpolate.ts";
import type { Parsed } from "./parse.ts";
import { IDENT_RE, matrixValueName, NAME_RE, PLACEHOLDER_RE } from "./values.ts";

/** The fields a stage entry may have. */
export const STAGE_KEYS = ["uses", "with", "inputs", "matrix", "foreach", "description"];

/** One `alias: reference` of a draft, matrix placeholders filled in. */
export interface RawInput {
  /** The alias; may still hold `{capture}` placeholders of a pattern. */
  alias: string;
  /** `stage`, `stage/output`, or a pattern with `*`, `?`, `{capture}`. */
  ref: string;
  /** YAML node of the alias. */
  aliasNode: unknown;
  /** YAML node of the reference. */
  valueNode: unknown;
}

/** A stage before kinds and inputs are resolved. */
export interface Draft {
  /** The stage name. */
  name: string;
  /** The `stages:` entry it came from. */
  entry: string;
  /** The entry's key node (where most problems of the stage are reported). */
  keyNode: unknown;
  /** `uses:` after interpolation (a kind name if valid). */
  uses: unknown;
  /** The `uses:` value node, if any. */
  usesNode: unknown;
  /** The `with:` key node, if any. */
  withNode: unknown;
  /** Params as written (interpolated). */
  given: Params;
  /** Param → its key and value nodes. */
  givenNodes: Map<string, { key: unknown; value: unknown }>;
  /** Input references, in file order. */
  inputs: RawInput[];
  /** Top-level params referred to. */
  refs: Set<string>;
  /** The matrix combination. */
  matrix: Record<string, unknown>;
}

interface Axis {
  key: string;
  values: unknown[];
}

/** Expands every stage entry; duplicate names after expansion are reported. */
export function expand(parsed: Parsed): Draft[] {
  const { diag, top, doc } = parsed;
  const stagesNode = top.get("stages")?.value;
  if (!isMap(stagesNode)) {
    diag.err(
      stagesNode ?? doc.contents,
      stagesNode
        ? "`stages:` must be a mapping of stage name → { uses, with, inputs }"
        : "no `stages:` mapping: a pipeline needs `stages:` with at least one stage",
    );
    diag.fail();
  }
  const drafts = new Map<string, Draft>();
  for (const pair of (stagesNode as YAMLMap).items as Pair[]) {
    for (const d of expandEntry(pair, parsed)) {
      const prev = drafts.get(d.name);
      if (prev) {
        diag.err(
          pair.key,
          `duplicate stage name '${d.name}' (also defined by '${prev.entry}' at line ${
            diag.at(prev.keyNode).line
          }); rename one`,
        );
        continue;
      }
      drafts.set(d.name, d);
    }
  }
  return [...drafts.values()];
}

function entryFields(entry: string, body: YAMLMap, diag: Diagnostics): Map<string, Pair> {
  const fields = new Map<string, Pair>();
  for (const f of body.items as Pair[]) {
    const k = isScalar(f.key) ? String(f.key.value) : "";
    if (!STAGE_KEYS.includes(k)) {
      diag.err(
        f.key,
        `unknown field '${k}' in stage '${entry}'${didYouMean(k, STAGE_KEYS)}; allowed: ${
          STAGE_KEYS.join(", ")
        }`,
      );
    } else fields.set(k, f);
  }
  return fields;
}

/** The matrix axes (values interpolated with the top-level params), or `undefined` if invalid. */
function matrixAxes(
  entry: string,
  pair: Pair,
  fields: Map<string, Pair>,
  parsed: Parsed,
  refs: Set<string>,
): Axis[] | undefined {
  const { diag, doc } = parsed;
  const matrixPair = fields.get("matrix") ?? fields.get("foreach");
  if (fields.has("matrix") && fields.has("foreach")) {
    diag.err(
      fields.get("foreach")!.key,
      `stage '${entry}' has both matrix: and foreach:; keep one`,
    );
  }
  const axes: Axis[] = [];
  let ok = true;
  if (matrixPair) {
    if (!isMap(matrixPair.value)) {
      diag.err(
        matrixPair.value ?? matrixPair.key,
        `matrix of '${entry}' must map key → list of values`,
      );
      return undefined;
    }
    for (const ax of matrixPair.value.items as Pair[]) {
      const k = isScalar(ax.key) ? String(ax.key.value) : "";
      if (!IDENT_RE.test(k)) {
        diag.err(ax.key, `bad matrix key '${k}': use letters, digits, _ and -`);
        ok = false;
        continue;
      }
      const errors: string[] = [];
      const scope: Scope = { params: parsed.params, matrix: {}, refs };
      const vals = interpolate(diag.js(doc, ax.value), scope, errors);
      for (const e of errors) diag.err(ax.value, e);
      if (errors.length) {
        ok = false;
        continue;
      }
      const values = Array.isArray(vals) ? vals : [vals];
      if (values.length === 0) {
        diag.err(ax.value, `matrix key '${k}' of '${entry}' has no values`);
        ok = false;
      }
      axes.push({ key: k, values });
    }
  }
  const placeholders = [...entry.matchAll(PLACEHOLDER_RE)].map((m) => m[1]);
  for (const ph of placeholders) {
    if (!axes.some((a) => a.key === ph)) {
      diag.err(
        pair.key,
        `stage name '${entry}' has placeholder {${ph}} but ${
          axes.length ? `the matrix has no key '${ph}'` : "the stage has no matrix:"
        }`,
      );
      ok = false;
    }
  }
  for (const a of axes) {
    if (a.values.length > 1 && !placeholders.includes(a.key)) {
      diag.err(
        matrixPair!.value,
        `matrix key '${a.key}' has ${a.values.length} values but stage name '${entry}' lacks {${a.key}}: the names would collide`,
      );
      ok = false;
    }
  }
  return ok ? axes : undefined;
}

function combinations(axes: readonly Axis[]): Record<string, unknown>[] {
  let combos: Record<string, unknown>[] = [{}];
  for (const a of axes) combos = combos.flatMap((c) => a.values.map((v) => ({ ...c, [a.key]: v })));
  return combos;
}

/** `{key}` → the combination's value name; other placeholders stay (captures of a pattern). */
function fillPlaceholders(s: string, combo: Record<string, unknown>): string {
  return s.replace(PLACEHOLDER_RE, (all, k: string) => {
    if (k in combo) return matrixValueName(combo[k]) ?? all;
    return all;
  });
}

function expandEntry(pair: Pair, parsed: Parsed): Draft[] {
  const { diag, doc } = parsed;
  const entry = isScalar(pair.key) ? String(pair.key.value) : "";
  const body = pair.value;
  if (!isMap(body)) {
    diag.err(body ?? pair.key, `stage '${entry}' must be a mapping with at least \`uses: <kind>\``);
    return [];
  }
  const fields = entryFields(entry, body, diag);
  const usesPair = fields.get("uses");
  const matrixRefs = new Set<string>();
  const axes = matrixAxes(entry, pair, fields, parsed, matrixRefs);
  if (!axes) return [];
  const withPair = fields.get("with");
  const withValue = withPair?.value;
  // `with:` as one value: an interpolation giving a mapping, or an `!include` of one
  const withIsInterp = isScalar(withValue) && withValue.value !== null &&
    ["string", "object"].includes(typeof withValue.value);
  if (withValue != null && !isMap(withValue) && !withIsInterp) {
    diag.err(withValue, `\`with:\` of '${entry}' must be a mapping of param: value`);
  }
  const inputsPair = fields.get("inputs");
  if (inputsPair && inputsPair.value != null && !isMap(inputsPair.value)) {
    diag.err(inputsPair.value, `\`inputs:\` of '${entry}' must map alias → stage or stage/output`);
  }
  const usesRaw = usesPair ? diag.js(doc, usesPair.value) : undefined;
  const withItems = isMap(withValue) ? (withValue.items as Pair[]) : [];
  const explicit = new Set(withItems.map((q) => (isScalar(q.key) ? q.key.value : undefined)));
  const out: Draft[] = [];
  for (const combo of combinations(axes)) {
    let nameOk = true;
    const name = entry.replace(PLACEHOLDER_RE, (_a, k: string) => {
      const n = matrixValueName(combo[k]);
      if (n === undefined) nameOk = false;
      return n ?? "";
    });
    if (!nameOk) {
      diag.err(pair.key, `matrix values used in '${entry}' must be scalars or have a 'name' field`);
      continue;
    }
    if (!NAME_RE.test(name)) {
      diag.err(pair.key, `bad stage name '${name}': use letters, digits, '.', '_', '+' and '-'`);
      continue;
    }
    const refs = new Set<string>(matrixRefs);
    const scope: Scope = { params: parsed.params, matrix: combo, refs };
    const at = (node: unknown) => (errors: string[]) => {
      for (const e of errors) diag.err(node, `stage '${name}': ${e}`);
    };
    const value = (node: unknown, raw: unknown) => {
      const errors: string[] = [];
      const v = interpolate(raw, scope, errors);
      at(node)(errors);
      return v;
    };
    const uses = usesPair ? value(usesPair.value, usesRaw) : undefined;
    const given: Params = {};
    const givenNodes = new Map<string, { key: unknown; value: unknown }>();
    if (withIsInterp) {
      const all = value(withValue, diag.js(doc, withValue));
      if (!all || typeof all !== "object" || Array.isArray(all)) {
        diag.err(withValue, `\`with:\` of '${name}' must be a mapping of param: value`);
      } else {
        for (const [k, v] of Object.entries(all)) {
          given[k] = v;
          givenNodes.set(k, { key: withValue, value: withValue });
        }
      }
    }
    for (const p of withItems) {
      if (isScalar(p.key) && typeof p.key.value === "symbol") {
        // YAML merge key `<<: *anchor`: merged entries never override explicit ones.
        const merged = diag.js(doc, p.value);
        for (const m of Array.isArray(merged) ? merged : [merged]) {
          if (!m || typeof m !== "object") continue;
          for (const [mk, mv] of Object.entries(m as Record<string, unknown>)) {
            if (explicit.has(mk) || givenNodes.has(mk)) continue;
            given[mk] = value(p.value, mv);
            givenNodes.set(mk, { key: p.key, value: p.value });
          }
        }
        continue;
      }
      const k = isScalar(p.key) ? String(p.key.value) : "";
      const raw = diag.js(doc, p.value);
      if (raw === undefined) continue;
      given[k] = value(p.value, raw);
      givenNodes.set(k, { key: p.key, value: p.value });
    }
    const inputs: RawInput[] = [];
    if (inputsPair && isMap(inputsPair.value)) {
      for (const p of inputsPair.value.items as Pair[]) {
        const alias = fillPlaceholders(isScalar(p.key) ? String(p.key.value) : "", combo);
        if (!IDENT_RE.test(alias.replace(PLACEHOLDER_RE, "$1"))) {
          diag.err(p.key, `bad input alias '${alias}': use letters, digits, _ and -`);
          continue;
        }
        // A list of references: each contributes (patterns with a templated alias, in list order).
        const items = isSeq(p.value) ? p.value.items : [p.value];
        if (isSeq(p.value) && !items.length) {
          diag.err(p.value, `input '${alias}' of '${name}' lists no stage`);
        }
        for (const item of items) {
          const ref = value(item, diag.js(doc, item));
          if (typeof ref !== "string" || ref === "") {
            diag.err(item, `input '${alias}' of '${name}' must be 'stage' or 'stage/output'`);
            continue;
          }
          inputs.push({
            alias,
            ref: fillPlaceholders(ref, combo),
            aliasNode: p.key,
            valueNode: item,
          });
        }
      }
    }
    out.push({
      name,
      entry,
      keyNode: pair.key,
      uses,
      usesNode: usesPair?.value,
      withNode: withPair?.key,
      given,
      givenNodes,
      inputs,
      refs,
      matrix: combo,
    });
  }
  return out;
}
