/**
 * Numeric CSV / TSV / whitespace-separated matrices, for users who bring their own features.
 * @module
 */
import type { Matrix } from "../linalg/matrix.ts";

/** Options of {@link parseCsv}. */
export interface CsvOptions {
  /** `true`: the first line is a header; `false`: it is data; `"auto"` (default): a header if any
   * of its fields is not a number. */
  header?: boolean | "auto";
  /** Field delimiter; default: detected from the first data line (tab, comma, semicolon, spaces). */
  delimiter?: string;
  /** Name used in error messages. */
  source?: string;
}

/** A parsed numeric table. */
export interface CsvTable {
  /** Column names, if the file had a header line. */
  header?: string[];
  /** The values, one row per data line. */
  matrix: Matrix;
}

function detectDelimiter(line: string): string | RegExp {
  if (line.includes("\t")) return "\t";
  if (line.includes(",")) return ",";
  if (line.includes(";")) return ";";
  return /\s+/;
}

function parseNumber(s: string): number {
  const t = s.trim();
  if (t === "") return NaN;
  if (/^[+-]?nan$/i.test(t)) return NaN;
  if (/^[+-]?inf(inity)?$/i.test(t)) return t.startsWith("-") ? -Infinity : Infinity;
  const v = Number(t);
  return Number.isNaN(v) ? Number.NaN : v;
}

function isNumeric(s: string): boolean {
  const t = s.trim();
  return /^[+-]?(nan|inf(inity)?)$/i.test(t) || (t !== "" && !Number.isNaN(Number(t)));
}

/**
 * Parse a numeric table. Blank lines and lines starting with `#` are skipped; every data line
 * must have the same number of fields, and every field must be a number (`NaN`/`Inf` allowed).
 */
export function parseCsv(text: string, options: CsvOptions = {}): CsvTable {
  const where = options.source ?? "CSV";
  const lines = text.split(/\r?\n/).map((l, i) => ({ l, n: i + 1 })).filter(({ l }) =>
    l.trim() !== "" && !l.trimStart().startsWith("#")
  );
  if (lines.length === 0) throw new Error(`${where}: no data lines`);
  const delim = options.delimiter ?? detectDelimiter(lines[0].l);
  const split = (l: string) =>
    (typeof delim === "string" ? l.split(delim) : l.trim().split(delim)).map((f) =>
      f.trim().replace(/^"(.*)"$/, "$1")
    );
  let header: string[] | undefined;
  const first = split(lines[0].l);
  const hasHeader = options.header === "auto" || options.header === undefined
    ? first.some((f) => !isNumeric(f))
    : options.header;
  if (hasHeader) {
    header = first;
    lines.shift();
  }
  const cols = header?.length ?? first.length;
  const data = new Float64Array(lines.length * cols);
  lines.forEach(({ l, n }, r) => {
    const fields = split(l);
    if (fields.length !== cols) {
      throw new Error(`${where}: line ${n} has ${fields.length} fields, expected ${cols}`);
    }
    fields.forEach((f, c) => {
      if (!isNumeric(f)) {
        throw new Error(
          `${where}: line ${n}, field ${c + 1} is not a number: '${f}' ` +
            `(only a first header line may hold text)`,
        );
      }
      data[r * cols + c] = parseNumber(f);
    });
  });
  return { header, matrix: { rows: lines.length, cols, data } };
}

/** Read a numeric CSV/TSV file; see {@link parseCsv}. */
export async function readCsv(path: string, options: CsvOptions = {}): Promise<CsvTable> {
  return parseCsv(await Deno.readTextFile(path), { source: path, ...options });
}
