/**
 * Single-precision matrix products (`sgemm`) on the system BLAS that {@link loadLapack} found,
 * for the neural-network code's float32 tensors (the wasm backend's `BatchMatMul`, see
 * `stages/nn/fast_kernels.ts`). The same library handle is opened again with the one extra symbol,
 * so the `OPENBLAS_CORETYPE` chosen for the first load applies.
 *
 * Row-major in, row-major out: `C = op(A) · op(B)` with `C` m×n is computed as the column-major
 * product `Cᵀ = op(B)ᵀ · op(A)ᵀ`, which is the same memory.
 * @module
 */
import { envVar, LIBRARY_CANDIDATES, loadLapack } from "./lapack.ts";

/** A loaded `sgemm`. */
export interface Sgemm {
  /** The library it came from. */
  library: string;
  /**
   * `C = op(A) · op(B)`, all row-major float32 (views into any memory, e.g. a wasm heap):
   * `op(A)` is m×k (`a` is k×m when `transA`), `op(B)` is k×n (`b` is n×k when `transB`),
   * `c` is m×n and is overwritten.
   */
  matmul(
    dims: { m: number; n: number; k: number },
    args: { a: Float32Array; b: Float32Array; c: Float32Array; transA: boolean; transB: boolean },
  ): void;
}

const B = "buffer" as const;
const L = "usize" as const;
/** `sgemm_`: 13 arguments by reference, then the two hidden lengths of the character arguments. */
const SYMBOLS = {
  sgemm_: { parameters: [B, B, B, B, B, B, B, B, B, B, B, B, B, L, L], result: "void" },
} as const;

let cached: { sgemm?: Sgemm; why?: string } | undefined;

/**
 * The system `sgemm`, or why there is none: `DSE_NN_BLAS=0` turns it off; otherwise it is there
 * exactly when {@link loadLapack} loads a library (with `--allow-ffi`) that exports `sgemm_`.
 * Tried once per process.
 */
export function loadSgemm(): { sgemm?: Sgemm; why?: string } {
  if (cached) return cached;
  if (envVar("DSE_NN_BLAS") === "0") return cached = { why: "DSE_NN_BLAS=0" };
  const { lapack, tried } = loadLapack();
  if (!lapack) return cached = { why: `no BLAS loads (${tried.join("; ") || "none tried"})` };
  let lib: Deno.DynamicLibrary<typeof SYMBOLS>;
  try {
    lib = Deno.dlopen(lapack.library, SYMBOLS);
  } catch (e) {
    return cached = { why: `${lapack.library}: ${(e as Error).message.split("\n")[0]}` };
  }
  const s = lib.symbols;
  const N = new Uint8Array(["N".charCodeAt(0)]), T = new Uint8Array(["T".charCodeAt(0)]);
  const ints = new Int32Array(6); // M, N, K, lda, ldb, ldc
  const scal = new Float32Array([1, 0]); // alpha, beta
  const at = (i: number) => ints.subarray(i, i + 1);
  return cached = {
    sgemm: {
      library: lapack.library,
      matmul({ m, n, k }, { a, b, c, transA, transB }) {
        if (m === 0 || n === 0) return;
        if (k === 0) {
          c.fill(0, 0, m * n);
          return;
        }
        // Column-major Cᵀ (n×m) = op(B)ᵀ (n×k) · op(A)ᵀ (k×m).
        ints[0] = n;
        ints[1] = m;
        ints[2] = k;
        ints[3] = transB ? k : n; // leading dimension of b as stored (its row length)
        ints[4] = transA ? m : k;
        ints[5] = n;
        s.sgemm_(
          transB ? T : N,
          transA ? T : N,
          at(0),
          at(1),
          at(2),
          scal.subarray(0, 1),
          b,
          at(3),
          a,
          at(4),
          scal.subarray(1, 2),
          c,
          at(5),
          1n,
          1n,
        );
      },
    },
  };
}

/**
 * The product DSE training's float32 matmuls use on the wasm backend in this process:
 * `blas:<library>` when {@link loadSgemm} loads one, else `xnnpack` (what {@link matmulProvider}
 * predicts without loading anything).
 */
export function loadedMatmul(): string {
  const { sgemm } = loadSgemm();
  return sgemm ? `blas:${sgemm.library}` : "xnnpack";
}

/**
 * Which product DSE training's float32 matmuls will use on the wasm backend, for cache keys:
 * `blas:<library>` or `xnnpack` (tfjs-wasm's own). Loads nothing — opening OpenBLAS costs
 * 70–230 ms (its thread pool and buffers), too much for computing keys — but looks for the
 * library {@link loadLapack} would open first: `DSE_LINALG_LIB`, else the first of
 * {@link LIBRARY_CANDIDATES} found in the loader's directories (`LD_LIBRARY_PATH`,
 * `/etc/ld.so.conf.d`, the usual lib directories). `train-dse` checks the product that really
 * loaded against it and refuses to run on a mismatch.
 */
export function matmulProvider(): string {
  if (envVar("DSE_NN_BLAS") === "0") return "xnnpack";
  // Looked up once per process (the engine asks for every train-dse stage when computing keys).
  found ??= { lib: findLibrary() };
  return found.lib ? `blas:${found.lib}` : "xnnpack";
}

let found: { lib?: string } | undefined;

/** The first library {@link loadLapack} would try that exists here (without opening it). */
function findLibrary(): string | undefined {
  const override = envVar("DSE_LINALG_LIB");
  const candidates = override ? [override] : LIBRARY_CANDIDATES;
  const dirs = libraryDirs();
  for (const c of candidates) {
    if (c.includes("/") ? exists(c) : dirs.some((d) => exists(`${d}/${c}`))) return c;
  }
  return undefined;
}

function libraryDirs(): string[] {
  const dirs = (envVar("LD_LIBRARY_PATH") ?? "").split(":").filter(Boolean);
  try {
    for (const e of Deno.readDirSync("/etc/ld.so.conf.d")) {
      if (!e.name.endsWith(".conf")) continue;
      for (const line of Deno.readTextFileSync(`/etc/ld.so.conf.d/${e.name}`).split("\n")) {
        const d = line.trim();
        if (d.startsWith("/")) dirs.push(d);
      }
    }
  } catch {
    // not Linux, or no permission to read it: the usual directories below
  }
  dirs.push("/lib", "/usr/lib", "/lib64", "/usr/lib64", "/usr/local/lib", "/opt/homebrew/lib");
  return dirs;
}

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}
