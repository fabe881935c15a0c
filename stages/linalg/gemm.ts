/**
 * The TypeScript backend's large matrix products on `Float64Array`s: `C = op(A) op(B)` (and its
 * symmetric case `A Aᵀ`) by packed panels and a 4×4 register tile, the layout of a BLAS `dgemm`
 * without SIMD. The operands are packed once, in blocks of {@link KC} along the inner dimension and
 * 4-row panels (`op(A)`'s rows, `op(B)`'s columns, interleaved so that one inner step reads 4 + 4
 * adjacent values); {@link NC} columns of `op(B)` are kept in cache while every panel of `op(A)`
 * passes over them. The 4×4 tile runs as a wasm SIMD kernel (`wasm_simd.ts`, two rows per `f64x2`
 * lane pair, the same additions in the same order as the scalar tile, so bit-identical), or, where
 * the runtime has no wasm SIMD, in JavaScript with its 16 running sums in locals (registers).
 * @module
 */
import { simdMemory, type TileKernel, tileKernel } from "./wasm_simd.ts";

/** Inner-dimension block: a packed 4-row panel of `KC` steps is 8 KiB. */
const KC = 256;
/** Columns of `op(B)` per cache block (NC × KC × 8 bytes = 512 KiB). */
const NC = 256;

/** The wasm SIMD tile and where the packed operands and its 16 sums live in its memory. */
interface Simd {
  tile: TileKernel;
  aByte: number;
  bByte: number;
  outByte: number;
  out: Float64Array;
}

/** An operand as `rows × cols` with element (i, p) at `data[i·rs + p·cs]` (a view, maybe transposed). */
interface Strided {
  data: Float64Array;
  rows: number;
  cols: number;
  rs: number;
  cs: number;
}

/**
 * Pack a strided `rows × k` operand into KC blocks of 4-row panels: block kb (inner steps p0…p0+kl)
 * starts at `p0 · rowsPadded`; panel r4 inside it at `r4 · 4 · kl`; step q, row lane t at `4q + t`.
 * Rows past `rows` are zero.
 */
function pack(x: Strided, out: Float64Array): Float64Array {
  const { data, rows, cols: k, rs, cs } = x;
  const rp = (rows + 3) & ~3;
  for (let p0 = 0; p0 < k; p0 += KC) {
    const kl = Math.min(KC, k - p0);
    const base = p0 * rp;
    for (let r4 = 0; r4 < rp; r4 += 4) {
      const po = base + r4 * kl;
      const live = Math.min(4, rows - r4);
      for (let t = 0; t < live; t++) {
        let src = (r4 + t) * rs + p0 * cs;
        let dst = po + t;
        for (let q = 0; q < kl; q++) {
          out[dst] = data[src];
          src += cs;
          dst += 4;
        }
      }
    }
  }
  return out;
}

/**
 * `C += Ap · Bpᵀ` over one KC block for row panels [i0, i1) of A and column panels [j0, j1) of B
 * (4 each), into the row-major `m × n` `c`. With `lowerOnly`, tiles strictly above the diagonal
 * are skipped (their mirror is filled by the caller).
 */
function kernelBlock(
  ap: Float64Array,
  bp: Float64Array,
  o: {
    aBase: number;
    bBase: number;
    kl: number;
    m: number;
    n: number;
    c: Float64Array;
    i1: number;
    j0: number;
    j1: number;
    lowerOnly: boolean;
    simd?: Simd;
  },
): void {
  const { aBase, bBase, kl, m, n, c, i1, j0, j1, lowerOnly, simd } = o;
  for (let i = 0; i < i1; i += 4) {
    const ao = aBase + i * kl;
    const jEnd = lowerOnly ? Math.min(j1, i + 4) : j1;
    for (let j = j0; j < jEnd; j += 4) {
      let a = ao, b = bBase + (j - j0) * kl;
      if (simd) {
        simd.tile(simd.aByte + 8 * a, simd.bByte + 8 * b, kl, simd.outByte);
        const t = simd.out; // c[r][s] at t[8·(r >> 1) + 2s + (r & 1)]
        for (let r = 0; r < 4 && i + r < m; r++) {
          const co = (i + r) * n + j, to = 8 * (r >> 1) + (r & 1);
          for (let s = 0; s < 4 && j + s < n; s++) c[co + s] += t[to + 2 * s];
        }
        continue;
      }
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
      let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
      let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      const end = a + 4 * kl;
      for (; a < end; a += 4, b += 4) {
        const a0 = ap[a], a1 = ap[a + 1], a2 = ap[a + 2], a3 = ap[a + 3];
        const b0 = bp[b], b1 = bp[b + 1], b2 = bp[b + 2], b3 = bp[b + 3];
        c00 += a0 * b0;
        c01 += a0 * b1;
        c02 += a0 * b2;
        c03 += a0 * b3;
        c10 += a1 * b0;
        c11 += a1 * b1;
        c12 += a1 * b2;
        c13 += a1 * b3;
        c20 += a2 * b0;
        c21 += a2 * b1;
        c22 += a2 * b2;
        c23 += a2 * b3;
        c30 += a3 * b0;
        c31 += a3 * b1;
        c32 += a3 * b2;
        c33 += a3 * b3;
      }
      if (i + 3 < m && j + 3 < n) {
        let co = i * n + j;
        c[co] += c00, c[co + 1] += c01, c[co + 2] += c02, c[co + 3] += c03;
        co += n;
        c[co] += c10, c[co + 1] += c11, c[co + 2] += c12, c[co + 3] += c13;
        co += n;
        c[co] += c20, c[co + 1] += c21, c[co + 2] += c22, c[co + 3] += c23;
        co += n;
        c[co] += c30, c[co + 1] += c31, c[co + 2] += c32, c[co + 3] += c33;
      } else {
        const t = [c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33];
        for (let r = 0; r < 4 && i + r < m; r++) {
          for (let s = 0; s < 4 && j + s < n; s++) c[(i + r) * n + j + s] += t[r * 4 + s];
        }
      }
    }
  }
}

