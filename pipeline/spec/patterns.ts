/**
 * Patterns over stage names, for inputs and targets.
 *
 * - `*` matches any run of characters (also none), `?` one character: `"p-eval-*-labelme"`.
 * - `{name}` captures a non-empty run of characters: `"eval-{method}-wiki"` matches
 *   `eval-pls-k9-wiki` with `method = pls-k9`. `{name:a|b}` captures only one of the listed
 *   values: `"eval-{m}-{pca:none|standard}-wiki"`.
 *
 * Matches come in pipeline order; with listed values, in the order of the list first
 * (`"eval-{m:cca|pls-k9}-wiki"` gives `eval-cca-wiki`, then `eval-pls-k9-wiki`).
 *
 * A name must match in exactly one way: when the leftmost-shortest and the leftmost-longest
 * readings capture different values (`eval-{m}-{pca}-wiki` against `eval-gmmfa-std-none-wiki`),
 * the match is ambiguous and reported, never guessed.
 * @module
 */
import { IDENT_RE } from "./values.ts";

/** A compiled pattern. */
export interface Pattern {
  /** The pattern as written. */
  source: string;
  /** Capture names, in order. */
  captures: string[];
  /** Capture → its listed values, for `{name:a|b}` captures. */
  choices: Record<string, string[]>;
  /** The literal text before the first wildcard or capture (for the name index). */
  prefix: string;
  /** Greedy reading: `*` and captures as long as possible, left first. */
  greedy: RegExp;
  /** Lazy reading: as short as possible, left first. */
  lazy: RegExp;
}

/** One stage name a pattern matched. */
export interface PatternMatch {
  /** The stage name. */
  name: string;
  /** What each capture matched. */
  captures: Record<string, string>;
}

