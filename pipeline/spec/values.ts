/**
 * Values in a pipeline: names, `--set` values, matrix values in stage names, and checking a
 * value against a kind's param declaration.
 * @module
 */
import type { ParamSpec } from "../types.ts";

/** A stage or target name. */
export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
/** A param name, matrix key, capture name or input alias. */
export const IDENT_RE = /^[A-Za-z_][A-Za-z0-9_-]*$/;
/** `{key}` in a stage name, an input reference or an alias. */
export const PLACEHOLDER_RE = /\{([A-Za-z_][A-Za-z0-9_-]*)\}/g;
/** File names the engine reserves inside an object directory. */
export const RESERVED_OUTPUTS: readonly string[] = ["manifest.json", "stage.log"];

/** `null`, `array`, or the `typeof` of a value. */
export function jsonType(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

/** A value as JSON, cut to 60 characters. */
export function short(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

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
