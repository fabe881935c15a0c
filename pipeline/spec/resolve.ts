/**
 * Phase 4, resolve: each draft's kind, and its input references to stages. A pattern input
 * (`*`, `?`, `{capture}`) becomes one input per matching stage, in pipeline order, named
 * `alias:stage`, or named by the alias template when the alias uses the captures
 * (`"{m}": "eval-{m}-none-wiki"` → inputs `scm`, `sm`, …). Ends with the dependency graph, checked
 * for cycles.
 * @module
 */
import { findCycle, formatCycle } from "../dag.ts";
import type { Registry, StageKind } from "../types.ts";
import { didYouMean } from "../usage.ts";
import type { Diagnostics } from "./diagnostics.ts";
import type { Draft, RawInput } from "./expand.ts";
import { compilePattern, isPattern, NameIndex } from "./patterns.ts";
import type { InputSpec } from "./types.ts";
import { PLACEHOLDER_RE } from "./values.ts";

/** A draft with its kind and inputs resolved. */
export interface Resolved extends Draft {
  /** The kind, if `uses:` names a registered one. */
  kind?: StageKind;
  /** Inputs after pattern expansion. */
  resolvedInputs: InputSpec[];
  /** Input alias → the YAML node of its reference (for later problems). */
  inputNodes: Map<string, unknown>;
}

/** Resolves kinds and inputs of every draft; returns them by name and the graph. */
export function resolve(
  drafts: readonly Draft[],
  registry: Registry,
  diag: Diagnostics,
): { stages: Map<string, Resolved>; graph: Map<string, string[]> } {
  const known = [...registry.keys()].sort();
  const index = new NameIndex(drafts.map((d) => d.name));
  const stages = new Map<string, Resolved>();
  for (const d of drafts) {
    const kind = resolveKind(d, registry, known, diag);
    const r: Resolved = { ...d, kind, resolvedInputs: [], inputNodes: new Map() };
    for (const inp of d.inputs) {
      if (!aliasDeclared(r, inp, diag)) continue;
      const slash = inp.ref.indexOf("/");
      const stage = slash < 0 ? inp.ref : inp.ref.slice(0, slash);
      const output = slash < 0 ? undefined : inp.ref.slice(slash + 1);
      if (isPattern(stage)) {
        expandPattern(r, inp, { stage, output }, index, diag);
        continue;
      }
      const cap = /\{([A-Za-z_][A-Za-z0-9_-]*)\}/.exec(inp.alias)?.[1];
      if (cap !== undefined) {
        diag.err(
          inp.aliasNode,
          `alias '${inp.alias}' of stage '${d.name}' uses {${cap}}, but '${inp.ref}' is not a pattern that captures it`,
        );
        continue;
      }
      r.resolvedInputs.push({ alias: inp.alias, stage, output });
      r.inputNodes.set(inp.alias, inp.valueNode);
    }
    stages.set(d.name, r);
  }
  const graph = new Map<string, string[]>();
  for (const s of stages.values()) {
    const aliases = new Set<string>();
    for (const inp of s.resolvedInputs) {
      if (aliases.has(inp.alias)) {
        diag.err(
          s.inputNodes.get(inp.alias),
          `stage '${s.name}' has two inputs named '${inp.alias}'; rename one`,
        );
      }
      aliases.add(inp.alias);
    }
    const deps = new Set<string>();
    for (const inp of s.resolvedInputs) {
      if (!stages.has(inp.stage)) {
        diag.err(
          s.inputNodes.get(inp.alias),
          `unknown input '${inp.stage}' (input '${inp.alias}' of stage '${s.name}'): no such stage${
            didYouMean(inp.stage, stages.keys())
          }`,
        );
        continue;
      }
      deps.add(inp.stage);
    }
    graph.set(s.name, [...deps]);
  }
  const cycle = findCycle(graph);
  if (cycle) {
    const first = stages.get(cycle[0])!;
    const inp = first.resolvedInputs.find((i) => i.stage === cycle[1]);
    diag.err(
      inp ? first.inputNodes.get(inp.alias) : first.keyNode,
      `dependency cycle: ${formatCycle(cycle)}`,
    );
  }
  return { stages, graph };
}

