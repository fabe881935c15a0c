/**
 * A WebAssembly SIMD kernel for the QL iteration's rotations (see `sym_eig.ts`), assembled here
 * from its opcodes — no toolchain, no binary file; it runs wherever V8 runs wasm SIMD (any Deno 2),
 * and {@link rotationKernel} returns undefined otherwise so the scalar kernel is used.
 *
 * Why: a rotation costs 4 multiplies and 2 adds per element, and V8 compiles scalar JavaScript to
 * scalar SSE code, so the scalar kernel is bound by floating-point throughput. `f64x2` does the
 * same arithmetic on two rows of the eigenvector matrix at once (IEEE-exact, the same results as the
 * scalar code: no fused multiply-add).
 *
 * Layout: rows are paired and interleaved — pair p holds rows 2p and 2p+1 as `n` two-lane vectors,
 * column-major within the pair (`W[p·2n + 2i + t] = V[2p + t][i]`) — so one 16-byte load fetches
 * column i of both rows. Pairs go four at a time (four independent chains hide the latency of the
 * carried value); the caller pads to a multiple of four pairs with zero rows.
 * @module
 */

const I32 = 0x7f, V128 = 0x7b;

/** Unsigned LEB128. */
function uleb(v: number): number[] {
  const out: number[] = [];
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
  return out;
}

