/**
 * HDF5 file sniffing without loading an HDF5 library (h5wasm loads only when a file is read).
 * @module
 */

/**
 * Whether bytes start an HDF5 file: the 8-byte signature `\x89HDF\r\n\x1a\n` at offset 0, 512 or
 * 1024 (MATLAB v7.3 puts a 512-byte user block first).
 */
export function hasHdf5Signature(bytes: Uint8Array): boolean {
  const sig = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
  return [0, 512, 1024].some((off) =>
    bytes.length >= off + 8 && sig.every((b, i) => bytes[off + i] === b)
  );
}
