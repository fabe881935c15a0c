/**
 * The TypeScript backend's symmetric eigensolver on flat row-major `Float64Array`s:
 * Householder tridiagonalisation (upper triangle, the rank-2 update of each step fused with the
 * symmetric matrix-vector product of the next, so the trailing matrix is read once per step),
 * backward accumulation of the orthogonal factor, and the implicit QL iteration with Wilkinson
 * shifts (EISPACK/JAMA `tql2`, whose arithmetic on the diagonal and off-diagonal it follows).
 *
 * The QL rotations are recorded per sweep and applied 16 sweeps at a time, row by row of `V`
 * (row-major, so a row holds one component of every eigenvector and a chain of rotations on
 * adjacent columns runs over contiguous memory, carrying one value). In scalar JavaScript that is
 * no faster than the array-of-rows `tql2` this replaced (ml-matrix's): both are bound by the four
 * multiplies and two adds per element, as V8 emits scalar SSE code without fused multiply-add.
 * The gain comes from the WebAssembly SIMD kernels of `wasm_simd.ts`, which run the inner loops on
 * two rows or two columns per `f64x2` operation — from n = 8 (rotations; 2.3× on them) and n = 16
 * (tridiagonalisation, accumulation) — with the scalar loops here as the fallback where a runtime
 * has no wasm SIMD.
 * @module
 */
import { fusedKernel, rotationKernel, rowKernels, simdMemory } from "./wasm_simd.ts";

/** Eigenvalues (unordered) and eigenvectors (column i of the row-major `n × n` `vectors`). */
export interface SymEigResult {
  /** Eigenvalues, in the solver's order. */
  values: Float64Array;
  /** Row-major `n × n`; column i is the unit eigenvector of `values[i]`. */
  vectors: Float64Array;
}

/** `√(a² + b²)` without overflow or destructive underflow. */
function hypot(a: number, b: number): number {
  const x = Math.abs(a), y = Math.abs(b);
  const big = x > y ? x : y, small = x > y ? y : x;
  if (big === 0) return 0;
  const r = small / big;
  return big * Math.sqrt(1 + r * r);
}

/**
 * Householder reduction `Qᵀ A Q = T` in place. Reads and overwrites the upper triangle of the
 * row-major `n × n` `a`: row k keeps the reflector `v_k` (with `v_k[k+1] = 1`) in columns k+1…,
 * `tau[k]` its scale (`H_k = I − τ v vᵀ`). `d` gets T's diagonal, `e[k] = T[k][k+1]` (`e[n−1] = 0`).
 */