/** Signed LEB128 (for i32.const). */
function sleb(v: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function name(s: string): number[] {
  const b = [...new TextEncoder().encode(s)];
  return [...uleb(b.length), ...b];
}

// Parameters: 0 w, 1 n, 2 pairs (a multiple of 4), 3 count, 4 ls, 5 ms, 6 cs, 7 ss (byte offsets).
const P = { w: 0, n: 1, pairs: 2, count: 3, ls: 4, ms: 5, cs: 6, ss: 7 };
// i32 locals.
const L = { p: 8, b: 9, pa: 10, pend: 11, cp: 12, sp: 13, stride: 14, row: 15, off: 16 };
// v128 locals.
const V = { h0: 17, h1: 18, h2: 19, h3: 20, c: 21, s: 22, x: 23 };

const get = (i: number) => [0x20, ...uleb(i)];
const set = (i: number) => [0x21, ...uleb(i)];
const tee = (i: number) => [0x22, ...uleb(i)];
const i32c = (v: number) => [0x41, ...sleb(v)];
const add = [0x6a], sub = [0x6b], mul = [0x6c], shl = [0x74];
const geS = [0x4e], leU = [0x4d], geU = [0x4f];
const i32load = [0x28, 2, 0];
const vload = (offset = 0) => [0xfd, 0x00, 3, ...uleb(offset)];
const vstore = (offset = 0) => [0xfd, 0x0b, 3, ...uleb(offset)];
const splat = [0xfd, 0x0a, 3, 0]; // v128.load64_splat
const fadd = [0xfd, 0xf0, 0x01], fsub = [0xfd, 0xf1, 0x01], fmul = [0xfd, 0xf2, 0x01];
const block = [0x02, 0x40], loop = [0x03, 0x40], end = [0x0b];
const br = (d: number) => [0x0c, d], brIf = (d: number) => [0x0d, d];

/** Address of pair q (0…3) at the current column pointer `pa`. */
const pairAddr = (q: number) =>
  q === 0 ? get(L.pa) : [...get(L.pa), ...get(L.stride), ...i32c(q), ...mul, ...add];

function body(): number[] {
  const rotate = (q: number, h: number) => [
    // x = W[pair q][i]; W[pair q][i+1] = s·x + c·h; h = c·x − s·h
    ...pairAddr(q),
    ...pairAddr(q),
    ...vload(),
    ...tee(V.x),
    ...get(V.s),
    ...fmul,
    ...get(V.c),
    ...get(h),
    ...fmul,
    ...fadd,
    ...vstore(16),
    ...get(V.c),
    ...get(V.x),
    ...fmul,
    ...get(V.s),
    ...get(h),
    ...fmul,
    ...fsub,
    ...set(h),
  ];
  const hs = [V.h0, V.h1, V.h2, V.h3];
  return [
    ...get(P.n),
    ...i32c(4),
    ...shl,
    ...set(L.stride),
    ...i32c(0),
    ...set(L.p),
    ...block, // $pairs done
    ...loop,
    ...get(L.p),
    ...get(P.pairs),
    ...geS,
    ...brIf(1),
    ...get(P.w),
    ...get(L.p),
    ...get(L.stride),
    ...mul,
    ...add,
    ...set(L.row),
    ...i32c(0),
    ...set(L.b),
    ...block, // $sweeps done
    ...loop,
    ...get(L.b),
    ...get(P.count),
    ...geS,
    ...brIf(1),
    // pa = row + 16·m; pend = row + 16·l; off = 8·(b·n + m)
    ...get(L.row),
    ...get(P.ms),
    ...get(L.b),
    ...i32c(2),
    ...shl,
    ...add,
    ...i32load,
    ...tee(L.off), // m
    ...i32c(4),
    ...shl,
    ...add,
    ...set(L.pa),
    ...get(L.b),
    ...get(P.n),
    ...mul,
    ...get(L.off),
    ...add,
    ...i32c(3),
    ...shl,
    ...set(L.off),
    ...get(P.cs),
    ...get(L.off),
    ...add,
    ...set(L.cp),
    ...get(P.ss),
    ...get(L.off),
    ...add,
    ...set(L.sp),
    ...get(L.row),
    ...get(P.ls),
    ...get(L.b),
    ...i32c(2),
    ...shl,
    ...add,
    ...i32load,
    ...i32c(4),
    ...shl,
    ...add,
    ...set(L.pend),
    ...hs.flatMap((h, q) => [...pairAddr(q), ...vload(), ...set(h)]),
    ...block, // $chain done
    ...loop,
    ...get(L.pa),
    ...get(L.pend),
    ...leU,
    ...brIf(1),
    ...get(L.pa),
    ...i32c(16),
    ...sub,
    ...set(L.pa),
    ...get(L.cp),
    ...i32c(8),
    ...sub,
    ...tee(L.cp),
    ...splat,
    ...set(V.c),
    ...get(L.sp),
    ...i32c(8),
    ...sub,
    ...tee(L.sp),
    ...splat,
    ...set(V.s),
    ...hs.flatMap((h, q) => rotate(q, h)),
    ...br(0),
    ...end,
    ...end,
    // W[pair q][l] = h_q (pa = pend now)
    ...hs.flatMap((h, q) => [...pairAddr(q), ...get(h), ...vstore()]),
    ...get(L.b),
    ...i32c(1),
    ...add,
    ...set(L.b),
    ...br(0),
    ...end,
    ...end,
    ...get(L.p),
    ...i32c(4),
    ...add,
    ...set(L.p),
    ...br(0),
    ...end,
    ...end,
    ...end,
  ];
}

/**
 * The gemm tile: params 0 a, 1 b (packed 4-wide panels, see `gemm.ts`), 2 kl (steps), 3 out.
 * Sums Σ_q a[4q + r]·b[4q + j] for r, j < 4 into 8 two-lane accumulators (rows 2pr, 2pr+1 of
 * column j) and stores them at `out + 16·(4pr + j)`. Each lane adds its products in order, as the
 * scalar tile does.
 */
function tileBody(): number[] {
  const T = { a: 0, b: 1, kl: 2, out: 3, end: 4 };
  const acc = (pr: number, j: number) => 5 + pr * 4 + j; // v128 locals 5…12
  const av = [13, 14], bs = 15;
  const code: number[] = [
    ...get(T.a),
    ...get(T.kl),
    ...i32c(5),
    ...shl,
    ...add,
    ...set(T.end),
    ...block,
    ...loop,
    ...get(T.a),
    ...get(T.end),
    ...geU,
    ...brIf(1),
    ...get(T.a),
    ...vload(),
    ...set(av[0]),
    ...get(T.a),
    ...vload(16),
    ...set(av[1]),
  ];
  for (let j = 0; j < 4; j++) {
    code.push(...get(T.b), 0xfd, 0x0a, 3, ...uleb(8 * j), ...set(bs));
    for (let pr = 0; pr < 2; pr++) {
      code.push(
        ...get(acc(pr, j)),
        ...get(av[pr]),
        ...get(bs),
        ...fmul,
        ...fadd,
        ...set(acc(pr, j)),
      );
    }
  }
  code.push(
    ...get(T.a),
    ...i32c(32),
    ...add,
    ...set(T.a),
    ...get(T.b),
    ...i32c(32),
    ...add,
    ...set(T.b),
    ...br(0),
    ...end,
    ...end,
  );
  for (let pr = 0; pr < 2; pr++) {
    for (let j = 0; j < 4; j++) {
      code.push(...get(T.out), ...get(acc(pr, j)), ...vstore(16 * (4 * pr + j)));
    }
  }
  code.push(...end);
  return code;
}

/**
 * Row kernels of the blocked Householder accumulation (`householderQ` in `sym_eig.ts`): params
 * 0 q, 1 u (byte offsets), 2 us (bytes between the four rows of u), 3 m (even element count),
 * 4…7 c0…c3 (f64). `update`: `q[j] −= c0·u0[j] + c1·u1[j] + c2·u2[j] + c3·u3[j]`; otherwise
 * (`accumulate`): `u_r[j] += c_r · q[j]`. Same operations in the same order as the scalar loops.
 */
function rowBody(update: boolean): number[] {
  const R = { q: 0, u: 1, us: 2, m: 3, end: 8, u1: 9, u2: 10, u3: 11 };
  const k = [12, 13, 14, 15], x = 16;
  const up = [R.u, R.u1, R.u2, R.u3];
  const code: number[] = [];
  for (let r = 0; r < 4; r++) code.push(...get(4 + r), 0xfd, 0x14, ...set(k[r]));
  for (let r = 1; r < 4; r++) {
    code.push(...get(R.u), ...get(R.us), ...i32c(r), ...mul, ...add, ...set(up[r]));
  }
  code.push(...get(R.q), ...get(R.m), ...i32c(3), ...shl, ...add, ...set(R.end));
  code.push(...block, ...loop, ...get(R.q), ...get(R.end), ...geU, ...brIf(1));
  if (update) {
    code.push(...get(R.q), ...get(R.q), ...vload());
    for (let r = 0; r < 4; r++) {
      code.push(...get(k[r]), ...get(up[r]), ...vload(), ...fmul);
      if (r > 0) code.push(...fadd);
    }
    code.push(...fsub, ...vstore());
  } else {
    code.push(...get(R.q), ...vload(), ...set(x));
    for (let r = 0; r < 4; r++) {
      code.push(
        ...get(up[r]),
        ...get(up[r]),
        ...vload(),
        ...get(k[r]),
        ...get(x),
        ...fmul,
        ...fadd,
        ...vstore(),
      );
    }
  }
  for (const p of [R.q, ...up]) code.push(...get(p), ...i32c(16), ...add, ...set(p));
  code.push(...br(0), ...end, ...end, ...end);
  return code;
}

/**
 * The fused row of `tridiagonalize`: params 0 a, 1 p, 2 v, 3 vn, 4 pn (byte offsets), 5 m (even
 * count), 6 vi, 7 wi, 8 vni (f64). For each j: `s = a[j] − vi·p[j] − wi·v[j]; a[j] = s;
 * pn[j] += s·vni`, and returns Σ s·vn[j] (summed in two lanes, then added).
 */
function fusedBody(): number[] {
  const F = { a: 0, p: 1, v: 2, vn: 3, pn: 4, m: 5, end: 9 };
  const kvi = 10, kwi = 11, kvni = 12, acc = 13, sv = 14;
  const code: number[] = [
    ...get(6),
    0xfd,
    0x14,
    ...set(kvi),
    ...get(7),
    0xfd,
    0x14,
    ...set(kwi),
    ...get(8),
    0xfd,
    0x14,
    ...set(kvni),
    ...get(F.a),
    ...get(F.m),
    ...i32c(3),
    ...shl,
    ...add,
    ...set(F.end),
    ...block,
    ...loop,
    ...get(F.a),
    ...get(F.end),
    ...geU,
    ...brIf(1),
    // s = (a − vi·p) − wi·v; a = s
    ...get(F.a),
    ...get(F.a),
    ...vload(),
    ...get(kvi),
    ...get(F.p),
    ...vload(),
    ...fmul,
    ...fsub,
    ...get(kwi),
    ...get(F.v),
    ...vload(),
    ...fmul,
    ...fsub,
    ...tee(sv),
    ...vstore(),
    // acc += s·vn
    ...get(acc),
    ...get(sv),
    ...get(F.vn),
    ...vload(),
    ...fmul,
    ...fadd,
    ...set(acc),
    // pn += s·vni
    ...get(F.pn),
    ...get(F.pn),
    ...vload(),
    ...get(sv),
    ...get(kvni),
    ...fmul,
    ...fadd,
    ...vstore(),
  ];
  for (const ptr of [F.a, F.p, F.v, F.vn, F.pn]) {
    code.push(...get(ptr), ...i32c(16), ...add, ...set(ptr));
  }
  code.push(...br(0), ...end, ...end);
  code.push(...get(acc), 0xfd, 0x21, 0, ...get(acc), 0xfd, 0x21, 1, 0xa0, ...end);
  return code;
}

function moduleBytes(): Uint8Array<ArrayBuffer> {
  const F64 = 0x7c;
  const type = [
    4,
    0x60,
    8,
    ...Array(8).fill(I32),
    0,
    0x60,
    4,
    ...Array(4).fill(I32),
    0,
    0x60,
    8,
    I32,
    I32,
    I32,
    I32,
    F64,
    F64,
    F64,
    F64,
    0,
    0x60,
    9,
    ...Array(6).fill(I32),
    F64,
    F64,
    F64,
    1,
    F64,
  ];
  const fn5 = [2, 1, I32, 5, V128, ...fusedBody()];
  const fn3 = [2, 4, I32, 5, V128, ...rowBody(false)];
  const fn4 = [2, 4, I32, 5, V128, ...rowBody(true)];
  const imports = [1, ...name("env"), ...name("mem"), 0x02, 0x00, 1];
  const code = body();
  const fn = [2, 9, I32, 7, V128, ...code];
  const fn2 = [2, 1, I32, 11, V128, ...tileBody()];
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, type),
    ...section(2, imports),
    ...section(3, [5, 0, 1, 2, 2, 3]),
    ...section(7, [
      5,
      ...name("fused"),
      0x00,
      4,
      ...name("sweeps"),
      0x00,
      0,
      ...name("tile"),
      0x00,
      1,
      ...name("accumulate"),
      0x00,
      2,
      ...name("update"),
      0x00,
      3,
    ]),
    ...section(10, [
      5,
      ...[fn, fn2, fn3, fn4, fn5].flatMap((f) => [...uleb(f.length), ...f]),
    ]),
  ]);
}

