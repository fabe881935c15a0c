/**
 * Collecting located problems while the phases run: every phase reports through one
 * {@link Diagnostics}, and the pipeline is rejected with all of them at once.
 * @module
 */
import type { Document, LineCounter, Node as YNode } from "yaml";
import { toJS, type ToJSContext } from "yaml/util";
import { type Diagnostic, PipelineError } from "./types.ts";

/** The problems found so far in one pipeline file, located through the YAML node ranges. */
export class Diagnostics {
  /** The pipeline file named in every diagnostic. */
  readonly file: string;
  /** Every problem, in the order found. */
  readonly list: Diagnostic[] = [];
  #lines: LineCounter;
  /** Per document: its anchor and alias nodes, in document order (see {@link js}). */
  #aliasNodes = new WeakMap<Document, ToJSContext["aliasResolveCache"]>();

  /** Problems of `file`, whose offsets `lines` turns into lines and columns. */
  constructor(file: string, lines: LineCounter) {
    this.file = file;
    this.#lines = lines;
  }

  /** 1-based line and column of a YAML node (of its start), or of an offset. */
  at(node: unknown): { line: number; col: number } {
    const offset = typeof node === "number" ? node : (node as YNode | null | undefined)?.range?.[0];
    const p = this.#lines.linePos(offset ?? 0);
    return { line: p.line, col: p.col };
  }

  /** Records a problem at a node (or offset). */
  err(node: unknown, message: string): void {
    this.list.push({ file: this.file, ...this.at(node), message });
  }

  /** Records a problem without a location (`file` names e.g. the `--set` argument). */
  push(d: Diagnostic): void {
    this.list.push(d);
  }

  /** True once any problem was recorded. */
  get failed(): boolean {
    return this.list.length > 0;
  }

  /** Throws every problem, in file order; one written once for each matrix combination is kept once. */
  fail(): never {
    const seen = new Set<string>();
    const unique = this.list.filter((d) => {
      const id = `${d.file}\0${d.line}\0${d.col}\0${d.message}`;
      return seen.has(id) ? false : (seen.add(id), true);
    });
    unique.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0));
    throw new PipelineError(unique);
  }

  /** Throws if any problem was recorded: the phases after this one need a clean input. */
  check(): void {
    if (this.failed) this.fail();
  }

  /**
   * `node` as plain JS; a problem (and `undefined`) when it cannot be converted. The same as
   * `node.toJS(doc)`, except that the list of the document's anchors and aliases, which the YAML
   * library gathers with a walk over the whole document for every conversion that meets an alias,
   * is gathered once per document: converting each stage's values was quadratic in the size of a
   * document that uses `<<: *name`.
   */
  js(doc: Document, node: unknown): unknown {
    try {
      // The context Node.toJS builds (yaml 2, nodes/Node.js), plus the cached alias list.
      const ctx: ToJSContext = {
        anchors: new Map(),
        aliasResolveCache: this.#aliasNodes.get(doc),
        doc,
        keep: true,
        mapAsMap: false,
        mapKeyWarned: false,
        maxAliasCount: 100,
      };
      const res = toJS(node, "", ctx);
      if (ctx.aliasResolveCache) this.#aliasNodes.set(doc, ctx.aliasResolveCache);
      return res;
    } catch (e) {
      this.err(node, `YAML: ${(e as Error).message}`);
      return undefined;
    }
  }
}
