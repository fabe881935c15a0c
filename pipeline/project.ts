/**
 * A loaded pipeline bound to a registry and an artifact store: resolves targets, computes
 * ingredients and keys, and reports each stage's state (fresh / stale / missing / running).
 * @module
 */
import { didYouMean, UsageError } from "./usage.ts";
import { loadPipeline, matchGlob, type Pipeline, type StageSpec } from "./spec.ts";
import { topoOrder, upstreamClosure } from "./dag.ts";
import {
  cacheKey,
  clearModuleCache,
  codeIngredients,
  diffIngredients,
  ENGINE_FORMAT,
  type Ingredients,
  MISSING_FILE,
} from "./key.ts";
import {
  type LockOwner,
  type Manifest,
  type StageRecord,
  Store,
  type Verification,
} from "./store.ts";
import { digestOfFiles, hashFile, hashTree } from "./hash.ts";
import type { Registry, RunOption, StageKind } from "./types.ts";

/** Options of {@link Project.open}. */
export interface ProjectOptions {
  /** Kinds by name. */
  registry: Registry;
  /** pipeline.yaml path. */
  pipeline: string;
  /** Artifact store root. */
  artifacts: string;
  /** `--set key=value` overrides. */
  set?: readonly string[];
  /** Run options passed to stages as ctx.options (mirror, backend, ...). */
  options?: Record<string, string>;
  /**
   * The domain's declarations of those options: only `keyed` ones reach the kinds'
   * `environment()` (and so the keys), `record` ones go into each manifest. Default: none
   * declared, every option reaches `environment()` and none is recorded.
   */
  runOptions?: readonly RunOption[];
  /** Rehash every file instead of trusting the stat cache. */
  verify?: boolean;
}

/** State of one stage as `status` shows it. */
export interface StageState {
  /** Stage name. */
  name: string;
  /** Kind name. */
  kind: string;
  /** fresh: a verified object exists; stale: built before but something changed (or corrupt); missing: never built; running: locked by a live process. */
  state: "fresh" | "stale" | "missing" | "running";
  /** Why (what changed, which upstream is not fresh, who runs it...). */
  reason: string;
  /** The cache key, if computable (every upstream fresh). */
  key?: string;
  /** The verified object directory, if fresh. */
  objectDir?: string;
  /** Its manifest, if fresh. */
  manifest?: Manifest;
  /** Ingredients, if computable. */
  ingredients?: Ingredients;
  /** The last committed run of this stage name. */
  last?: StageRecord;
  /** Owner of the lock, if running. */
  owner?: LockOwner;
}

/** Ingredients, or why they cannot be computed yet. */
export type IngredientResult =
  | { ok: true; ingredients: Ingredients; inputKeys: Record<string, string> }
  | { ok: false; waiting: string[] };

/** `~/x` → `$HOME/x`; a relative path → against the working directory; `.`/`..` resolved. */
function absolutePath(p: string): string {
  let abs = p;
  if (p === "~" || p.startsWith("~/")) abs = `${Deno.env.get("HOME") ?? ""}${p.slice(1)}`;
  else if (!p.startsWith("/")) abs = `${Deno.cwd()}/${p}`;
  const parts: string[] = [];
  for (const x of abs.split("/")) {
    if (x === "" || x === ".") continue;
    if (x === "..") parts.pop();
    else parts.push(x);
  }
  return `/${parts.join("/")}`;
}

/** A pipeline + registry + store. */
export class Project {
  /** The validated pipeline. */
  readonly pipeline: Pipeline;
  /** Kinds by name. */
  readonly registry: Registry;
  /** The artifact store. */
  readonly store: Store;
  /** Run options passed to stages. */
  readonly options: Record<string, string>;
  /** Their declarations (see {@link ProjectOptions.runOptions}). */
  readonly runOptions: readonly RunOption[];
  /** Rehash instead of trusting the stat cache. */
  readonly verifyAll: boolean;
  #env = new Map<string, Promise<Record<string, string>>>();
  #fresh = new Map<string, Manifest | null>();
  #verifyMemo = new Map<string, Promise<Verification>>();

  /** Binds the parts; prefer {@link Project.open}. */
  constructor(
    pipeline: Pipeline,
    store: Store,
    options: {
      registry: Registry;
      options?: Record<string, string>;
      runOptions?: readonly RunOption[];
      verify?: boolean;
    },
  ) {
    this.pipeline = pipeline;
    this.store = store;
    this.registry = options.registry;
    this.options = options.options ?? {};
    this.runOptions = options.runOptions ?? [];
    this.verifyAll = !!options.verify;
  }

