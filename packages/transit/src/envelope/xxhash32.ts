// xxHash32 (one-shot), used by the LZ4 frame format for header, block and content checksums.
// Readers of many blocks (the analytics service) call useWasmXxh32() once: large inputs (block and
// content checksums) then go through xxhash-wasm, ~3.4× faster than JavaScript, while small ones
// (frame headers) stay in JavaScript. Instrumented programs never load it: a WebAssembly instance
// in the process made V8 collect garbage during the allocation-free recording loop.

/** Inputs at least this long are hashed in WebAssembly once it is enabled. */
const WASM_MIN_BYTES = 1024;

let wasmH32: ((data: Uint8Array, seed: number) => number) | undefined;

/** Hashes large inputs with xxhash-wasm from now on (stays in JavaScript if it cannot load). */
export async function useWasmXxh32(): Promise<boolean> {
  if (wasmH32) return true;
  try {
    const { default: xxhash } = await import('xxhash-wasm');
    wasmH32 = (await xxhash()).h32Raw;
    return true;
  } catch {
    return false;
  }
}

const PRIME1 = 0x9e3779b1;
const PRIME2 = 0x85ebca77;
const PRIME3 = 0xc2b2ae3d;
const PRIME4 = 0x27d4eb2f;
const PRIME5 = 0x165667b1;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function read32(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
}

function round(acc: number, lane: number): number {
  return Math.imul(rotl((acc + Math.imul(lane, PRIME2)) | 0, 13), PRIME1);
}

/** xxHash32 of `data` with `seed`, as an unsigned 32-bit number. */
export function xxh32(data: Uint8Array, seed = 0): number {
  if (wasmH32 && data.length >= WASM_MIN_BYTES) return wasmH32(data, seed) >>> 0;
  return xxh32Js(data, seed);
}

/** The JavaScript implementation (every input when WebAssembly is unavailable). */
export function xxh32Js(data: Uint8Array, seed = 0): number {
  const length = data.length;
  let i = 0;
  let h: number;
  if (length >= 16) {
    let v1 = (seed + PRIME1 + PRIME2) | 0;
    let v2 = (seed + PRIME2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - PRIME1) | 0;
    const limit = length - 16;
    while (i <= limit) {
      v1 = round(v1, read32(data, i));
      v2 = round(v2, read32(data, i + 4));
      v3 = round(v3, read32(data, i + 8));
      v4 = round(v4, read32(data, i + 12));
      i += 16;
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    h = (seed + PRIME5) | 0;
  }
  // The length contributes modulo 2^32.
  h = (h + (length % 0x1_0000_0000)) | 0;
  while (i + 4 <= length) {
    h = Math.imul(rotl((h + Math.imul(read32(data, i), PRIME3)) | 0, 17), PRIME4);
    i += 4;
  }
  while (i < length) {
    h = Math.imul(rotl((h + Math.imul(data[i]!, PRIME5)) | 0, 11), PRIME1);
    i += 1;
  }
  h ^= h >>> 15;
  h = Math.imul(h, PRIME2);
  h ^= h >>> 13;
  h = Math.imul(h, PRIME3);
  h ^= h >>> 16;
  return h >>> 0;
}