export function tridiagonalize(
  input: Float64Array,
  n: number,
): { d: Float64Array; e: Float64Array; tau: Float64Array } {
  const d = new Float64Array(n), e = new Float64Array(n), tau = new Float64Array(n);
  if (n === 0) return { d, e, tau };
  d[0] = input[0];
  if (n === 1) return { d, e, tau };
  // With the SIMD kernel: the matrix and the four work vectors in wasm memory (copied back at
  // the end), `*Off` their byte offsets.
  const nn = n * n;
  const mem = n >= 16 ? simdMemory((nn + 4 * n) * 8) : undefined;
  const fused = mem && fusedKernel(mem);
  const buf = fused ? mem!.buffer : new ArrayBuffer((nn + 4 * n) * 8);
  const a = fused ? new Float64Array(buf, 0, nn) : input;
  if (fused) a.set(input);
  let v = new Float64Array(buf, nn * 8, n), vn = new Float64Array(buf, (nn + n) * 8, n);
  let p = new Float64Array(buf, (nn + 2 * n) * 8, n),
    pn = new Float64Array(buf, (nn + 3 * n) * 8, n);

  /** Reflector from row k (columns k+1…); fills `out` and row k; returns τ. */
  const house = (k: number, out: Float64Array): number => {
    const base = k * n, x0 = a[base + k + 1];
    let sigma = 0;
    for (let j = k + 2; j < n; j++) sigma += a[base + j] * a[base + j];
    if (sigma === 0) {
      e[k] = x0;
      return 0;
    }
    const norm = Math.sqrt(x0 * x0 + sigma);
    const alpha = x0 <= 0 ? norm : -norm;
    const inv = 1 / (x0 - alpha);
    out[k + 1] = 1;
    a[base + k + 1] = 1;
    for (let j = k + 2; j < n; j++) {
      const vj = a[base + j] * inv;
      out[j] = vj;
      a[base + j] = vj;
    }
    e[k] = alpha;
    return (alpha - x0) / alpha;
  };

  tau[0] = house(0, v);
  if (tau[0] !== 0) symvUpper(a, n, { from: 1, v, out: p });
  for (let k = 0; k < n - 1; k++) {
    const s0 = k + 1, t = tau[k];
    if (t !== 0) {
      // w = τ p − (τ² pᵀv / 2) v, kept in p; then row s0 of the update S −= v wᵀ + w vᵀ.
      let pv = 0;
      for (let i = s0; i < n; i++) pv += p[i] * v[i];
      const half = 0.5 * t * t * pv;
      for (let i = s0; i < n; i++) p[i] = t * p[i] - half * v[i];
      const ro = s0 * n, vi = v[s0], wi = p[s0];
      for (let j = s0; j < n; j++) a[ro + j] -= vi * p[j] + wi * v[j];
    }
    d[s0] = a[s0 * n + s0];
    if (s0 === n - 1) break;
    const tn = house(s0, vn);
    tau[s0] = tn;
    if (tn !== 0) pn.fill(0, s0 + 1);
    for (let i = s0 + 1; i < n; i++) {
      const ro = i * n;
      if (t !== 0 && tn !== 0) {
        const vi = v[i], wi = p[i], vni = vn[i];
        const dii = a[ro + i] - 2 * vi * wi;
        a[ro + i] = dii;
        let sum = dii * vni;
        let j = i + 1;
        if (fused) {
          const cnt = (n - j) & ~1;
          sum += fused(
            (ro + j) * 8,
            p.byteOffset + j * 8,
            v.byteOffset + j * 8,
            vn.byteOffset + j * 8,
            pn.byteOffset + j * 8,
            cnt,
            vi,
            wi,
            vni,
          );
          j += cnt;
        }
        for (; j < n; j++) {
          const s = a[ro + j] - vi * p[j] - wi * v[j];
          a[ro + j] = s;
          sum += s * vn[j];
          pn[j] += s * vni;
        }
        pn[i] += sum;
      } else if (t !== 0) {
        const vi = v[i], wi = p[i];
        for (let j = i; j < n; j++) a[ro + j] -= vi * p[j] + wi * v[j];
      } else if (tn !== 0) {
        const vni = vn[i];
        let sum = a[ro + i] * vni;
        for (let j = i + 1; j < n; j++) {
          const s = a[ro + j];
          sum += s * vn[j];
          pn[j] += s * vni;
        }
        pn[i] += sum;
      }
    }
    [v, vn] = [vn, v];
    [p, pn] = [pn, p];
  }
  if (fused) input.set(a);
  return { d, e, tau };
}

/** `out[i] = Σ_j S[i][j] v[j]` for i, j ≥ from, S symmetric in the upper triangle of `a`. */
function symvUpper(
  a: Float64Array,
  n: number,
  o: { from: number; v: Float64Array; out: Float64Array },
): void {
  const { from, v, out } = o;
  out.fill(0, from);
  for (let i = from; i < n; i++) {
    const ro = i * n, vi = v[i];
    let sum = a[ro + i] * vi;
    for (let j = i + 1; j < n; j++) {
      const s = a[ro + j];
      sum += s * v[j];
      out[j] += s * vi;
    }
    out[i] += sum;
  }
}