  /** Loads and validates the pipeline (throws PipelineError) and opens the store. */
  static async open(options: ProjectOptions): Promise<Project> {
    clearModuleCache(); // sources are re-read on every open: keys see edits made since
    const pipeline = await loadPipeline(options.pipeline, {
      registry: options.registry,
      set: options.set,
    });
    const store = await Store.open(options.artifacts);
    return new Project(pipeline, store, options);
  }

  /** The spec of a stage (throws on an unknown name). */
  stage(name: string): StageSpec {
    const s = this.pipeline.stages.get(name);
    if (!s) throw new Error(`no stage '${name}' in ${this.pipeline.file}`);
    return s;
  }

  /** The kind of a stage. */
  kind(name: string): StageKind {
    return this.registry.get(this.stage(name).kind)!;
  }

  /** Target names. */
  targets(): string[] {
    return [...this.pipeline.targets.keys()];
  }

  /**
   * Stages a target needs (its stages and their upstream), in topological order. An unknown
   * target is a {@link UsageError}.
   */
  targetStages(target?: string): string[] {
    const t = target ?? this.pipeline.defaultTarget;
    const roots = this.pipeline.targets.get(t);
    if (!roots) {
      throw new UsageError(
        `unknown target '${t}'${didYouMean(t, this.targets())}; targets: ${
          this.targets().join(", ")
        }`,
      );
    }
    return this.closure(roots);
  }

  /** `names` and their upstream, in topological order. */
  closure(names: Iterable<string>): string[] {
    return topoOrder(this.pipeline.graph, {
      only: upstreamClosure(this.pipeline.graph, names),
    });
  }

  /** Resolves a `stage <name>` argument: exact name, else glob, else prefix `<name>-*`. */
  matchStages(arg: string): string[] {
    const names = [...this.pipeline.stages.keys()];
    if (this.pipeline.stages.has(arg)) return [arg];
    const g = matchGlob(names, arg);
    if (g.length) return g;
    return names.filter((n) => n.startsWith(`${arg}-`));
  }

  /** The kind's declared environment for a stage (resolved once per process). */
  environment(name: string): Promise<Record<string, string>> {
    let p = this.#env.get(name);
    if (!p) {
      const kind = this.kind(name);
      const s = this.stage(name);
      p = kind.environment
        ? kind.environment(s.params, this.keyedOptions()).then((e) => ({ ...e }))
        : Promise.resolve({});
      this.#env.set(name, p);
    }
    return p;
  }

  /** The options that may enter keys: the `keyed` ones, or all when none is declared. */
  keyedOptions(): Record<string, string> {
    if (!this.runOptions.length) return { ...this.options };
    const keyed = new Set(this.runOptions.filter((o) => o.keyed).map(optionKey));
    return Object.fromEntries(Object.entries(this.options).filter(([k]) => keyed.has(k)));
  }

  /** The options the domain asks to record in each manifest (`record: true`) that are set. */
  recordedOptions(): Record<string, string> {
    const rec = new Set(this.runOptions.filter((o) => o.record).map(optionKey));
    return Object.fromEntries(Object.entries(this.options).filter(([k]) => rec.has(k)));
  }

  /** Records a stage's current object (after the runner commits or finds it). */
  setFresh(name: string, manifest: Manifest | null): void {
    this.#fresh.set(name, manifest);
    if (manifest) this.#verifyMemo.set(manifest.key, Promise.resolve({ status: "ok", manifest }));
  }

  /** Verifies an object once per process (memoised); `forget` drops the memo. */
  verifyObject(key: string, forget = false): Promise<Verification> {
    if (forget) this.#verifyMemo.delete(key);
    let p = this.#verifyMemo.get(key);
    if (!p) {
      p = this.store.verify(key, { verify: this.verifyAll });
      this.#verifyMemo.set(key, p);
    }
    return p;
  }