function resolveKind(
  d: Draft,
  registry: Registry,
  known: readonly string[],
  diag: Diagnostics,
): StageKind | undefined {
  if (d.usesNode === undefined) {
    diag.err(
      d.keyNode,
      `stage '${d.entry}' has no \`uses: <kind>\`; known kinds: ${known.join(", ")}`,
    );
    return undefined;
  }
  if (typeof d.uses !== "string") {
    diag.err(d.usesNode, `\`uses:\` of '${d.entry}' must be a kind name`);
    return undefined;
  }
  const kind = registry.get(d.uses);
  if (!kind) {
    diag.err(
      d.usesNode,
      `unknown stage kind '${d.uses}' in stage '${d.entry}'${
        didYouMean(d.uses, known)
      }; known kinds: ${known.length ? known.join(", ") : "(none registered)"}`,
    );
  }
  return kind;
}

/** A kind that declares its inputs accepts only those aliases (a pattern's alias as written). */
function aliasDeclared(r: Resolved, inp: RawInput, diag: Diagnostics): boolean {
  if (!r.kind || r.kind.inputs === "any") return true;
  const declared = Object.keys(r.kind.inputs ?? {});
  if (declared.includes(inp.alias)) return true;
  diag.err(
    inp.aliasNode,
    `unknown input '${inp.alias}' of stage '${r.name}': kind '${r.kind.name}' ${
      declared.length ? `takes ${declared.map((d) => `'${d}'`).join(", ")}` : "takes no inputs"
    }${declared.length === 1 ? ` (write inputs: { ${declared[0]}: ${inp.ref} })` : ""}`,
  );
  return false;
}

function expandPattern(
  r: Resolved,
  inp: RawInput,
  ref: { stage: string; output?: string },
  index: NameIndex,
  diag: Diagnostics,
): void {
  const where = `input '${inp.alias}' of stage '${r.name}'`;
  const p = compilePattern(ref.stage);
  if (typeof p === "string") {
    diag.err(inp.valueNode, `${where}: bad pattern '${ref.stage}': ${p}`);
    return;
  }
  const aliasCaps = [...inp.alias.matchAll(PLACEHOLDER_RE)].map((m) => m[1]);
  const missing = aliasCaps.find((c) => !p.captures.includes(c));
  if (missing) {
    diag.err(
      inp.aliasNode,
      `${where}: the alias uses {${missing}}, which the pattern '${ref.stage}' does not capture${
        p.captures.length ? ` (it captures ${p.captures.map((c) => `{${c}}`).join(", ")})` : ""
      }`,
    );
    return;
  }
  const { hits, ambiguous } = index.match(p);
  for (const a of ambiguous) {
    diag.err(
      inp.valueNode,
      `${where}: the pattern '${ref.stage}' matches ${a}; put a literal between the captures or list a capture's values as {name:a|b}`,
    );
  }
  const own = hits.filter((h) => h.name !== r.name);
  if (!own.length && !ambiguous.length) {
    diag.err(inp.valueNode, `${where}: the pattern '${ref.stage}' matches no stage`);
  }
  const seen = new Map<string, string>();
  for (const h of own) {
    const alias = aliasCaps.length
      ? inp.alias.replace(PLACEHOLDER_RE, (_a, c: string) => h.captures[c])
      : `${inp.alias}:${h.name}`;
    const dup = seen.get(alias);
    if (dup !== undefined) {
      diag.err(
        inp.aliasNode,
        `${where}: '${dup}' and '${h.name}' both become input '${alias}'; use more captures in the alias`,
      );
      continue;
    }
    seen.set(alias, h.name);
    const spec: InputSpec = { alias, stage: h.name, output: ref.output };
    if (p.captures.length) spec.captures = h.captures;
    r.resolvedInputs.push(spec);
    r.inputNodes.set(alias, inp.valueNode);
  }
}