/** The compiled kernel's signature (byte offsets into `mem`). */
export type SweepsKernel = (
  w: number,
  n: number,
  pairs: number,
  count: number,
  ls: number,
  ms: number,
  cs: number,
  ss: number,
) => void;

/** The gemm tile's signature (byte offsets into `mem`): `tile(a, b, kl, out)`. */
export type TileKernel = (a: number, b: number, kl: number, out: number) => void;

let compiled: WebAssembly.Module | null | undefined;

/**
 * An instance of the rotation kernel over `mem`, or undefined when this runtime has no wasm SIMD
 * (or the kernels are turned off by {@link useWasmSimd}).
 */
export function rotationKernel(mem: WebAssembly.Memory): SweepsKernel | undefined {
  return instance(mem)?.sweeps as SweepsKernel | undefined;
}

/** The row kernels of `householderQ` (see `rowBody`), over `mem`, or undefined. */
export function rowKernels(
  mem: WebAssembly.Memory,
): { accumulate: RowKernel; update: RowKernel } | undefined {
  const e = instance(mem);
  return e && { accumulate: e.accumulate as RowKernel, update: e.update as RowKernel };
}

/** The fused row kernel of `tridiagonalize` (see `fusedBody`), over `mem`, or undefined. */
export function fusedKernel(mem: WebAssembly.Memory): FusedKernel | undefined {
  return instance(mem)?.fused as FusedKernel | undefined;
}

