/**
 * pipeline.yaml → a validated, expanded {@link Pipeline}.
 *
 * Every error is located (`file:line:col`) from the YAML node ranges: YAML syntax errors, unknown
 * kinds (listing the known ones), unknown inputs and outputs, wrong or unknown params, missing
 * required params, duplicate names after matrix expansion, cycles (`a → b → a`), bad targets.
 * All errors are collected and thrown together as a {@link PipelineError}.
 * @module
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from "yaml";
import type { Document, Node as YNode, Pair } from "yaml";
import type { Params, ParamSpec, Registry, StageKind } from "./types.ts";
import { findCycle, formatCycle, type Graph } from "./dag.ts";
import { didYouMean } from "./usage.ts";

/** One located problem in a pipeline file. `line`/`col` are 1-based; absent for command-line errors. */
export interface Diagnostic {
  /** The pipeline file, or `--set` for command-line overrides. */
  file: string;
  /** 1-based line. */
  line?: number;
  /** 1-based column. */
  col?: number;
  /** What is wrong and what to do. */
  message: string;
}

/** Formats a diagnostic as `file:line:col: error: message`. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.line === undefined ? d.file : `${d.file}:${d.line}:${d.col ?? 1}`;
  return `${where}: error: ${d.message}`;
}

/** Validation failed: the pipeline must not run. The CLI exits with code 2. */
export class PipelineError extends Error {
  /** Every problem found, in file order. */
  readonly diagnostics: Diagnostic[];
  /** Wraps `diagnostics`; the message lists them, one per line. */
  constructor(diagnostics: Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join("\n"));
    this.name = "PipelineError";
    this.diagnostics = diagnostics;
  }
}

/** One input of a stage: `alias: stage` (the whole object) or `alias: stage/output`. */
export interface InputSpec {
  /** Name the stage sees in `ctx.inputs`. */
  alias: string;
  /** Upstream stage name. */
  stage: string;
  /** A declared output of the upstream stage, or `undefined` for its whole object directory. */
  output?: string;
}

/** One stage of the expanded DAG. */
export interface StageSpec {
  /** Unique name, placeholders filled in, e.g. `train-dse-cs`. */
  name: string;
  /** The `stages:` entry it came from, e.g. `train-dse-{variant}`. */
  entry: string;
  /** Kind name (`uses:`). */
  kind: string;
  /** Every declared param of the kind, resolved (pipeline values, `--set`, defaults). */
  params: Params;
  /** Inputs, in file order. */
  inputs: InputSpec[];
  /** Declared outputs (resolved with the params). */
  outputs: string[];
  /** Top-level params this stage references through `${{ params.x }}`. */
  paramRefs: string[];
  /** This stage's matrix combination (empty without a matrix). */
  matrix: Record<string, unknown>;
  /** Where the entry is defined. */
  line: number;
  /** Column of the entry. */
  col: number;
}

/** A validated pipeline. */
export interface Pipeline {
  /** The pipeline file as given. */
  file: string;
  /** Top-level params after `--set`. */
  params: Params;
  /** Stages in file order (matrix combinations in declaration order). */
  stages: Map<string, StageSpec>;
  /** Stage → the stages it reads (deduplicated). */
  graph: Graph;
  /** Target → stage names it lists (expanded; upstream not yet added). Always has `all`. */
  targets: Map<string, string[]>;
  /** The target `reproduce` runs without an argument. */
  defaultTarget: string;
}

/** Options of {@link parsePipeline} and {@link loadPipeline}. */
export interface LoadOptions {
  /** Kinds by name. */
  registry: Registry;
  /** `key=value` overrides of top-level params (`--set`). */
  set?: readonly string[];
}

const TOP_KEYS = ["version", "params", "stages", "targets", "default", "description"];
const STAGE_KEYS = ["uses", "with", "inputs", "matrix", "foreach", "description"];
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
const IDENT_RE = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const PLACEHOLDER_RE = /\{([A-Za-z_][A-Za-z0-9_-]*)\}/g;
const EXACT_INTERP_RE = /^\$\{\{([^}]*)\}\}$/;
const INTERP_RE = /\$\{\{([^}]*)\}\}/g;
/** File names the engine reserves inside an object directory. */
export const RESERVED_OUTPUTS: readonly string[] = ["manifest.json", "stage.log"];

