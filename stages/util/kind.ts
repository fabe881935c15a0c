/**
 * Building stage kinds with typed params: {@link defineKind} derives a kind's params type from its
 * declared schema (`ParamsOf`, `pipeline/types.ts`), {@link typedParam} names the shape of a
 * structured param. Both return their argument unchanged; they live here, not in the engine's
 * contract, so that the contract stays types only (a kind imports it with `import type`, which
 * the cache key skips).
 * @module
 */
import type {
  ParamSchema,
  ParamsOf,
  ParamSpec,
  StageKind,
  TypedParamSpec,
} from "../../pipeline/types.ts";

/**
 * Declares a structured param whose value has type `T` (the spec itself is returned unchanged).
 * @param spec the declaration
 * @returns the same declaration, typed
 */
export function typedParam<T>(spec: ParamSpec): TypedParamSpec<T> {
  return spec;
}

/**
 * A stage kind whose params type is derived from its declared schema ({@link ParamsOf}): `run`,
 * `validate`, `outputs`, `environment` and `files` see typed params without casts. Returns the
 * kind unchanged.
 * @param kind the kind, with its `params` schema written inline or as an `as const` object
 * @returns the same kind
 */
export function defineKind<const S extends ParamSchema>(
  kind: StageKind<ParamsOf<S>> & { params: S },
): StageKind<ParamsOf<S>> & { params: S } {
  return kind;
}