/** True if `s` is a pattern rather than a plain name: it has `*`, `?` or `{`. */
export function isPattern(s: string): boolean {
  return /[*?{]/.test(s);
}

/** True if `s` has glob characters (`*`, `?`). */
export function isGlob(s: string): boolean {
  return /[*?]/.test(s);
}

function escape(s: string): string {
  return s.replace(/[.+^${}()|[\]\\*?]/g, "\\$&");
}

/** Compiles a pattern; a string says what is wrong with it. */
export function compilePattern(source: string): Pattern | string {
  const greedy: string[] = [], lazy: string[] = [];
  const captures: string[] = [];
  const choiceLists: Record<string, string[]> = {};
  let prefix: string | undefined;
  let lastWasCapture = false;
  for (let i = 0; i < source.length;) {
    const c = source[i];
    if (c === "*" || c === "?") {
      prefix ??= source.slice(0, i);
      greedy.push(c === "*" ? ".*" : ".");
      lazy.push(c === "*" ? ".*?" : ".");
      lastWasCapture = false;
      i++;
      continue;
    }
    if (c === "}") return `'}' without '{' at character ${i + 1}`;
    if (c !== "{") {
      let j = i;
      while (j < source.length && !"*?{}".includes(source[j])) j++;
      greedy.push(escape(source.slice(i, j)));
      lazy.push(escape(source.slice(i, j)));
      lastWasCapture = false;
      i = j;
      continue;
    }
    const end = source.indexOf("}", i);
    if (end < 0) return `'{' at character ${i + 1} is not closed: write {name}`;
    const body = source.slice(i + 1, end);
    const colon = body.indexOf(":");
    const name = colon < 0 ? body : body.slice(0, colon);
    if (!IDENT_RE.test(name)) {
      return `bad capture '{${body}}': a capture is {name} or {name:a|b}, name of letters, digits, _ and -`;
    }
    if (captures.includes(name)) return `capture {${name}} appears twice`;
    if (lastWasCapture) {
      return `captures {${captures.at(-1)}} and {${name}} touch: put a literal between them`;
    }
    let group = "(.+)", lazyGroup = "(.+?)";
    if (colon >= 0) {
      const choices = body.slice(colon + 1).split("|");
      if (choices.some((x) => x === "" || /[*?{}]/.test(x))) {
        return `bad capture '{${body}}': list the values as {${name}:a|b}`;
      }
      group = lazyGroup = `(${choices.map(escape).join("|")})`;
      choiceLists[name] = choices;
    }
    prefix ??= source.slice(0, i);
    captures.push(name);
    greedy.push(group);
    lazy.push(lazyGroup);
    lastWasCapture = true;
    i = end + 1;
  }
  return {
    source,
    captures,
    choices: choiceLists,
    prefix: prefix ?? source,
    greedy: new RegExp(`^${greedy.join("")}$`),
    lazy: new RegExp(`^${lazy.join("")}$`),
  };
}

/** The captures of one name, `undefined` if it does not match, or both readings if ambiguous. */
export function matchPattern(
  p: Pattern,
  name: string,
): { captures: Record<string, string> } | { ambiguous: [string, string] } | undefined {
  const g = p.greedy.exec(name);
  if (!g) return undefined;
  const out: Record<string, string> = {};
  p.captures.forEach((c, i) => (out[c] = g[i + 1]));
  if (p.captures.length < 2) return { captures: out };
  const l = p.lazy.exec(name)!;
  if (p.captures.every((_, i) => l[i + 1] === g[i + 1])) return { captures: out };
  const show = (m: RegExpExecArray) => p.captures.map((c, i) => `${c}=${m[i + 1]}`).join(", ");
  return { ambiguous: [show(l), show(g)] };
}

/**
 * Stage names in pipeline order, searchable by pattern: a binary search on the sorted names
 * narrows to those with the pattern's literal prefix, and results are memoised per pattern, so
 * many stages reading the same pattern cost one scan.
 */
export class NameIndex {
  #order = new Map<string, number>();
  #sorted: string[];
  #memo = new Map<string, { hits: PatternMatch[]; ambiguous: string[] }>();

  /** Indexes `names` (pipeline order). */
  constructor(names: Iterable<string>) {
    for (const n of names) if (!this.#order.has(n)) this.#order.set(n, this.#order.size);
    this.#sorted = [...this.#order.keys()].sort();
  }

  /** True if `name` is indexed. */
  has(name: string): boolean {
    return this.#order.has(name);
  }

  /** The names, in pipeline order. */
  names(): IterableIterator<string> {
    return this.#order.keys();
  }

  /** Matches in pipeline order, and the names that match ambiguously (one line each). */
  match(p: Pattern): { hits: PatternMatch[]; ambiguous: string[] } {
    const memo = this.#memo.get(p.source);
    if (memo) return memo;
    const hits: PatternMatch[] = [];
    const ambiguous: string[] = [];
    const s = this.#sorted;
    let lo = 0, hi = s.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (s[mid] < p.prefix) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < s.length && s[i].startsWith(p.prefix); i++) {
      const m = matchPattern(p, s[i]);
      if (m === undefined) continue;
      if ("ambiguous" in m) {
        ambiguous.push(`'${s[i]}' reads as ${m.ambiguous[0]} or as ${m.ambiguous[1]}`);
      } else hits.push({ name: s[i], captures: m.captures });
    }
    const listed = Object.entries(p.choices);
    const rank = (h: PatternMatch) => listed.map(([c, values]) => values.indexOf(h.captures[c]));
    hits.sort((a, b) => {
      const ra = rank(a), rb = rank(b);
      const i = ra.findIndex((x, k) => x !== rb[k]);
      return i >= 0 ? ra[i] - rb[i] : this.#order.get(a.name)! - this.#order.get(b.name)!;
    });
    const out = { hits, ambiguous };
    this.#memo.set(p.source, out);
    return out;
  }
}

/** Stage names matching a glob (`*`, `?`) or capture pattern, in the order given. */
export function matchGlob(names: Iterable<string>, glob: string): string[] {
  const p = compilePattern(glob);
  if (typeof p === "string") return [];
  return [...names].filter((n) => p.greedy.test(n));
}