/**
 * The orthogonal factor `Q = H_0 H_1 ⋯ H_{n−3}` of {@link tridiagonalize}, row-major `n × n`,
 * accumulated backwards four reflectors at a time in compact WY form
 * (`H_k ⋯ H_{k+3} = I − V T Vᵀ`, T upper triangular as LAPACK's `dlarft`), so each pass over the
 * trailing block of Q does the work of four.
 */
export function householderQ(a: Float64Array, n: number, tau: Float64Array): Float64Array {
  const B = 4;
  // Q and U in wasm memory for the SIMD row kernels when they are available.
  const mem = n >= 16 ? simdMemory((n * n + B * n) * 8) : undefined;
  const simd = mem && rowKernels(mem);
  const q = simd ? new Float64Array(mem!.buffer, 0, n * n) : new Float64Array(n * n);
  // U = T Vᵀ Q, row r at r·n
  const u = simd ? new Float64Array(mem!.buffer, n * n * 8, B * n) : new Float64Array(B * n);
  const uByte = n * n * 8, us = n * 8, m2Mask = ~1;
  q.fill(0); // the arena is reused: clear it
  for (let i = 0; i < n; i++) q[i * n + i] = 1;
  const vm = new Float64Array(n * B); // V, row i − s at (i − s)·B
  const t = new Float64Array(B * B);
  for (let top = n - 3; top >= 0; top -= B) {
    const k0 = Math.max(0, top - B + 1), s = k0 + 1, m = n - s;
    // V's columns: v_{k0+r} (zero where τ = 0 or k0 + r > top).
    vm.fill(0, 0, m * B);
    let any = false;
    for (let r = 0; r < B; r++) {
      const k = k0 + r;
      if (k > top || tau[k] === 0) continue;
      any = true;
      const vo = k * n;
      for (let i = k + 1; i < n; i++) vm[(i - s) * B + r] = a[vo + i];
    }
    if (!any) continue;
    // T (dlarft, forward): T[r][r] = τ_r; T[0:r, r] = −τ_r T[0:r, 0:r] (V[:, 0:r]ᵀ v_r).
    t.fill(0);
    for (let r = 0; r < B; r++) {
      const k = k0 + r, tr = k > top ? 0 : tau[k];
      t[r * B + r] = tr;
      if (tr === 0) continue;
      const dots = [0, 0, 0, 0];
      for (let i = 0; i < m; i++) {
        const vr = vm[i * B + r];
        if (vr === 0) continue;
        for (let c = 0; c < r; c++) dots[c] += vm[i * B + c] * vr;
      }
      for (let c = 0; c < r; c++) {
        let sum = 0;
        for (let l = c; l < r; l++) sum += t[c * B + l] * dots[l];
        t[c * B + r] = -tr * sum;
      }
    }
    // U = Vᵀ Q[s:, s:], one pass over the rows of Q.
    u.fill(0);
    for (let i = 0; i < m; i++) {
      const c0 = vm[i * B], c1 = vm[i * B + 1], c2 = vm[i * B + 2], c3 = vm[i * B + 3];
      const ro = (s + i) * n + s;
      let j = 0;
      if (simd) {
        j = m & m2Mask;
        simd.accumulate(ro * 8, uByte, us, j, c0, c1, c2, c3);
      }
      for (; j < m; j++) {
        const x = q[ro + j];
        u[j] += c0 * x;
        u[n + j] += c1 * x;
        u[2 * n + j] += c2 * x;
        u[3 * n + j] += c3 * x;
      }
    }
    // U ← T U (T upper triangular: row r uses rows r… of the old U).
    for (let j = 0; j < m; j++) {
      const u0 = u[j], u1 = u[n + j], u2 = u[2 * n + j], u3 = u[3 * n + j];
      u[j] = t[0] * u0 + t[1] * u1 + t[2] * u2 + t[3] * u3;
      u[n + j] = t[5] * u1 + t[6] * u2 + t[7] * u3;
      u[2 * n + j] = t[10] * u2 + t[11] * u3;
      u[3 * n + j] = t[15] * u3;
    }
    // Q[s:, s:] −= V U, a second pass.
    for (let i = 0; i < m; i++) {
      const c0 = vm[i * B], c1 = vm[i * B + 1], c2 = vm[i * B + 2], c3 = vm[i * B + 3];
      const ro = (s + i) * n + s;
      let j = 0;
      if (simd) {
        j = m & m2Mask;
        simd.update(ro * 8, uByte, us, j, c0, c1, c2, c3);
      }
      for (; j < m; j++) {
        q[ro + j] -= c0 * u[j] + c1 * u[n + j] + c2 * u[2 * n + j] + c3 * u[3 * n + j];
      }
    }
  }
  return simd ? q.slice() : q; // out of the shared wasm arena
}