/**
 * Parses a `--set` value: JSON if it parses (numbers, booleans, null, arrays, objects, quoted
 * strings), else the raw string. `1e-4` → 0.0001, `true` → true, `[1,2]` → array, `abc` → "abc".
 */
export function parseSetValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Reads and validates a pipeline file. Throws {@link PipelineError} on any problem. */
export async function loadPipeline(path: string, options: LoadOptions): Promise<Pipeline> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound ? "file not found" : String(e);
    throw new PipelineError([{
      file: path,
      message: `cannot read pipeline (${why}); pass --pipeline <file>`,
    }]);
  }
  return parsePipeline(text, { ...options, file: path });
}

function jsonType(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

/** Checks `value` against a param declaration; returns a reason or `undefined`. */
export function checkParam(value: unknown, spec: ParamSpec): string | undefined {
  const t = spec.type;
  const got = `${jsonType(value)} ${short(value)}`;
  let ok = true;
  if (t === "number") ok = typeof value === "number" && Number.isFinite(value);
  else if (t === "integer") ok = typeof value === "number" && Number.isInteger(value);
  else if (t === "string") ok = typeof value === "string";
  else if (t === "boolean") ok = typeof value === "boolean";
  else if (t === "array") ok = Array.isArray(value);
  else if (t === "object") ok = jsonType(value) === "object";
  if (!ok) return `must be ${t === "integer" ? "an integer" : `a ${t}`}, got ${got}`;
  if (spec.enum && !spec.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    return `must be one of ${spec.enum.map((e) => JSON.stringify(e)).join(", ")}, got ${
      short(value)
    }`;
  }
  return undefined;
}

function short(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** Readable name of a matrix value for `{key}` placeholders: `1e-4` → `0.0001`, `{name: x}` → `x`. */
export function matrixValueName(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (v && typeof v === "object" && !Array.isArray(v)) {
    const n = (v as Record<string, unknown>).name;
    if (typeof n === "string" || typeof n === "number") return String(n);
  }
  return undefined;
}

function globToRegExp(glob: string): RegExp {
  const re = glob.replace(/[.+^${}()|\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${re}$`);
}

/** True if `s` has glob characters (`*`, `?`). */
export function isGlob(s: string): boolean {
  return /[*?]/.test(s);
}

/** Stage names matching a glob (`*`, `?`), in pipeline order. */
export function matchGlob(names: Iterable<string>, glob: string): string[] {
  const re = globToRegExp(glob);
  return [...names].filter((n) => re.test(n));
}

/** Parses and validates pipeline text. `file` is used in diagnostics. */
export function parsePipeline(text: string, options: LoadOptions & { file: string }): Pipeline {
  const { file, registry } = options;
  const lc = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter: lc,
    prettyErrors: false,
    uniqueKeys: true,
    merge: true,
  });
  const diags: Diagnostic[] = [];
  const at = (node: unknown) => {
    const r = (node as YNode | null | undefined)?.range;
    const p = lc.linePos(r ? r[0] : 0);
    return { line: p.line, col: p.col };
  };
  const err = (node: unknown, message: string) => diags.push({ file, ...at(node), message });
  const fail = (): never => {
    diags.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0));
    throw new PipelineError(diags);
  };

  for (const e of doc.errors) {
    const p = lc.linePos(e.pos?.[0] ?? 0);
    diags.push({
      file,
      line: p.line,
      col: p.col,
      message: `YAML: ${e.message.split(/ at line \d+, column \d+/)[0]}`,
    });
  }
  if (diags.length) fail();
  const js = (node: unknown): unknown => {
    try {
      return (node as YNode).toJS(doc as Document);
    } catch (e) {
      err(node, `YAML: ${(e as Error).message}`);
      return undefined;
    }
  };

  const root = doc.contents;
  if (!isMap(root)) {
    err(root, "a pipeline must be a mapping with `stages:` (and optionally `params:`, `targets:`)");
    fail();
  }
  const top = new Map<string, Pair>();
  for (const pair of (root as { items: Pair[] }).items) {
    const k = isScalar(pair.key) ? String(pair.key.value) : undefined;
    if (k === undefined || !TOP_KEYS.includes(k)) {
      err(
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
  if (version && js(version.value) !== 1) {
    err(
      version.value,
      `unsupported version ${short(js(version.value))}; this engine reads version 1`,
    );
  }

  // ---- params and --set
  const params: Params = {};
  const paramsNode = top.get("params")?.value;
  if (paramsNode != null) {
    if (!isMap(paramsNode)) err(paramsNode, "`params:` must be a mapping of name: value");
    else {
      for (const pair of paramsNode.items) {
        const k = isScalar(pair.key) ? String(pair.key.value) : "";
        if (!IDENT_RE.test(k)) {
          err(pair.key, `bad param name '${k}': use letters, digits, _ and -`);
          continue;
        }
        params[k] = js(pair.value) ?? null;
      }
    }
  }
  const fromSet = new Set<string>();
  for (const s of options.set ?? []) {
    const eq = s.indexOf("=");
    if (eq <= 0) {
      diags.push({ file: `--set ${s}`, message: "expected --set key=value" });
      continue;
    }
    const k = s.slice(0, eq);
    const v = parseSetValue(s.slice(eq + 1));
    if (!(k in params)) {
      const known = Object.keys(params);
      diags.push({
        file: `--set ${s}`,
        message: `unknown param '${k}'${didYouMean(k, known)}; pipeline params: ${
          known.length ? known.join(", ") : "(none)"
        }`,
      });
      continue;
    }
    const was = jsonType(params[k]);
    if (params[k] !== null && jsonType(v) !== was) {
      diags.push({
        file: `--set ${s}`,
        message: `param '${k}' is a ${was} (${short(params[k])}), got ${jsonType(v)} ${short(v)}`,
      });
      continue;
    }
    params[k] = v;
    fromSet.add(k);
  }

  // ---- interpolation
  function resolveRef(
    expr: string,
    matrix: Record<string, unknown>,
    refs: Set<string>,
  ): { ok: true; value: unknown } | { ok: false; why: string } {
    const m = /^\s*(params|matrix)\.([A-Za-z_][A-Za-z0-9_-]*)((?:\.[A-Za-z_][A-Za-z0-9_-]*)*)\s*$/
      .exec(expr);
    if (!m) {
      return {
        ok: false,
        why:
          `bad interpolation '\${{${expr}}}': use \${{ params.NAME }} or \${{ matrix.KEY }} (or \${{ matrix.KEY.FIELD }} for a matrix value that is a mapping)`,
      };
    }
    if (m[1] === "params") {
      if (!(m[2] in params)) {
        const known = Object.keys(params);
        return {
          ok: false,
          why: `unknown param '${m[2]}' in \${{${expr}}}${
            didYouMean(m[2], known)
          }; pipeline params: ${
            known.length ? known.join(", ") : "(none; add a top-level `params:`)"
          }`,
        };
      }
      refs.add(m[2]);
      return { ok: true, value: params[m[2]] };
    }
    if (!(m[2] in matrix)) {
      const known = Object.keys(matrix);
      return {
        ok: false,
        why: `unknown matrix key '${m[2]}' in \${{${expr}}}${didYouMean(m[2], known)}; ${
          known.length ? `matrix keys: ${known.join(", ")}` : "this stage has no matrix"
        }`,
      };
    }
    let value: unknown = matrix[m[2]];
    for (const field of m[3] ? m[3].slice(1).split(".") : []) {
      if (!value || typeof value !== "object" || !(field in value)) {
        return {
          ok: false,
          why: `matrix value '${m[2]}' has no field '${field}' in \${{${expr}}}`,
        };
      }
      value = (value as Record<string, unknown>)[field];
    }
    return { ok: true, value };
  }
  function interpolate(
    v: unknown,
    matrix: Record<string, unknown>,
    refs: Set<string>,
    errors: string[],
  ): unknown {
    if (typeof v === "string") {
      const exact = EXACT_INTERP_RE.exec(v);
      if (exact) {
        const r = resolveRef(exact[1], matrix, refs);
        if (!r.ok) errors.push(r.why);
        return r.ok ? r.value : v;
      }
      if (v.includes("${{")) {
        return v.replace(INTERP_RE, (_all, expr: string) => {
          const r = resolveRef(expr, matrix, refs);
          if (!r.ok) {
            errors.push(r.why);
            return "";
          }
          return typeof r.value === "string" ? r.value : JSON.stringify(r.value);
        });
      }
      return v;
    }
    if (Array.isArray(v)) return v.map((x) => interpolate(x, matrix, refs, errors));
    if (v && typeof v === "object") {
      return Object.fromEntries(
        Object.entries(v).map(([k, x]) => [k, interpolate(x, matrix, refs, errors)]),
      );
    }
    return v;
  }

  // ---- stages
  const stages = new Map<string, StageSpec>();
  const stageNodes = new Map<string, { key: unknown; inputs: Map<string, unknown> }>();
  const stagesNode = top.get("stages")?.value;
  if (!isMap(stagesNode)) {
    err(
      stagesNode ?? root,
      stagesNode
        ? "`stages:` must be a mapping of stage name → { uses, with, inputs }"
        : "no `stages:` mapping: a pipeline needs `stages:` with at least one stage",
    );
    fail();
  }
  const known = [...registry.keys()].sort();
  for (const pair of (stagesNode as { items: Pair[] }).items) {
    const entry = isScalar(pair.key) ? String(pair.key.value) : "";
    const entryPos = at(pair.key);
    const body = pair.value;
    if (!isMap(body)) {
      err(body ?? pair.key, `stage '${entry}' must be a mapping with at least \`uses: <kind>\``);
      continue;
    }
    const fields = new Map<string, Pair>();
    for (const f of body.items) {
      const k = isScalar(f.key) ? String(f.key.value) : "";
      if (!STAGE_KEYS.includes(k)) {
        err(
          f.key,
          `unknown field '${k}' in stage '${entry}'${didYouMean(k, STAGE_KEYS)}; allowed: ${
            STAGE_KEYS.join(", ")
          }`,
        );
      } else fields.set(k, f);
    }
    const usesPair = fields.get("uses");
    const kindName = usesPair ? js(usesPair.value) : undefined;
    let kind: StageKind | undefined;
    if (!usesPair) {
      err(pair.key, `stage '${entry}' has no \`uses: <kind>\`; known kinds: ${known.join(", ")}`);
    } else if (typeof kindName !== "string") {
      err(usesPair.value, `\`uses:\` of '${entry}' must be a kind name`);
    } else {
      kind = registry.get(kindName);
      if (!kind) {
        err(
          usesPair.value,
          `unknown stage kind '${kindName}' in stage '${entry}'${
            didYouMean(kindName, known)
          }; known kinds: ${known.length ? known.join(", ") : "(none registered)"}`,
        );
      }
    }

    // matrix
    const matrixPair = fields.get("matrix") ?? fields.get("foreach");
    if (fields.has("matrix") && fields.has("foreach")) {
      err(fields.get("foreach")!.key, `stage '${entry}' has both matrix: and foreach:; keep one`);
    }
    const axes: { key: string; values: unknown[] }[] = [];
    const matrixRefs = new Set<string>();
    let matrixOk = true;
    if (matrixPair) {
      if (!isMap(matrixPair.value)) {
        err(
          matrixPair.value ?? matrixPair.key,
          `matrix of '${entry}' must map key → list of values`,
        );
        matrixOk = false;
      } else {
        for (const ax of matrixPair.value.items) {
          const k = isScalar(ax.key) ? String(ax.key.value) : "";
          if (!IDENT_RE.test(k)) {
            err(ax.key, `bad matrix key '${k}': use letters, digits, _ and -`);
            matrixOk = false;
            continue;
          }
          const errors: string[] = [];
          let vals = interpolate(js(ax.value), {}, matrixRefs, errors);
          if (errors.length) {
            for (const e of errors) err(ax.value, e);
            matrixOk = false;
            continue;
          }
          if (!Array.isArray(vals)) vals = [vals];
          const arr = vals as unknown[];
          if (arr.length === 0) {
            err(ax.value, `matrix key '${k}' of '${entry}' has no values`);
            matrixOk = false;
          }
          axes.push({ key: k, values: arr });
        }
      }
    }
    const placeholders = [...entry.matchAll(PLACEHOLDER_RE)].map((m) => m[1]);
    for (const ph of placeholders) {
      if (!axes.some((a) => a.key === ph)) {
        err(
          pair.key,
          `stage name '${entry}' has placeholder {${ph}} but ${
            axes.length ? `the matrix has no key '${ph}'` : "the stage has no matrix:"
          }`,
        );
        matrixOk = false;
      }
    }
    for (const a of axes) {
      if (a.values.length > 1 && !placeholders.includes(a.key)) {
        err(
          matrixPair!.value,
          `matrix key '${a.key}' has ${a.values.length} values but stage name '${entry}' lacks {${a.key}}: the names would collide`,
        );
        matrixOk = false;
      }
    }
    if (!matrixOk) continue;
    let combos: Record<string, unknown>[] = [{}];
    for (const a of axes) {
      combos = combos.flatMap((c) => a.values.map((v) => ({ ...c, [a.key]: v })));
    }

    const withPair = fields.get("with");
    if (withPair && withPair.value != null && !isMap(withPair.value)) {
      err(withPair.value, `\`with:\` of '${entry}' must be a mapping of param: value`);
    }
    const inputsPair = fields.get("inputs");
    if (inputsPair && inputsPair.value != null && !isMap(inputsPair.value)) {
      err(inputsPair.value, `\`inputs:\` of '${entry}' must map alias → stage or stage/output`);
    }

    for (const combo of combos) {
      // name
      let nameOk = true;
      const name = entry.replace(PLACEHOLDER_RE, (_a, k: string) => {
        const n = matrixValueName(combo[k]);
        if (n === undefined) {
          nameOk = false;
          return "";
        }
        return n;
      });
      if (!nameOk) {
        err(pair.key, `matrix values used in '${entry}' must be scalars or have a 'name' field`);
        continue;
      }
      if (!NAME_RE.test(name)) {
        err(pair.key, `bad stage name '${name}': use letters, digits, '.', '_', '+' and '-'`);
        continue;
      }
      const refs = new Set<string>(matrixRefs);
      // params
      const given: Params = {};
      const givenNodes = new Map<string, { key: unknown; value: unknown }>();
      if (withPair && isMap(withPair.value)) {
        for (const p of withPair.value.items) {
          if (isScalar(p.key) && typeof p.key.value === "symbol") {
            // YAML merge key `<<: *anchor`: merged entries never override explicit ones.
            const merged = js(p.value);
            const maps = Array.isArray(merged) ? merged : [merged];
            for (const m of maps) {
              if (!m || typeof m !== "object") continue;
              for (const [mk, mv] of Object.entries(m as Record<string, unknown>)) {
                if (withPair.value.items.some((q) => isScalar(q.key) && q.key.value === mk)) {
                  continue;
                }
                if (givenNodes.has(mk)) continue;
                const errors: string[] = [];
                given[mk] = interpolate(mv, combo, refs, errors);
                for (const e of errors) err(p.value, `stage '${name}': ${e}`);
                givenNodes.set(mk, { key: p.key, value: p.value });
              }
            }
            continue;
          }
          const k = isScalar(p.key) ? String(p.key.value) : "";
          const errors: string[] = [];
          const raw = js(p.value);
          if (raw === undefined) continue;
          given[k] = interpolate(raw, combo, refs, errors);
          for (const e of errors) err(p.value, `stage '${name}': ${e}`);
          givenNodes.set(k, { key: p.key, value: p.value });
        }
      }
      const resolved: Params = {};
      if (kind) {
        for (const [k, n] of givenNodes) {
          if (!(k in kind.params)) {
            const decl = Object.keys(kind.params);
            err(
              n.key,
              `unknown param '${k}' for kind '${kind.name}' (stage '${name}')${
                didYouMean(k, decl)
              }; declared: ${decl.length ? decl.join(", ") : "(none)"}`,
            );
          }
        }
        for (const [k, spec] of Object.entries(kind.params)) {
          const v = k in given ? given[k] : spec.default;
          if (v === undefined) {
            err(
              pair.key,
              `stage '${name}' (kind '${kind.name}') is missing required param '${k}' (${spec.type}${
                spec.doc ? `: ${spec.doc}` : ""
              }); add it under with:`,
            );
            continue;
          }
          const why = checkParam(v, spec);
          if (why) {
            const via = [...refs].filter((r) => fromSet.has(r));
            err(
              givenNodes.get(k)?.value ?? pair.key,
              `param '${k}' of stage '${name}' (kind '${kind.name}') ${why}${
                via.length ? ` (after --set ${via.join(", ")})` : ""
              }`,
            );
            continue;
          }
          resolved[k] = v;
        }
        if (kind.validate && Object.keys(resolved).length === Object.keys(kind.params).length) {
          let problems: (string | { param: string; message: string })[];
          try {
            problems = kind.validate(resolved);
          } catch (e) {
            problems = [`could not be validated: ${(e as Error).message}`];
          }
          for (const problem of problems) {
            if (typeof problem === "string") {
              err(withPair?.key ?? pair.key, `stage '${name}' (kind '${kind.name}'): ${problem}`);
              continue;
            }
            const node = givenNodes.get(problem.param)?.value;
            // "expected[3]: ..." points at item 3 of the list when the param is written as one
            const item = /^\w+\[(\d+)\]/.exec(problem.message);
            const at = item && isSeq(node) ? node.items[Number(item[1])] ?? node : node;
            err(
              at ?? withPair?.key ?? pair.key,
              `param '${problem.param}' of stage '${name}' (kind '${kind.name}'): ${problem.message}`,
            );
          }
        }
      }
      // inputs
      const inputs: InputSpec[] = [];
      const inputNodes = new Map<string, unknown>();
      if (inputsPair && isMap(inputsPair.value)) {
        for (const p of inputsPair.value.items) {
          const alias = isScalar(p.key) ? String(p.key.value) : "";
          if (!IDENT_RE.test(alias)) {
            err(p.key, `bad input alias '${alias}': use letters, digits, _ and -`);
            continue;
          }
          const errors: string[] = [];
          let ref = interpolate(js(p.value), combo, refs, errors);
          for (const e of errors) err(p.value, `stage '${name}': ${e}`);
          if (typeof ref !== "string" || ref === "") {
            err(p.value, `input '${alias}' of '${name}' must be 'stage' or 'stage/output'`);
            continue;
          }
          ref = ref.replace(PLACEHOLDER_RE, (all, k: string) => {
            if (k in combo) return matrixValueName(combo[k]) ?? all;
            return all;
          });
          if (kind && kind.inputs !== "any") {
            const declared = Object.keys(kind.inputs ?? {});
            if (!declared.includes(alias)) {
              err(
                p.key,
                `unknown input '${alias}' of stage '${name}': kind '${kind.name}' ${
                  declared.length
                    ? `takes ${declared.map((d) => `'${d}'`).join(", ")}`
                    : "takes no inputs"
                }${declared.length === 1 ? ` (write inputs: { ${declared[0]}: ${ref} })` : ""}`,
              );
              continue;
            }
          }
          const s = ref as string;
          const slash = s.indexOf("/");
          const stage = slash < 0 ? s : s.slice(0, slash);
          const output = slash < 0 ? undefined : s.slice(slash + 1);
          inputs.push({ alias, stage, output });
          inputNodes.set(alias, p.value);
        }
      }
      // outputs
      let outputs: string[] = [];
      if (kind) {
        try {
          outputs = [
            ...(typeof kind.outputs === "function" ? kind.outputs(resolved) : kind.outputs),
          ];
        } catch (e) {
          err(pair.key, `kind '${kind.name}' could not list outputs of '${name}': ${e}`);
        }
        for (const o of outputs) {
          if (
            !o || o.startsWith("/") || o.split("/").some((x) => x === ".." || x === ".") ||
            RESERVED_OUTPUTS.includes(o)
          ) {
            err(pair.key, `kind '${kind.name}' declares a bad output name '${o}'`);
          }
        }
      }
      const prev = stages.get(name);
      if (prev) {
        err(
          pair.key,
          `duplicate stage name '${name}' (also defined by '${prev.entry}' at line ${prev.line}); rename one`,
        );
        continue;
      }
      stages.set(name, {
        name,
        entry,
        kind: typeof kindName === "string" ? kindName : "",
        params: resolved,
        inputs,
        outputs,
        paramRefs: [...refs].sort(),
        matrix: combo,
        line: entryPos.line,
        col: entryPos.col,
      });
      stageNodes.set(name, { key: pair.key, inputs: inputNodes });
    }
  }

  // ---- glob inputs (`alias: "p-eval-*-labelme"`) become one input per matching stage, named
  // `alias:stage`, in pipeline order
  for (const s of stages.values()) {
    if (!s.inputs.some((i) => isGlob(i.stage))) continue;
    const nodes = stageNodes.get(s.name)!.inputs;
    const expanded: InputSpec[] = [];
    for (const inp of s.inputs) {
      if (!isGlob(inp.stage)) {
        expanded.push(inp);
        continue;
      }
      const hits = matchGlob(stages.keys(), inp.stage).filter((n) => n !== s.name);
      if (!hits.length) {
        err(
          nodes.get(inp.alias),
          `input '${inp.alias}' of stage '${s.name}': the pattern '${inp.stage}' matches no stage`,
        );
      }
      for (const stage of hits) {
        const alias = `${inp.alias}:${stage}`;
        expanded.push({ alias, stage, output: inp.output });
        nodes.set(alias, nodes.get(inp.alias));
      }
    }
    s.inputs = expanded;
  }

  // ---- inputs refer to real stages and outputs
  const graph = new Map<string, string[]>();
  for (const s of stages.values()) {
    const deps: string[] = [];
    for (const inp of s.inputs) {
      const node = stageNodes.get(s.name)!.inputs.get(inp.alias);
      const up = stages.get(inp.stage);
      if (!up) {
        err(
          node,
          `unknown input '${inp.stage}' (input '${inp.alias}' of stage '${s.name}'): no such stage${
            didYouMean(inp.stage, stages.keys())
          }`,
        );
        continue;
      }
      if (inp.output !== undefined && !up.outputs.includes(inp.output)) {
        err(
          node,
          `stage '${inp.stage}' has no output '${inp.output}' (input '${inp.alias}' of '${s.name}'); its outputs: ${
            up.outputs.join(", ") || "(none)"
          }`,
        );
        continue;
      }
      if (!deps.includes(inp.stage)) deps.push(inp.stage);
    }
    graph.set(s.name, deps);
  }
  const cycle = findCycle(graph);
  if (cycle) {
    const first = stageNodes.get(cycle[0])!;
    const inp = stages.get(cycle[0])!.inputs.find((i) => i.stage === cycle[1]);
    err(inp ? first.inputs.get(inp.alias) : first.key, `dependency cycle: ${formatCycle(cycle)}`);
  }

  // ---- targets
  const targets = new Map<string, string[]>();
  const targetsNode = top.get("targets")?.value;
  const rawTargets = new Map<string, { node: unknown; entries: { v: string; node: unknown }[] }>();
  if (targetsNode != null) {
    if (!isMap(targetsNode)) err(targetsNode, "`targets:` must map target name → list of stages");
    else {
      for (const p of targetsNode.items) {
        const t = isScalar(p.key) ? String(p.key.value) : "";
        if (!NAME_RE.test(t)) {
          err(p.key, `bad target name '${t}'`);
          continue;
        }
        const entries: { v: string; node: unknown }[] = [];
        const items = isSeq(p.value) ? p.value.items : [p.value];
        for (const it of items) {
          const v = js(it);
          if (typeof v !== "string") {
            err(it ?? p.key, `target '${t}' entries must be stage names or globs`);
          } else entries.push({ v, node: it });
        }
        rawTargets.set(t, { node: p.key, entries });
      }
    }
  }
  function expandTarget(t: string, seen: Set<string>): string[] {
    if (targets.has(t)) return targets.get(t)!;
    const raw = rawTargets.get(t)!;
    const out: string[] = [];
    const add = (n: string) => {
      if (!out.includes(n)) out.push(n);
    };
    for (const e of raw.entries) {
      if (stages.has(e.v)) add(e.v);
      else if (rawTargets.has(e.v)) {
        if (seen.has(e.v)) {
          err(e.node, `target '${t}' includes itself through '${e.v}'`);
          continue;
        }
        for (const n of expandTarget(e.v, new Set([...seen, e.v]))) add(n);
      } else if (isGlob(e.v)) {
        const m = matchGlob(stages.keys(), e.v);
        if (!m.length) err(e.node, `glob '${e.v}' in target '${t}' matches no stage`);
        m.forEach(add);
      } else {
        err(
          e.node,
          `target '${t}' lists '${e.v}', which is neither a stage nor a target${
            didYouMean(e.v, [...stages.keys(), ...rawTargets.keys()])
          }`,
        );
      }
    }
    targets.set(t, out);
    return out;
  }
  for (const t of rawTargets.keys()) expandTarget(t, new Set([t]));
  if (!targets.has("all")) targets.set("all", [...stages.keys()]);
  let defaultTarget = "all";
  const defNode = top.get("default")?.value;
  if (defNode != null) {
    const d = js(defNode);
    if (typeof d !== "string" || !targets.has(d)) {
      err(
        defNode,
        `default target '${typeof d === "string" ? d : short(d)}' is not a target; targets: ${
          [...targets.keys()].join(", ")
        }`,
      );
    } else defaultTarget = d;
  }
  if (diags.length) fail();
  return { file, params, stages, graph, targets, defaultTarget };
}
