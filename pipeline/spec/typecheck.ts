/**
 * Phase 5, type-check: each stage's params against its kind's declarations (unknown, missing,
 * wrong type, the kind's own `validate`), its declared outputs, and every `stage/output` input
 * against the outputs of the stage it names.
 * @module
 */
import { isSeq } from "yaml";
import type { Params } from "../types.ts";
import { didYouMean } from "../usage.ts";
import type { Diagnostics } from "./diagnostics.ts";
import type { Resolved } from "./resolve.ts";
import type { StageSpec } from "./types.ts";
import { checkParam, RESERVED_OUTPUTS } from "./values.ts";

/** Type-checks every stage; returns the finished stage specs in pipeline order. */
export function typeCheck(
  stages: ReadonlyMap<string, Resolved>,
  fromSet: ReadonlySet<string>,
  diag: Diagnostics,
): Map<string, StageSpec> {
  const out = new Map<string, StageSpec>();
  for (const s of stages.values()) {
    const params = checkParams(s, fromSet, diag);
    out.set(s.name, {
      name: s.name,
      entry: s.entry,
      kind: typeof s.uses === "string" ? s.uses : "",
      params,
      inputs: s.resolvedInputs,
      outputs: outputsOf(s, params, diag),
      paramRefs: [...s.refs].sort(),
      matrix: s.matrix,
      ...diag.at(s.keyNode),
    });
  }
  for (const s of stages.values()) {
    for (const inp of s.resolvedInputs) {
      const up = out.get(inp.stage);
      if (!up || inp.output === undefined || up.outputs.includes(inp.output)) continue;
      diag.err(
        s.inputNodes.get(inp.alias),
        `stage '${inp.stage}' has no output '${inp.output}' (input '${inp.alias}' of '${s.name}'); its outputs: ${
          up.outputs.join(", ") || "(none)"
        }`,
      );
    }
  }
  return out;
}

function checkParams(s: Resolved, fromSet: ReadonlySet<string>, diag: Diagnostics): Params {
  const resolved: Params = {};
  const kind = s.kind;
  if (!kind) return resolved;
  const name = s.name;
  for (const [k, n] of s.givenNodes) {
    if (!(k in kind.params)) {
      const decl = Object.keys(kind.params);
      diag.err(
        n.key,
        `unknown param '${k}' for kind '${kind.name}' (stage '${name}')${
          didYouMean(k, decl)
        }; declared: ${decl.length ? decl.join(", ") : "(none)"}`,
      );
    }
  }
  for (const [k, spec] of Object.entries(kind.params)) {
    const v = k in s.given ? s.given[k] : spec.default;
    if (v === undefined) {
      diag.err(
        s.keyNode,
        `stage '${name}' (kind '${kind.name}') is missing required param '${k}' (${spec.type}${
          spec.doc ? `: ${spec.doc}` : ""
        }); add it under with:`,
      );
      continue;
    }
    const why = checkParam(v, spec);
    if (why) {
      const via = [...s.refs].filter((r) => fromSet.has(r));
      diag.err(
        s.givenNodes.get(k)?.value ?? s.keyNode,
        `param '${k}' of stage '${name}' (kind '${kind.name}') ${why}${
          via.length ? ` (after --set ${via.join(", ")})` : ""
        }`,
      );
      continue;
    }
    resolved[k] = v;
  }
  if (!kind.validate || Object.keys(resolved).length !== Object.keys(kind.params).length) {
    return resolved;
  }
  let problems: (string | { param: string; message: string })[];
  try {
    problems = kind.validate(resolved);
  } catch (e) {
    problems = [`could not be validated: ${(e as Error).message}`];
  }
  for (const problem of problems) {
    if (typeof problem === "string") {
      diag.err(s.withNode ?? s.keyNode, `stage '${name}' (kind '${kind.name}'): ${problem}`);
      continue;
    }
    const node = s.givenNodes.get(problem.param)?.value;
    // "expected[3]: ..." points at item 3 of the list when the param is written as one
    const item = /^\w+\[(\d+)\]/.exec(problem.message);
    const at = item && isSeq(node) ? node.items[Number(item[1])] ?? node : node;
    diag.err(
      at ?? s.withNode ?? s.keyNode,
      `param '${problem.param}' of stage '${name}' (kind '${kind.name}'): ${problem.message}`,
    );
  }
  return resolved;
}

function outputsOf(s: Resolved, params: Params, diag: Diagnostics): string[] {
  const kind = s.kind;
  if (!kind) return [];
  let outputs: string[] = [];
  try {
    outputs = [...(typeof kind.outputs === "function" ? kind.outputs(params) : kind.outputs)];
  } catch (e) {
    diag.err(s.keyNode, `kind '${kind.name}' could not list outputs of '${s.name}': ${e}`);
  }
  for (const o of outputs) {
    if (
      !o || o.startsWith("/") || o.split("/").some((x) => x === ".." || x === ".") ||
      RESERVED_OUTPUTS.includes(o)
    ) {
      diag.err(s.keyNode, `kind '${kind.name}' declares a bad output name '${o}'`);
    }
  }
  return outputs;
}
