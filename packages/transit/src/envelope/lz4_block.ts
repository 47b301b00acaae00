// LZ4 block format: sequence decoder with full bounds checking, and a greedy hash-table compressor.
// Positions are absolute indexes into the caller's buffers so that linked frame blocks can reference
// the previous 64 KiB of output (decoder) or input (compressor) without copying a window around.
import { TransitFormatError } from './errors.ts';

const MIN_MATCH = 4;
/** The last 5 bytes of a block are always literals. */
const LAST_LITERALS = 5;
/** The last match must start at least 12 bytes before the end of the block. */
const MF_LIMIT = 12;
const MAX_OFFSET = 65535;

/**
 * Decodes the LZ4 block src[srcStart, srcEnd) into dst starting at dstPos, never writing at or beyond dstLimit.
 * Match offsets may reach back to windowStart (block start for independent blocks, frame start for linked ones).
 * Returns the new output position. Malformed input throws TransitFormatError; overflowing dstLimit throws a
 * RangeError-free TransitFormatError too, with `overflowMessage`.
 */
export function decompressLz4Block(
  src: Uint8Array,
  srcStart: number,
  srcEnd: number,
  dst: Uint8Array,
  dstPos: number,
  dstLimit: number,
  windowStart: number,
  overflowMessage = 'lz4: block decompresses beyond its maximum size',
): number {
  let ip = srcStart;
  let op = dstPos;
  const fail = (what: string): never => {
    throw new TransitFormatError(`lz4: ${what} at input offset ${ip}`);
  };
  for (;;) {
    if (ip >= srcEnd) fail('truncated block');
    const token = src[ip++]!;
    let literalLength = token >>> 4;
    if (literalLength === 15) {
      for (;;) {
        if (ip >= srcEnd) fail('truncated literal length');
        const b = src[ip++]!;
        literalLength += b;
        if (b !== 255) break;
      }
    }
    if (literalLength > srcEnd - ip) fail('literals run past the end of the block');
    if (literalLength > dstLimit - op) throw new TransitFormatError(overflowMessage);
    if (literalLength < 32) {
      for (let k = 0; k < literalLength; k++) dst[op + k] = src[ip + k]!;
    } else {
      dst.set(src.subarray(ip, ip + literalLength), op);
    }
    ip += literalLength;
    op += literalLength;
    if (ip === srcEnd) return op; // the last sequence carries literals only
    if (srcEnd - ip < 2) fail('truncated match offset');
    const offset = src[ip]! | (src[ip + 1]! << 8);
    ip += 2;
    if (offset === 0 || offset > op - windowStart) fail(`invalid match offset ${offset}`);
    let matchLength = token & 15;
    if (matchLength === 15) {
      for (;;) {
        if (ip >= srcEnd) fail('truncated match length');
        const b = src[ip++]!;
        matchLength += b;
        if (b !== 255) break;
      }
    }
    matchLength += MIN_MATCH;
    if (matchLength > dstLimit - op) throw new TransitFormatError(overflowMessage);
    let ref = op - offset;
    if (offset >= matchLength && matchLength >= 32) {
      dst.copyWithin(op, ref, ref + matchLength);
      op += matchLength;
    } else {
      // Overlapping copies repeat the last `offset` bytes, so they must go byte by byte.
      const end = op + matchLength;
      while (op < end) dst[op++] = dst[ref++]!;
    }
  }
}

const HASH_BITS = 16;
let sharedTable: Int32Array | null = null;

/** A hash table of input positions, reset for a new frame (shared: compression is synchronous). */
export function freshHashTable(): Int32Array {
  sharedTable ??= new Int32Array(1 << HASH_BITS);
  sharedTable.fill(-1);
  return sharedTable;
}

function read32(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
}

function hash(sequence: number): number {
  return Math.imul(sequence, 2654435761) >>> (32 - HASH_BITS);
}

/**
 * Compresses src[blockStart, blockEnd) as one LZ4 block into dst at dstPos, not writing at or beyond dstLimit.
 * Matches may refer back to windowStart (0 for linked frame blocks, blockStart for independent ones), at most
 * 65535 bytes back. Returns the new output position, or -1 if the output would not fit (caller stores raw).
 */
export function compressLz4Block(
  src: Uint8Array,
  blockStart: number,
  blockEnd: number,
  dst: Uint8Array,
  dstPos: number,
  dstLimit: number,
  windowStart: number,
  table: Int32Array,
): number {
  let op = dstPos;
  let anchor = blockStart;
  const matchLimit = blockEnd - LAST_LITERALS;
  const lastMatchStart = blockEnd - MF_LIMIT;
  let ip = blockStart;
  let misses = 0;

  while (ip <= lastMatchStart) {
    const sequence = read32(src, ip);
    const h = hash(sequence);
    let ref = table[h]!;
    table[h] = ip;
    if (ref < windowStart || ip - ref > MAX_OFFSET || read32(src, ref) !== sequence) {
      // Accelerate through incompressible regions, like the reference implementation.
      misses++;
      ip += 1 + (misses >> 6);
      continue;
    }
    misses = 0;
    while (ip > anchor && ref > windowStart && src[ip - 1] === src[ref - 1]) {
      ip--;
      ref--;
    }
    let length = MIN_MATCH;
    while (ip + length < matchLimit && src[ip + length] === src[ref + length]) length++;

    const literalLength = ip - anchor;
    // Worst case for this sequence: token + literal length bytes + literals + offset + match length bytes.
    const worst = 1 + ((literalLength / 255) | 0) + 1 + literalLength + 2 + (((length - MIN_MATCH) / 255) | 0) + 1;
    if (worst > dstLimit - op) return -1;
    const tokenPos = op++;
    let token: number;
    if (literalLength >= 15) {
      token = 15 << 4;
      let rest = literalLength - 15;
      while (rest >= 255) {
        dst[op++] = 255;
        rest -= 255;
      }
      dst[op++] = rest;
    } else {
      token = literalLength << 4;
    }
    if (literalLength < 32) {
      for (let k = 0; k < literalLength; k++) dst[op + k] = src[anchor + k]!;
    } else {
      dst.set(src.subarray(anchor, ip), op);
    }
    op += literalLength;
    const offset = ip - ref;
    dst[op++] = offset & 0xff;
    dst[op++] = offset >>> 8;
    const extra = length - MIN_MATCH;
    if (extra >= 15) {
      token |= 15;
      let rest = extra - 15;
      while (rest >= 255) {
        dst[op++] = 255;
        rest -= 255;
      }
      dst[op++] = rest;
    } else {
      token |= extra;
    }
    dst[tokenPos] = token;

    ip += length;
    anchor = ip;
    // Index a position inside the match so the next lookups find recent data.
    if (ip - 2 <= lastMatchStart) table[hash(read32(src, ip - 2))] = ip - 2;
  }

  const literalLength = blockEnd - anchor;
  if (1 + ((literalLength / 255) | 0) + 1 + literalLength > dstLimit - op) return -1;
  if (literalLength >= 15) {
    dst[op++] = 15 << 4;
    let rest = literalLength - 15;
    while (rest >= 255) {
      dst[op++] = 255;
      rest -= 255;
    }
    dst[op++] = rest;
  } else {
    dst[op++] = literalLength << 4;
  }
  dst.set(src.subarray(anchor, blockEnd), op);
  return op + literalLength;
}
