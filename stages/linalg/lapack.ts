/**
 * The system LAPACK/BLAS through `Deno.dlopen` (no unstable flag needed), as a small typed layer
 * of column-major kernels: `dsyevd` (symmetric eigen), `dsyevr` (its top-k subset), `dsygvd` (generalized symmetric-definite
 * eigen), `dpotrf`/`dpotrs` (Cholesky factor and solve), `dgemm` and `dsyrk`.
 *
 * Which library: `DSE_LINALG_LIB` (a path or soname) if set, else the first of
 * {@link LIBRARY_CANDIDATES} that loads and has every symbol (Linux: OpenBLAS, then reference
 * LAPACK; macOS: Accelerate). Loading is tried once per process; failure (no library, no
 * `--allow-ffi`) is not an error here — {@link loadLapack} returns undefined and the callers use
 * the pure-TypeScript path. The Fortran interface is used (LP64, 32-bit integers, everything by
 * reference) with gfortran's hidden trailing string lengths passed explicitly (ignored by
 * libraries that do not expect them).
 *
 * All arrays are column-major. A row-major symmetric matrix is its own column-major layout, which
 * is what makes this layer cheap to call from the row-major {@link Matrix} helpers.
 *
 * OpenBLAS's runtime CPU detection does not know CPUs newer than its release and then falls back to
 * its generic `Prescott` kernels (Debian 12's 0.3.21 on this box's Xeon: dsyrk 5× and dsyevd 2×
 * slower). Unless `OPENBLAS_CORETYPE` is set, {@link loadLapack} sets it for the load from the CPU's
 * flags ({@link openblasCoretype}) and unsets it again, so child processes are not affected.
 * @module
 */

/** Sonames tried in order when `DSE_LINALG_LIB` is not set. */
export const LIBRARY_CANDIDATES: readonly string[] = Deno.build.os === "darwin"
  ? ["/System/Library/Frameworks/Accelerate.framework/Accelerate", "libopenblas.dylib"]
  : Deno.build.os === "windows"
  ? ["libopenblas.dll"]
  : [
    "libopenblas.so.0",
    "libopenblas.so",
    "libopenblasp.so.0",
    "liblapack.so.3",
    "liblapack.so",
  ];

const B = "buffer" as const;
const L = "usize" as const;
const SYMBOLS = {
  dsyevd_: { parameters: [B, B, B, B, B, B, B, B, B, B, B, L, L], result: "void", optional: true },
  dsyevr_: {
    parameters: [B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, B, L, L, L],
    result: "void",
    optional: true,
  },
  dsygvd_: {
    parameters: [B, B, B, B, B, B, B, B, B, B, B, B, B, B, L, L],
    result: "void",
    optional: true,
  },
  dpotrf_: { parameters: [B, B, B, B, B, L], result: "void", optional: true },
  dpotrs_: { parameters: [B, B, B, B, B, B, B, B, L], result: "void", optional: true },
  dgemm_: {
    parameters: [B, B, B, B, B, B, B, B, B, B, B, B, B, L, L],
    result: "void",
    optional: true,
  },
  dsyrk_: { parameters: [B, B, B, B, B, B, B, B, B, B, L, L], result: "void", optional: true },
} as const;

type Lib = Deno.DynamicLibrary<typeof SYMBOLS>;

/**
 * The OpenBLAS kernel set for x86-64 CPU flags (as in `/proc/cpuinfo`): `SkylakeX` with AVX-512
 * (F, BW, DQ, VL), `Haswell` with AVX2 and FMA, else undefined (leave OpenBLAS's detection alone).
 */
export function openblasCoretype(flags: ReadonlySet<string>): string | undefined {
  if (["avx512f", "avx512bw", "avx512dq", "avx512vl"].every((f) => flags.has(f))) return "SkylakeX";
  if (flags.has("avx2") && flags.has("fma")) return "Haswell";
  return undefined;
}

/** The CPU flags of the first processor in `/proc/cpuinfo` (empty set elsewhere). */
function cpuFlags(): Set<string> {
  try {
    const text = Deno.readTextFileSync("/proc/cpuinfo");
    const line = text.split("\n").find((l) => /^flags\s*:/.test(l));
    return new Set(line ? line.split(":")[1].trim().split(/\s+/) : []);
  } catch {
    return new Set();
  }
}

/** Open `path`, with `OPENBLAS_CORETYPE` chosen from the CPU flags during the load if unset. */
function dlopenWithCoretype(path: string): { lib: Lib; coretype?: string } {
  const forced = Deno.build.os === "linux" && Deno.build.arch === "x86_64" &&
      envVar("OPENBLAS_CORETYPE") === undefined
    ? openblasCoretype(cpuFlags())
    : undefined;
  if (!forced) return { lib: Deno.dlopen(path, SYMBOLS) };
  try {
    Deno.env.set("OPENBLAS_CORETYPE", forced);
  } catch {
    return { lib: Deno.dlopen(path, SYMBOLS) }; // no env permission: OpenBLAS detects by itself
  }
  try {
    return { lib: Deno.dlopen(path, SYMBOLS), coretype: forced };
  } finally {
    Deno.env.delete("OPENBLAS_CORETYPE");
  }
}
type Fn = (...args: unknown[]) => void;

