/**
 * Phase 2, interpolate: `${{ params.NAME }}` and `${{ matrix.KEY(.FIELD)* }}` in values.
 *
 * A string that is exactly one interpolation keeps the value's type (`"${{ params.seed }}"` → 0);
 * inside a longer string a value is spliced as text (strings as they are, others as JSON).
 * @module
 */
import type { Params } from "../types.ts";
import { didYouMean } from "../usage.ts";

const EXACT_INTERP_RE = /^\$\{\{([^}]*)\}\}$/;
const INTERP_RE = /\$\{\{([^}]*)\}\}/g;
const REF_RE = /^\s*(params|matrix)\.([A-Za-z_][A-Za-z0-9_-]*)((?:\.[A-Za-z_][A-Za-z0-9_-]*)*)\s*$/;

/** What an interpolation may refer to, and what it did refer to. */
export interface Scope {
  /** Top-level params (after `--set`). */
  params: Params;
  /** The stage's matrix combination (empty outside a matrix). */
  matrix: Record<string, unknown>;
  /** Collects the names of the top-level params referred to. */
  refs: Set<string>;
}

type Resolved = { ok: true; value: unknown } | { ok: false; why: string };

function resolveRef(expr: string, scope: Scope): Resolved {
  const m = REF_RE.exec(expr);
  if (!m) {
    return {
      ok: false,
      why:
        `bad interpolation '\${{${expr}}}': use \${{ params.NAME }} or \${{ matrix.KEY }} (or \${{ matrix.KEY.FIELD }} for a matrix value that is a mapping)`,
    };
  }
  const [, space, key, path] = m;
  if (space === "params") {
    if (!(key in scope.params)) {
      const known = Object.keys(scope.params);
      return {
        ok: false,
        why: `unknown param '${key}' in \${{${expr}}}${didYouMean(key, known)}; pipeline params: ${
          known.length ? known.join(", ") : "(none; add a top-level `params:`)"
        }`,
      };
    }
    scope.refs.add(key);
    return { ok: true, value: scope.params[key] };
  }
  if (!(key in scope.matrix)) {
    const known = Object.keys(scope.matrix);
    return {
      ok: false,
      why: `unknown matrix key '${key}' in \${{${expr}}}${didYouMean(key, known)}; ${
        known.length ? `matrix keys: ${known.join(", ")}` : "this stage has no matrix"
      }`,
    };
  }
  let value: unknown = scope.matrix[key];
  for (const field of path ? path.slice(1).split(".") : []) {
    if (!value || typeof value !== "object" || !(field in value)) {
      return { ok: false, why: `matrix value '${key}' has no field '${field}' in \${{${expr}}}` };
    }
    value = (value as Record<string, unknown>)[field];
  }
  return { ok: true, value };
}

/** Interpolates `v` (recursively through arrays and mappings); problems go to `errors`. */
export function interpolate(v: unknown, scope: Scope, errors: string[]): unknown {
  if (typeof v === "string") {
    const exact = EXACT_INTERP_RE.exec(v);
    if (exact) {
      const r = resolveRef(exact[1], scope);
      if (!r.ok) errors.push(r.why);
      return r.ok ? r.value : v;
    }
    if (!v.includes("${{")) return v;
    return v.replace(INTERP_RE, (_all, expr: string) => {
      const r = resolveRef(expr, scope);
      if (!r.ok) {
        errors.push(r.why);
        return "";
      }
      return typeof r.value === "string" ? r.value : JSON.stringify(r.value);
    });
  }
  if (Array.isArray(v)) return v.map((x) => interpolate(x, scope, errors));
  if (v && typeof v === "object") {
    return Object.fromEntries(
      Object.entries(v).map(([k, x]) => [k, interpolate(x, scope, errors)]),
    );
  }
  return v;
}
