/**
 * Phase 6, targets: named sets of stages (names, patterns, or other targets), always with `all`,
 * and the default target.
 * @module
 */
import { isMap, isScalar, isSeq } from "yaml";
import type { Pair } from "yaml";
import { didYouMean } from "../usage.ts";
import type { Parsed } from "./parse.ts";
import { compilePattern, isPattern, NameIndex } from "./patterns.ts";
import { NAME_RE, short } from "./values.ts";

interface RawTarget {
  entries: { v: string; node: unknown }[];
}

/** Expands `targets:` over the stage names; returns them and the default target. */
export function targets(
  parsed: Parsed,
  names: Iterable<string>,
): { targets: Map<string, string[]>; defaultTarget: string } {
  const { diag, doc, top } = parsed;
  const index = new NameIndex(names);
  const raw = new Map<string, RawTarget>();
  const node = top.get("targets")?.value;
  if (node != null) {
    if (!isMap(node)) diag.err(node, "`targets:` must map target name → list of stages");
    else {
      for (const p of node.items as Pair[]) {
        const t = isScalar(p.key) ? String(p.key.value) : "";
        if (!NAME_RE.test(t)) {
          diag.err(p.key, `bad target name '${t}'`);
          continue;
        }
        const entries: { v: string; node: unknown }[] = [];
        for (const it of isSeq(p.value) ? p.value.items : [p.value]) {
          const v = diag.js(doc, it);
          if (typeof v !== "string") {
            diag.err(it ?? p.key, `target '${t}' entries must be stage names or globs`);
          } else entries.push({ v, node: it });
        }
        raw.set(t, { entries });
      }
    }
  }
  const out = new Map<string, string[]>();
  function expandTarget(t: string, seen: ReadonlySet<string>): string[] {
    const done = out.get(t);
    if (done) return done;
    const set = new Set<string>();
    for (const e of raw.get(t)!.entries) {
      if (index.has(e.v)) set.add(e.v);
      else if (raw.has(e.v)) {
        if (seen.has(e.v)) {
          diag.err(e.node, `target '${t}' includes itself through '${e.v}'`);
          continue;
        }
        for (const n of expandTarget(e.v, new Set([...seen, e.v]))) set.add(n);
      } else if (isPattern(e.v)) {
        const p = compilePattern(e.v);
        if (typeof p === "string") {
          diag.err(e.node, `bad pattern '${e.v}' in target '${t}': ${p}`);
          continue;
        }
        const { hits } = index.match(p);
        if (!hits.length) diag.err(e.node, `glob '${e.v}' in target '${t}' matches no stage`);
        for (const h of hits) set.add(h.name);
      } else {
        diag.err(
          e.node,
          `target '${t}' lists '${e.v}', which is neither a stage nor a target${
            didYouMean(e.v, [...index.names(), ...raw.keys()])
          }`,
        );
      }
    }
    const list = [...set];
    out.set(t, list);
    return list;
  }
  for (const t of raw.keys()) expandTarget(t, new Set([t]));
  if (!out.has("all")) out.set("all", [...index.names()]);
  let defaultTarget = "all";
  const defNode = top.get("default")?.value;
  if (defNode != null) {
    const d = diag.js(doc, defNode);
    if (typeof d !== "string" || !out.has(d)) {
      diag.err(
        defNode,
        `default target '${typeof d === "string" ? d : short(d)}' is not a target; targets: ${
          [...out.keys()].join(", ")
        }`,
      );
    } else defaultTarget = d;
  }
  return { targets: out, defaultTarget };
}