/** A loaded LAPACK/BLAS: where it came from and the column-major kernels. */
export interface Lapack {
  /** The path or soname that loaded. */
  library: string;
  /** The `OPENBLAS_CORETYPE` this layer chose for the load, if it chose one. */
  coretype?: string;
  /**
   * Symmetric eigendecomposition in place (`dsyevd`, lower triangle read): `a` (n×n) becomes the
   * eigenvectors (columns), `w` the eigenvalues ascending. Returns LAPACK's `info`.
   */
  syevd(n: number, out: { a: Float64Array; w: Float64Array }): number;
  /**
   * The `k` largest eigenpairs of a symmetric matrix (`dsyevr`, range by index, lower triangle
   * read; `a` is overwritten): `z` (n×k, column-major) gets the eigenvectors, `w` (length ≥ n) the
   * eigenvalues ascending in its first k entries. Returns `info`.
   */
  syevrTop(
    n: number,
    top: { k: number; a: Float64Array; w: Float64Array; z: Float64Array },
  ): number;
  /**
   * `A x = λ B x` for symmetric A and SPD B (`dsygvd`, itype 1): `a` becomes the B-normalised
   * eigenvectors, `b` its Cholesky factor, `w` the eigenvalues ascending. Returns `info`
   * (`> n`: B's leading minor of order `info − n` is not positive definite).
   */
  sygvd(n: number, ab: { a: Float64Array; b: Float64Array; w: Float64Array }): number;
  /** Cholesky `A = Uᵀ U` in place (`dpotrf`, upper). Returns `info` (> 0: pivot info−1 failed). */
  potrf(n: number, a: Float64Array): number;
  /** Solve `A X = B` with {@link Lapack.potrf}'s factor (`dpotrs`, upper); `b` is n×nrhs. */
  potrs(n: number, f: { factor: Float64Array; b: Float64Array; nrhs: number }): number;
  /**
   * `C = α op(A) op(B) + β C` (`dgemm`), column-major; `m×n` result, inner dimension `k`.
   */
  gemm(
    dims: { m: number; n: number; k: number },
    args: {
      transA: boolean;
      transB: boolean;
      a: Float64Array;
      lda: number;
      b: Float64Array;
      ldb: number;
      c: Float64Array;
      ldc: number;
      alpha?: number;
      beta?: number;
    },
  ): void;
  /** Upper triangle of `C = op(A) op(A)ᵀ` (`dsyrk`, `trans` ⇒ `AᵀA`), column-major, n×n. */
  syrk(
    dims: { n: number; k: number },
    args: { trans: boolean; a: Float64Array; lda: number; c: Float64Array },
  ): void;
}

let cached: { lapack?: Lapack; tried: string[] } | undefined;

const ch = (c: string) => new Uint8Array([c.charCodeAt(0)]);
const i32 = (...v: number[]) => new Int32Array(v);
const f64 = (...v: number[]) => new Float64Array(v);

/**
 * LAPACK's two-call workspace protocol: ask for the sizes (lwork = liwork = −1), then call with
 * workspaces of those sizes. Returns `info` of the call that failed, or of the real call.
 */
function withWorkspace(
  call: (work: Float64Array, lwork: number, iwork: Int32Array, liwork: number) => unknown,
  info: Int32Array,
): number {
  const qw = f64(0), qi = i32(0);
  call(qw, -1, qi, -1);
  if (info[0] !== 0) return info[0];
  const lwork = Math.ceil(qw[0]), liwork = qi[0];
  call(new Float64Array(Math.max(lwork, 1)), lwork, new Int32Array(Math.max(liwork, 1)), liwork);
  return info[0];
}

