/**
 * Usage errors (the CLI prints them as one line and exits 2) and "did you mean …" suggestions
 * for misspelt stage, target, param and kind names.
 * @module
 */

/**
 * A mistake on the command line (unknown command, target, stage or option value). The CLI
 * prints its message as one line, without a stack trace, and exits with code 2.
 */
export class UsageError extends Error {
  /** An error whose `message` says what is wrong and what to do. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * Edit distance between `a` and `b`: insertions, deletions, substitutions and transpositions of
 * two neighbours (`scr` → `src`) each count 1 (optimal string alignment).
 */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  let before: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(
        prev[j] + 1,
        cur[j - 1] + 1,
        prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        cur[j] = Math.min(cur[j], before[j - 2] + 1);
      }
    }
    before = prev;
    prev = cur;
  }
  return prev[b.length];
}

/**
 * The candidates closest to `word`, best first: those within an edit distance of about a third
 * of the word's length (at least 1, at most 4), or that contain it or that it contains
 * (case-insensitive). At most `max` (default 3).
 */
export function closest(
  word: string,
  candidates: Iterable<string>,
  options: { max?: number } = {},
): string[] {
  const w = word.toLowerCase();
  const limit = Math.min(4, Math.max(1, Math.round(w.length / 3)));
  const scored: { c: string; d: number }[] = [];
  for (const c of new Set(candidates)) {
    if (c === word) continue;
    const l = c.toLowerCase();
    const d = editDistance(w, l);
    const inside = Math.min(w.length, l.length) >= 3 && (l.includes(w) || w.includes(l));
    if (d <= limit || inside) scored.push({ c, d: inside ? Math.min(d, limit) : d });
  }
  scored.sort((x, y) => x.d - y.d || x.c.localeCompare(y.c));
  return scored.slice(0, options.max ?? 3).map((s) => s.c);
}

/**
 * `; did you mean 'x'?` (or `'x' or 'y'`) for the candidates closest to `word`; an empty string
 * when none is close. Meant to be appended to an error message.
 */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const near = closest(word, candidates);
  if (!near.length) return "";
  const q = near.map((n) => `'${n}'`);
  return `; did you mean ${q.length > 1 ? `${q.slice(0, -1).join(", ")} or ${q.at(-1)}` : q[0]}?`;
}

const NOT_CAPABLE =
  /Requires (\w+) access to ("[^"]*"|[^,]+), run again with the (--allow-\w+) flag/;

/**
 * Adds what to do to Deno's "Requires net access to "h:p", run again with the --allow-net flag":
 * under `deno task` that flag is the task's own, declared in deno.json, so the user is told to add
 * the host or path there (README "Permissions") or to run the command with `-A`. The rest of the
 * message is kept; a message without it comes back unchanged.
 */
export function explainPermission(message: string): string {
  return message.replace(
    NOT_CAPABLE,
    (_, what, target, flag) =>
      `${what} access to ${target} is not among this task's permissions: add it to the task's ` +
      `${flag}=… in deno.json (README "Permissions"), or run \`npx -y deno@2.9.6 run -A cli.ts …\``,
  );
}