/** Sweeps applied to V per pass over its rows. */
const SWEEP_BATCH = 16;

/**
 * Implicit QL on the symmetric tridiagonal (d, e) (`e[i] = T[i][i+1]`), rotations accumulated into
 * the row-major `n × n` `v` (start it at Q for A's eigenvectors, at I for T's). `d` becomes the
 * eigenvalues (unordered), `e` is destroyed. Throws if an eigenvalue does not converge.
 */
export function tridiagonalQl(d: Float64Array, e: Float64Array, v: Float64Array): void {
  const n = d.length;
  if (n === 0) return;
  e[n - 1] = 0;
  // Recorded sweeps: [l, m) rotation ranges and their cosines/sines at index i ∈ [l, m), in wasm
  // memory next to the row-paired copy of v when the SIMD kernel is available.
  const simd = n >= 8 ? simdRotations(v, n) : undefined;
  const cs = simd?.cs ?? new Float64Array(SWEEP_BATCH * n);
  const ss = simd?.ss ?? new Float64Array(SWEEP_BATCH * n);
  const ls = simd?.ls ?? new Int32Array(SWEEP_BATCH), ms = simd?.ms ?? new Int32Array(SWEEP_BATCH);
  let batched = 0;
  const flush = () => {
    if (simd) simd.apply(batched);
    else applySweeps(v, n, { count: batched, ls, ms, cs, ss });
    batched = 0;
  };
  let f = 0, tst1 = 0;
  const eps = Number.EPSILON;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]) <= eps * tst1) break;
      m++;
    }
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 60) {
          throw new Error(`symEig: the QL iteration did not converge for eigenvalue ${l} of ${n}`);
        }
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m];
        let c = 1, c2 = 1, c3 = 1, s = 0, s2 = 0;
        const el1 = e[l + 1];
        if (batched === SWEEP_BATCH) flush();
        const off = batched * n;
        ls[batched] = l;
        ms[batched] = m;
        batched++;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          cs[off + i] = c;
          ss[off + i] = s;
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > eps * tst1);
    }
    d[l] += f;
    e[l] = 0;
  }
  flush();
  simd?.finish();
}

/**
 * The wasm SIMD path of {@link tridiagonalQl} (see `wasm_simd.ts`): v copied into wasm memory as
 * interleaved row pairs, the sweep buffers beside it; `finish` copies v back. Undefined when the
 * runtime has no wasm SIMD.
 */
