/**
 * How the CLI prints an invalid pipeline: the first error with its source line and a caret,
 * then the others up to a cap.
 * @module
 */
import { formatDiagnostic, type PipelineError } from "../spec.ts";

/** Most spec errors shown; YAML syntax errors after the first usually follow from it. */
const MAX_SPEC_ERRORS = 20;

/**
 * Prints a pipeline's errors: the first with a source excerpt and a caret, then the others up
 * to a cap (only the first of YAML syntax errors, whose followers are mostly its echoes).
 */
export function reportPipelineError(e: PipelineError, err: (s: string) => void): void {
  const ds = e.diagnostics;
  if (!ds.length) return;
  err(formatDiagnostic(ds[0]));
  for (const l of sourceExcerpt(ds[0])) err(l);
  const cap = ds[0].message.startsWith("YAML:") ? 1 : MAX_SPEC_ERRORS;
  for (const d of ds.slice(1, cap)) err(formatDiagnostic(d));
  if (ds.length > cap) {
    err(
      `... and ${ds.length - cap} more error(s)${
        cap === 1 ? ", most of them caused by this one: fix it and run again" : ""
      }`,
    );
  }
  err(`pipeline invalid: ${ds.length} error(s); nothing was run`);
}

/** The diagnostic's source line (tabs shown as →) and a caret under its column. */
function sourceExcerpt(d: { file: string; line?: number; col?: number }): string[] {
  if (d.line === undefined) return [];
  let text: string;
  try {
    text = Deno.readTextFileSync(d.file);
  } catch {
    return [];
  }
  const line = text.split(/\r?\n/)[d.line - 1];
  if (line === undefined) return [];
  const num = String(d.line);
  const shown = line.replaceAll("\t", "→");
  const col = Math.max(1, Math.min(d.col ?? 1, shown.length + 1));
  return [
    `  ${num} | ${shown.length > 200 ? `${shown.slice(0, 200)}…` : shown}`,
    `  ${" ".repeat(num.length)} | ${" ".repeat(col - 1)}^${
      line.includes("\t") ? "  (→ is a tab: indent with spaces)" : ""
    }`,
  ];
}
