/**
 * Limited-memory BFGS for smooth unconstrained minimisation (Nocedal & Wright, Algorithms 7.4,
 * 3.5 and 3.6): two-loop recursion, and a line search that enforces the strong Wolfe conditions
 * by bracketing and safeguarded cubic interpolation.
 * @module
 */

/**
 * Objective and gradient: returns f(x) and writes ∇f(x) into `grad` (same length as `x`).
 * The callee must not keep `x` or `grad`.
 */
export type ObjectiveFn = (x: Float64Array, grad: Float64Array) => number;

/** Options of {@link minimizeLbfgs}. */
export interface LbfgsOptions {
  /** Number of correction pairs kept (default 10). */
  memory?: number;
  /** Stop when ‖∇f‖∞ ≤ gradTol · max(1, ‖∇f(x₀)‖∞) (default 1e-9). */
  gradTol?: number;
  /** Stop when (f_prev − f) ≤ fTol · max(|f_prev|, |f|, 1) (default 1e-15; 0 disables). */
  fTol?: number;
  /** Maximum number of iterations (default 5000). */
  maxIter?: number;
  /** Maximum number of objective evaluations (default 20·maxIter). */
  maxEval?: number;
}

/** Result of {@link minimizeLbfgs}. */
export interface LbfgsResult {
  /** The final iterate. */
  x: Float64Array;
  /** f at `x`. */
  f: number;
  /** ‖∇f(x)‖∞. */
  gradNorm: number;
  /** Iterations done. */
  iterations: number;
  /** Objective evaluations done. */
  evaluations: number;
  /** True when the gradient or function tolerance was met. */
  converged: boolean;
  /** Why it stopped. */
  message: string;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function infNorm(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i]);
    if (v > m) m = v;
  }
  return m;
}

/** Minimiser of the cubic interpolating (a, fa, da) and (b, fb, db); NaN if none. */
function cubicMin(a: number, fa: number, da: number, b: number, fb: number, db: number): number {
  const d1 = da + db - 3 * (fa - fb) / (a - b);
  const disc = d1 * d1 - da * db;
  if (!(disc >= 0)) return NaN;
  const d2 = Math.sign(b - a) * Math.sqrt(disc);
  return b - (b - a) * (db + d2 - d1) / (db - da + 2 * d2);
}

/**
 * Minimise `fg` from `x0` with L-BFGS. Convex problems converge to the global minimiser; the
 * result says whether the tolerance was met (`converged`) and why it stopped.
 * @param fg objective and gradient
 * @param x0 start point (not modified)
 */