/** `C = A · Bᵀ` for strided `A` (m × k) and `B` (n × k): the driver of the packed kernel. */
function productABt(a: Strided, b: Strided, lowerOnly: boolean): Float64Array {
  const m = a.rows, n = b.rows, k = a.cols;
  const c = new Float64Array(m * n);
  if (m === 0 || n === 0 || k === 0) return c;
  const mp = (m + 3) & ~3, np = (n + 3) & ~3;
  const shared = lowerOnly && a === b;
  // Packed panels in wasm memory when the SIMD tile is available, plain arrays otherwise.
  const aLen = mp * k, bLen = shared ? 0 : np * k;
  const mem = simdMemory((aLen + bLen) * 8 + 128);
  const tile = mem && tileKernel(mem);
  const simd: Simd | undefined = tile && {
    tile,
    aByte: 0,
    bByte: shared ? 0 : aLen * 8,
    outByte: (aLen + bLen) * 8,
    out: new Float64Array(mem!.buffer, (aLen + bLen) * 8, 16),
  };
  // (pack leaves padding rows alone: arena views are cleared first)
  const ap = pack(
    a,
    tile ? new Float64Array(mem!.buffer, 0, aLen).fill(0) : new Float64Array(aLen),
  );
  const bp = shared ? ap : pack(
    b,
    tile ? new Float64Array(mem!.buffer, aLen * 8, bLen).fill(0) : new Float64Array(bLen),
  );
  for (let j0 = 0; j0 < np; j0 += NC) {
    const j1 = Math.min(np, j0 + NC);
    // Under lowerOnly, row panels above this column block contribute nothing.
    for (let p0 = 0; p0 < k; p0 += KC) {
      const kl = Math.min(KC, k - p0);
      kernelBlock(ap, bp, {
        aBase: p0 * mp,
        bBase: p0 * np + j0 * kl,
        kl,
        m,
        n,
        c,
        i1: mp,
        j0,
        j1,
        lowerOnly,
        simd,
      });
    }
  }
  return c;
}

/**
 * Row-major `op(A) · op(B)` for row-major `a` (`ar × ac`) and `b` (`br × bc`), `op` the transpose
 * when `transA`/`transB`. The caller checks the inner dimensions.
 */
export function gemmPacked(
  a: { rows: number; cols: number; data: Float64Array },
  b: { rows: number; cols: number; data: Float64Array },
  options: { transA: boolean; transB: boolean },
): Float64Array {
  // op(A) as m × k; op(B)ᵀ as n × k.
  const av: Strided = options.transA
    ? { data: a.data, rows: a.cols, cols: a.rows, rs: 1, cs: a.cols }
    : { data: a.data, rows: a.rows, cols: a.cols, rs: a.cols, cs: 1 };
  const bv: Strided = options.transB
    ? { data: b.data, rows: b.rows, cols: b.cols, rs: b.cols, cs: 1 }
    : { data: b.data, rows: b.cols, cols: b.rows, rs: 1, cs: b.cols };
  return productABt(av, bv, false);
}

/**
 * The symmetric product `op(A) op(A)ᵀ` of row-major `a` (`transA`: `AᵀA`, else `AAᵀ`), computed
 * on the lower triangle and mirrored, so it is exactly symmetric.
 */
export function syrkPacked(
  a: { rows: number; cols: number; data: Float64Array },
  options: { transA: boolean },
): Float64Array {
  const av: Strided = options.transA
    ? { data: a.data, rows: a.cols, cols: a.rows, rs: 1, cs: a.cols }
    : { data: a.data, rows: a.rows, cols: a.cols, rs: a.cols, cs: 1 };
  const c = productABt(av, av, true);
  const n = av.rows;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) c[i * n + j] = c[j * n + i];
  return c;
}