/** `fused(a, p, v, vn, pn, m, vi, wi, vni)` → Σ s·vn (offsets in bytes, m even). */
export type FusedKernel = (
  a: number,
  p: number,
  v: number,
  vn: number,
  pn: number,
  m: number,
  vi: number,
  wi: number,
  vni: number,
) => number;

/** A row kernel's signature: `(q, u, us, m, c0, c1, c2, c3)`, offsets in bytes. */
export type RowKernel = (
  q: number,
  u: number,
  us: number,
  m: number,
  c0: number,
  c1: number,
  c2: number,
  c3: number,
) => void;

/** An instance of the gemm tile kernel over `mem`, or undefined (as {@link rotationKernel}). */
export function tileKernel(mem: WebAssembly.Memory): TileKernel | undefined {
  return instance(mem)?.tile as TileKernel | undefined;
}

/** Requests above this many bytes get a memory of their own, freed with it. */
const ARENA_MAX = 64 * 2 ** 20;
let arena: WebAssembly.Memory | undefined;
const instances = new WeakMap<WebAssembly.Memory, WebAssembly.Exports>();

/**
 * Wasm memory of at least `bytes` for one kernel call sequence, or undefined when the kernels are
 * unavailable or turned off. Up to 64 MiB it is one process-wide arena (grown as needed, so small
 * problems do not pay for a new memory and instance each call); the caller owns it until it
 * returns and must copy its results out. Views on an earlier `buffer` are invalid after a call.
 */
export function simdMemory(bytes: number): WebAssembly.Memory | undefined {
  if (!wasmEnabled || !compile()) return undefined;
  const pages = Math.max(1, Math.ceil(bytes / 65536));
  if (bytes > ARENA_MAX) return new WebAssembly.Memory({ initial: pages });
  if (!arena) arena = new WebAssembly.Memory({ initial: pages });
  const have = arena.buffer.byteLength / 65536;
  if (have < pages) arena.grow(pages - have);
  return arena;
}

function compile(): WebAssembly.Module | null {
  if (compiled === undefined) {
    try {
      const bytes = moduleBytes();
      compiled = WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

function instance(mem: WebAssembly.Memory): WebAssembly.Exports | undefined {
  const module = compile();
  if (!module || !wasmEnabled) return undefined;
  let e = instances.get(mem);
  if (!e) {
    e = new WebAssembly.Instance(module, { env: { mem } }).exports;
    instances.set(mem, e);
  }
  return e;
}

let wasmEnabled = true;

/** Turn the wasm kernels off (false) or back on, for tests; returns the previous setting. */
export function useWasmSimd(on: boolean): boolean {
  const prev = wasmEnabled;
  wasmEnabled = on;
  return prev;
}