export function minimizeLbfgs(
  fg: ObjectiveFn,
  x0: Float64Array,
  options: LbfgsOptions = {},
): LbfgsResult {
  const n = x0.length;
  const m = options.memory ?? 10;
  const gradTol = options.gradTol ?? 1e-9;
  const fTol = options.fTol ?? 1e-15;
  const maxIter = options.maxIter ?? 5000;
  const maxEval = options.maxEval ?? 20 * maxIter;
  const c1 = 1e-4, c2 = 0.9;

  let x = Float64Array.from(x0);
  let g = new Float64Array(n);
  let f = fg(x, g);
  let evals = 1;
  if (!Number.isFinite(f)) {
    throw new Error("lbfgs: the objective is not finite at the start point; check the inputs");
  }
  const gTolAbs = gradTol * Math.max(1, infNorm(g));
  const sList: Float64Array[] = [], yList: Float64Array[] = [], rhoList: number[] = [];
  const d = new Float64Array(n);
  const alpha = new Float64Array(m);
  let xNew = new Float64Array(n), gNew = new Float64Array(n);
  let iter = 0;
  let message = "maximum iterations reached";
  let converged = false;

  if (infNorm(g) <= gTolAbs) {
    return {
      x,
      f,
      gradNorm: infNorm(g),
      iterations: 0,
      evaluations: evals,
      converged: true,
      message: "gradient tolerance met at start",
    };
  }

  while (iter < maxIter) {
    // Two-loop recursion: d = −H g.
    for (let i = 0; i < n; i++) d[i] = -g[i];
    const k = sList.length;
    for (let j = k - 1; j >= 0; j--) {
      alpha[j] = rhoList[j] * dot(sList[j], d);
      const y = yList[j];
      for (let i = 0; i < n; i++) d[i] -= alpha[j] * y[i];
    }
    if (k > 0) {
      const gamma = dot(sList[k - 1], yList[k - 1]) / dot(yList[k - 1], yList[k - 1]);
      for (let i = 0; i < n; i++) d[i] *= gamma;
    }
    for (let j = 0; j < k; j++) {
      const beta = rhoList[j] * dot(yList[j], d);
      const s = sList[j];
      for (let i = 0; i < n; i++) d[i] += (alpha[j] - beta) * s[i];
    }
    let dg0 = dot(d, g);
    if (!(dg0 < 0)) {
      // Not a descent direction (round-off): restart from steepest descent.
      sList.length = yList.length = rhoList.length = 0;
      for (let i = 0; i < n; i++) d[i] = -g[i];
      dg0 = dot(d, g);
    }
    const step0 = sList.length === 0 ? Math.min(1, 1 / infNorm(g)) : 1;

    // Strong-Wolfe line search along d.
    let fLast = f;
    const evalAt = (t: number): [number, number] => {
      for (let i = 0; i < n; i++) xNew[i] = x[i] + t * d[i];
      fLast = fg(xNew, gNew);
      evals++;
      return [fLast, dot(gNew, d)];
    };
    // Approximate Wolfe (Hager & Zhang 2005): near the optimum f changes by less than its
    // round-off, so accept a step whose slope shows descent along the way.
    const epsF = 1e-10 * Math.max(1, Math.abs(f));
    const approxOk = (ft: number, dt: number) =>
      ft <= f + epsF && dt >= c2 * dg0 && dt <= -0.8 * dg0;
    let tPrev = 0, fPrev = f, dPrev = dg0;
    let t = step0;
    let found = false;
    let lo = 0, flo = f, dlo = dg0, hi = NaN, fhi = NaN, dhi = NaN;
    let zoom = false;
    for (let ls = 0; ls < 40 && evals < maxEval; ls++) {
      const [ft, dt] = evalAt(t);
      if (Number.isFinite(ft) && approxOk(ft, dt)) {
        found = true;
        break;
      }
      if (!Number.isFinite(ft) || ft > f + c1 * t * dg0 || (ls > 0 && ft >= fPrev)) {
        lo = tPrev, flo = fPrev, dlo = dPrev, hi = t, fhi = ft, dhi = dt;
        zoom = true;
        break;
      }
      if (Math.abs(dt) <= -c2 * dg0) {
        found = true;
        break;
      }
      if (dt >= 0) {
        lo = t, flo = ft, dlo = dt, hi = tPrev, fhi = fPrev, dhi = dPrev;
        zoom = true;
        break;
      }
      tPrev = t, fPrev = ft, dPrev = dt;
      t *= 4;
    }
    if (zoom) {
      for (let z = 0; z < 60 && evals < maxEval; z++) {
        const a = Math.min(lo, hi), b = Math.max(lo, hi);
        let tc = Number.isFinite(fhi) ? cubicMin(lo, flo, dlo, hi, fhi, dhi) : NaN;
        const margin = 0.1 * (b - a);
        if (!(tc > a + margin && tc < b - margin)) tc = 0.5 * (a + b);
        t = tc;
        const [ft, dt] = evalAt(t);
        if (Number.isFinite(ft) && approxOk(ft, dt)) {
          found = true;
          break;
        }
        if (!Number.isFinite(ft) || ft > f + c1 * t * dg0 || ft >= flo) {
          hi = t, fhi = ft, dhi = dt;
        } else {
          if (Math.abs(dt) <= -c2 * dg0) {
            found = true;
            break;
          }
          if (dt * (hi - lo) >= 0) hi = lo, fhi = flo, dhi = dlo;
          lo = t, flo = ft, dlo = dt;
        }
        if (Math.abs(hi - lo) * infNorm(d) < 1e-16 * Math.max(1, infNorm(x))) break;
      }
      if (!found && lo > 0 && flo < f) {
        // Accept the best sufficient-decrease point found (round-off regime near the optimum).
        t = lo;
        evalAt(t);
        found = true;
      }
    }
    if (!found) {
      message = evals >= maxEval
        ? "maximum evaluations reached"
        : "line search found no decrease (round-off level reached)";
      break;
    }
    iter++;
    const fOld = f;
    const s = new Float64Array(n), y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = xNew[i] - x[i];
      y[i] = gNew[i] - g[i];
    }
    [x, xNew] = [xNew, x];
    [g, gNew] = [gNew, g];
    f = fLast;
    const sy = dot(s, y);
    if (sy > 1e-12 * Math.sqrt(dot(s, s) * dot(y, y))) {
      if (sList.length === m) {
        sList.shift();
        yList.shift();
        rhoList.shift();
      }
      sList.push(s);
      yList.push(y);
      rhoList.push(1 / sy);
    }
    const gn = infNorm(g);
    if (gn <= gTolAbs) {
      converged = true;
      message = "gradient tolerance met";
      break;
    }
    if (fTol > 0 && fOld - f <= fTol * Math.max(Math.abs(fOld), Math.abs(f), 1)) {
      converged = true;
      message = "function tolerance met";
      break;
    }
    if (evals >= maxEval) {
      message = "maximum evaluations reached";
      break;
    }
  }
  return { x, f, gradNorm: infNorm(g), iterations: iter, evaluations: evals, converged, message };
}