function tryOpen(path: string): Lapack | string {
  let lib: Lib, coretype: string | undefined;
  try {
    ({ lib, coretype } = dlopenWithCoretype(path));
  } catch (e) {
    return `${path}: ${(e as Error).message.split("\n")[0]}`;
  }
  const s = lib.symbols as unknown as Record<keyof typeof SYMBOLS, Fn | null>;
  const missing = (Object.keys(SYMBOLS) as (keyof typeof SYMBOLS)[]).filter((k) => !s[k]);
  if (missing.length) {
    lib.close();
    return `${path}: missing ${missing.join(", ")}`;
  }
  const info = i32(0);
  return {
    library: path,
    ...(coretype ? { coretype } : {}),
    syevd(n, { a, w }) {
      const args = (work: Float64Array, lwork: number, iwork: Int32Array, liwork: number) =>
        s.dsyevd_!(
          ch("V"),
          ch("L"),
          i32(n),
          a,
          i32(Math.max(n, 1)),
          w,
          work,
          i32(lwork),
          iwork,
          i32(liwork),
          info,
          1n,
          1n,
        );
      return withWorkspace(args, info);
    },
    syevrTop(n, { k, a, w, z }) {
      const m = i32(0), isuppz = new Int32Array(2 * Math.max(k, 1));
      const args = (work: Float64Array, lwork: number, iwork: Int32Array, liwork: number) =>
        s.dsyevr_!(
          ch("V"),
          ch("I"),
          ch("L"),
          i32(n),
          a,
          i32(Math.max(n, 1)),
          f64(0),
          f64(0),
          i32(n - k + 1),
          i32(n),
          f64(0),
          m,
          w,
          z,
          i32(Math.max(n, 1)),
          isuppz,
          work,
          i32(lwork),
          iwork,
          i32(liwork),
          info,
          1n,
          1n,
          1n,
        );
      const status = withWorkspace(args, info);
      return status === 0 && m[0] !== k ? -1000 - m[0] : status;
    },
    sygvd(n, { a, b, w }) {
      const args = (work: Float64Array, lwork: number, iwork: Int32Array, liwork: number) =>
        s.dsygvd_!(
          i32(1),
          ch("V"),
          ch("L"),
          i32(n),
          a,
          i32(Math.max(n, 1)),
          b,
          i32(Math.max(n, 1)),
          w,
          work,
          i32(lwork),
          iwork,
          i32(liwork),
          info,
          1n,
          1n,
        );
      return withWorkspace(args, info);
    },
    potrf(n, a) {
      s.dpotrf_!(ch("U"), i32(n), a, i32(Math.max(n, 1)), info, 1n);
      return info[0];
    },
    potrs(n, { factor, b, nrhs }) {
      const ld = i32(Math.max(n, 1));
      s.dpotrs_!(ch("U"), i32(n), i32(nrhs), factor, ld, b, ld, info, 1n);
      return info[0];
    },
    gemm({ m, n, k }, o) {
      s.dgemm_!(
        ch(o.transA ? "T" : "N"),
        ch(o.transB ? "T" : "N"),
        i32(m),
        i32(n),
        i32(k),
        f64(o.alpha ?? 1),
        o.a,
        i32(Math.max(o.lda, 1)),
        o.b,
        i32(Math.max(o.ldb, 1)),
        f64(o.beta ?? 0),
        o.c,
        i32(Math.max(o.ldc, 1)),
        1n,
        1n,
      );
    },
    syrk({ n, k }, o) {
      s.dsyrk_!(
        ch("U"),
        ch(o.trans ? "T" : "N"),
        i32(n),
        i32(k),
        f64(1),
        o.a,
        i32(Math.max(o.lda, 1)),
        f64(0),
        o.c,
        i32(Math.max(n, 1)),
        1n,
        1n,
      );
    },
  };
}

/**
 * The system LAPACK/BLAS, loaded on first call (and remembered), or undefined when none loads.
 * `tried` lists why each candidate failed, for the message of a forced `DSE_LINALG=lapack`.
 */
export function loadLapack(): { lapack?: Lapack; tried: string[] } {
  if (cached) return cached;
  const override = envVar("DSE_LINALG_LIB");
  const candidates = override ? [override] : LIBRARY_CANDIDATES;
  const tried: string[] = [];
  for (const c of candidates) {
    const r = tryOpen(c);
    if (typeof r !== "string") {
      oneThread(c);
      cached = { lapack: r, tried };
      return cached;
    }
    tried.push(r);
  }
  cached = { tried };
  return cached;
}

/**
 * One OpenBLAS thread per calling thread unless the user chose (`OPENBLAS_NUM_THREADS` or
 * `OMP_NUM_THREADS` set): the engine already runs one stage per core (`--jobs`), and a threaded
 * OpenBLAS shared by stages running side by side serialises their calls on its one pool and
 * spin-waits on the other's cores — two DSE trainings of the quick target took 3× as long per step
 * as one alone on this 2-core box. Libraries without `openblas_set_num_threads` are left alone.
 */
function oneThread(path: string): void {
  if (envVar("OPENBLAS_NUM_THREADS") !== undefined || envVar("OMP_NUM_THREADS") !== undefined) {
    return;
  }
  try {
    const lib = Deno.dlopen(path, {
      openblas_set_num_threads: { parameters: ["i32"], result: "void", optional: true },
    });
    lib.symbols.openblas_set_num_threads?.(1);
  } catch {
    // not OpenBLAS, or it cannot be opened again: its own threading stays
  }
}

/** An environment variable, or undefined (also when env access is not permitted). */
export function envVar(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined;
  }
}
