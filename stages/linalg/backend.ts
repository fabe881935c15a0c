/**
 * Which linear-algebra backend the solvers use: `lapack` (the system LAPACK/BLAS through FFI, see
 * {@link loadLapack}) or `typescript` (the pure-TypeScript kernels, on any box).
 *
 * Chosen by, in order: {@link useLinalgBackend} (tests), env `DSE_LINALG` (`auto` — the default —
 * `lapack`, or `typescript`), then `auto`: LAPACK when a library loads, TypeScript otherwise.
 * A forced `lapack` that cannot load throws, listing what was tried.
 * @module
 */
import { envVar, type Lapack, loadLapack } from "./lapack.ts";

/** Backend names. */
export type LinalgBackendName = "lapack" | "typescript";

/** A backend preference: a name, or `auto` (LAPACK if it loads). */
export type LinalgPreference = LinalgBackendName | "auto";

/** The backend in use, as recorded in provenance. */
export interface LinalgBackend {
  /** `lapack` or `typescript`. */
  name: LinalgBackendName;
  /** The library that loaded (lapack only). */
  library?: string;
  /** The OpenBLAS kernel set chosen for the load (lapack only, when `lapack.ts` chose one). */
  coretype?: string;
}

let forced: LinalgPreference | undefined;

/**
 * Force a backend for this process (tests run both); `undefined` goes back to `DSE_LINALG`.
 * Returns the previous setting so a test can restore it.
 */
export function useLinalgBackend(pref: LinalgPreference | undefined): LinalgPreference | undefined {
  const prev = forced;
  forced = pref;
  return prev;
}

function preference(): LinalgPreference {
  if (forced) return forced;
  const env = envVar("DSE_LINALG") ?? "auto";
  if (env !== "auto" && env !== "lapack" && env !== "typescript") {
    throw new Error(`DSE_LINALG must be auto, lapack or typescript, got "${env}"`);
  }
  return env;
}

/** The loaded LAPACK when it is the backend in use, else undefined (use the TypeScript path). */
export function activeLapack(): Lapack | undefined {
  const pref = preference();
  if (pref === "typescript") return undefined;
  const l = loadLapack();
  if (!l.lapack && pref === "lapack") {
    throw new Error(
      "DSE_LINALG=lapack but no LAPACK library loaded (" + l.tried.join("; ") +
        "); install one (Debian: apt-get install libopenblas0-pthread), point DSE_LINALG_LIB at " +
        "it, or unset DSE_LINALG to use the TypeScript fallback",
    );
  }
  return l.lapack;
}

/** The backend the solvers use now (for provenance and the benchmark). */
export function linalgBackend(): LinalgBackend {
  const l = activeLapack();
  if (!l) return { name: "typescript" };
  return l.coretype
    ? { name: "lapack", library: l.library, coretype: l.coretype }
    : { name: "lapack", library: l.library };
}