function simdRotations(v: Float64Array, n: number):
  | {
    cs: Float64Array;
    ss: Float64Array;
    ls: Int32Array;
    ms: Int32Array;
    apply: (count: number) => void;
    finish: () => void;
  }
  | undefined {
  const pairs = Math.ceil(Math.ceil(n / 2) / 4) * 4;
  const wLen = pairs * 2 * n;
  const lsOff = wLen * 8, msOff = lsOff + SWEEP_BATCH * 4, csOff = msOff + SWEEP_BATCH * 4;
  const ssOff = csOff + SWEEP_BATCH * n * 8, bytes = ssOff + SWEEP_BATCH * n * 8;
  const mem = simdMemory(bytes);
  const kernel = mem && rotationKernel(mem);
  if (!mem || !kernel) return undefined;
  const buf = mem.buffer;
  const w = new Float64Array(buf, 0, wLen);
  w.fill(0); // padding rows must be zero; the arena is reused
  for (let r = 0; r < n; r++) {
    const base = (r >> 1) * 2 * n + (r & 1), ro = r * n;
    for (let i = 0; i < n; i++) w[base + 2 * i] = v[ro + i];
  }
  return {
    cs: new Float64Array(buf, csOff, SWEEP_BATCH * n),
    ss: new Float64Array(buf, ssOff, SWEEP_BATCH * n),
    ls: new Int32Array(buf, lsOff, SWEEP_BATCH),
    ms: new Int32Array(buf, msOff, SWEEP_BATCH),
    apply: (count) => {
      if (count > 0) kernel(0, n, pairs, count, lsOff, msOff, csOff, ssOff);
    },
    finish: () => {
      for (let r = 0; r < n; r++) {
        const base = (r >> 1) * 2 * n + (r & 1), ro = r * n;
        for (let i = 0; i < n; i++) v[ro + i] = w[base + 2 * i];
      }
    },
  };
}

/**
 * Apply recorded QL sweeps to the columns of row-major `v`: sweep b rotates columns (i, i+1) for
 * i = m−1 down to l with (c, s) = (cs, ss)[b·n + i]. Rows go four at a time (independent chains).
 */
function applySweeps(
  v: Float64Array,
  n: number,
  o: { count: number; ls: Int32Array; ms: Int32Array; cs: Float64Array; ss: Float64Array },
): void {
  const { count, ls, ms, cs, ss } = o;
  if (count === 0) return;
  let k = 0;
  for (; k + 3 < n; k += 4) {
    const o0 = k * n, o1 = o0 + n, o2 = o1 + n, o3 = o2 + n;
    for (let b = 0; b < count; b++) {
      const l = ls[b], m = ms[b], off = b * n;
      let h0 = v[o0 + m], h1 = v[o1 + m], h2 = v[o2 + m], h3 = v[o3 + m];
      for (let i = m - 1; i >= l; i--) {
        const c = cs[off + i], s = ss[off + i];
        const x0 = v[o0 + i], x1 = v[o1 + i], x2 = v[o2 + i], x3 = v[o3 + i];
        v[o0 + i + 1] = s * x0 + c * h0;
        v[o1 + i + 1] = s * x1 + c * h1;
        v[o2 + i + 1] = s * x2 + c * h2;
        v[o3 + i + 1] = s * x3 + c * h3;
        h0 = c * x0 - s * h0;
        h1 = c * x1 - s * h1;
        h2 = c * x2 - s * h2;
        h3 = c * x3 - s * h3;
      }
      v[o0 + l] = h0;
      v[o1 + l] = h1;
      v[o2 + l] = h2;
      v[o3 + l] = h3;
    }
  }
  for (; k < n; k++) {
    const o0 = k * n;
    for (let b = 0; b < count; b++) {
      const l = ls[b], m = ms[b], off = b * n;
      let h0 = v[o0 + m];
      for (let i = m - 1; i >= l; i--) {
        const c = cs[off + i], s = ss[off + i];
        const x0 = v[o0 + i];
        v[o0 + i + 1] = s * x0 + c * h0;
        h0 = c * x0 - s * h0;
      }
      v[o0 + l] = h0;
    }
  }
}

/**
 * Eigendecomposition of the symmetric row-major `n × n` matrix `a` (upper triangle read; `a` is
 * overwritten). Eigenvalues come unordered; the caller sorts.
 */
export function symEigTs(a: Float64Array, n: number): SymEigResult {
  const { d, e, tau } = tridiagonalize(a, n);
  const q = householderQ(a, n, tau);
  tridiagonalQl(d, e, q);
  return { values: d, vectors: q };
}
