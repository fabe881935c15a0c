/**
 * Shared numerics for the baselines: dense matrix helpers on {@link Matrix} and eigen/SVD
 * solvers (symmetric, generalized symmetric-definite by Cholesky whitening), on the system
 * LAPACK/BLAS when one loads and on pure TypeScript otherwise (see {@link linalgBackend}).
 * @module
 */
export * from "./matrix.ts";
export * from "./eig.ts";
export * from "./backend.ts";
