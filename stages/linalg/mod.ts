/**
 * Shared numerics for the baselines: dense matrix helpers on {@link Matrix} and eigen/SVD
 * solvers (symmetric, generalized symmetric-definite by Cholesky whitening).
 * @module
 */
export * from "./matrix.ts";
export * from "./eig.ts";