  /** The fresh manifest of a stage, computing keys upstream first; `null` if not fresh. */
  async freshManifest(name: string): Promise<Manifest | null> {
    if (this.#fresh.has(name)) return this.#fresh.get(name)!;
    const ing = await this.ingredients(name);
    let m: Manifest | null = null;
    if (ing.ok) {
      const v = await this.verifyObject(cacheKey(ing.ingredients));
      if (v.status === "ok") m = v.manifest;
    }
    this.#fresh.set(name, m);
    return m;
  }

  /** Ingredients of a stage; needs every upstream stage fresh. */
  async ingredients(name: string): Promise<IngredientResult> {
    const s = this.stage(name);
    const kind = this.kind(name);
    const waiting: string[] = [];
    const inputs: Ingredients["inputs"] = {};
    const inputKeys: Record<string, string> = {};
    for (const inp of s.inputs) {
      const m = await this.freshManifest(inp.stage);
      if (!m) {
        if (!waiting.includes(inp.stage)) waiting.push(inp.stage);
        continue;
      }
      const digest = inp.output === undefined ? m.digest : digestOfFiles(
        m.files.filter((f) => f.path === inp.output || f.path.startsWith(`${inp.output}/`)),
      );
      inputs[inp.alias] = { stage: inp.stage, output: inp.output, digest };
      inputKeys[inp.alias] = m.key;
    }
    if (waiting.length) return { ok: false, waiting };
    const { code, deps } = await codeIngredients(kind.module);
    const ingredients: Ingredients = {
      format: ENGINE_FORMAT,
      kind: kind.name,
      code,
      deps,
      params: s.params,
      inputs,
      env: await this.environment(name),
    };
    const files = await this.fileDigests(this.readFiles(name));
    if (Object.keys(files).length) ingredients.files = files;
    return { ok: true, ingredients, inputKeys };
  }

  /**
   * Absolute paths of the files a stage reads that are not another stage's output: the values
   * of params declared `file: true` and what the kind's `files()` hook names. Sorted, unique.
   */
  readFiles(name: string): string[] {
    const s = this.stage(name);
    const kind = this.kind(name);
    const out = new Set<string>();
    const add = (v: unknown) => {
      if (typeof v === "string" && v !== "") out.add(absolutePath(v));
      else if (Array.isArray(v)) v.forEach(add);
    };
    for (const [k, spec] of Object.entries(kind.params)) if (spec.file) add(s.params[k]);
    if (kind.files) add(kind.files(s.params, { inputs: s.inputs.map((i) => i.alias) }));
    return [...out].sort();
  }

  /** Content digests of files (stat cache unless `--verify`); a missing one is `(missing)`. */
  async fileDigests(paths: readonly string[]): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const p of paths) {
      const st = await Deno.stat(p).catch(() => null);
      if (!st) out[p] = MISSING_FILE;
      else if (st.isDirectory) {
        out[p] = digestOfFiles(
          await hashTree(p, { cache: this.store.cache, verify: this.verifyAll }),
        );
      } else {
        out[p] = (await hashFile(p, { cache: this.store.cache, verify: this.verifyAll })).sha256;
      }
    }
    return out;
  }

  /** The cache key of a stage, or `undefined` while some upstream is not fresh. */
  async keyOf(name: string): Promise<string | undefined> {
    const ing = await this.ingredients(name);
    return ing.ok ? cacheKey(ing.ingredients) : undefined;
  }

  /** The verified object directory of a stage, or `undefined` if it is not fresh. */
  async objectDir(name: string): Promise<string | undefined> {
    const m = await this.freshManifest(name);
    return m ? this.store.objectDir(m.key) : undefined;
  }

  /** The state of one stage. */
  async state(name: string): Promise<StageState> {
    const s = this.stage(name);
    const last = await this.store.readRecord(name);
    const base = { name, kind: s.kind, last };
    const ing = await this.ingredients(name);
    if (!ing.ok) {
      return {
        ...base,
        state: last ? "stale" : "missing",
        reason: `upstream not fresh: ${ing.waiting.join(", ")}`,
      };
    }
    const key = cacheKey(ing.ingredients);
    const more = { ...base, key, ingredients: ing.ingredients };
    const v = await this.verifyObject(key);
    if (v.status === "ok") {
      this.#fresh.set(name, v.manifest);
      const verdict = v.manifest.verdict;
      return {
        ...more,
        state: "fresh",
        reason: verdict && !verdict.ok ? `verdict FAIL: ${verdict.summary}` : "",
        objectDir: this.store.objectDir(key),
        manifest: v.manifest,
      };
    }
    const owner = await this.store.isLocked(key);
    if (owner) {
      return {
        ...more,
        state: "running",
        reason: `pid ${owner.pid} on ${owner.host} since ${owner.since}`,
        owner,
      };
    }
    if (v.status === "corrupt") return { ...more, state: "stale", reason: `corrupt: ${v.problem}` };
    if (!last) return { ...more, state: "missing", reason: "never built" };
    const changed = diffIngredients(last.ingredients, ing.ingredients);
    return {
      ...more,
      state: "stale",
      reason: changed.length ? `changed: ${changed.join("; ")}` : "object removed (gc?)",
    };
  }

  /** States of several stages (all stages by default), in topological order. */
  async states(names?: readonly string[]): Promise<StageState[]> {
    const order = names ?? topoOrder(this.pipeline.graph);
    const out: StageState[] = [];
    for (const n of order) out.push(await this.state(n));
    return out;
  }
}

/** The `ctx.options` key of a run option: its `key`, else its flag with `-` → `_`. */
export function optionKey(option: RunOption): string {
  return option.key ?? option.flag.replaceAll("-", "_");
}
