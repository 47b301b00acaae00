// LZ4 frame format (lz4_Frame_format.md v1.6): what Rust's lz4 crate and Unreal's LZ4F write around the
// transit buffers of every native block. The decoder accepts every frame option except dictionaries;
// the encoder writes the same settings as the Rust client (FLG 0x54, BD 0x40) unless told otherwise.
import { TransitFormatError } from './errors.ts';
import { compressLz4Block, decompressLz4Block, freshHashTable } from './lz4_block.ts';
import { xxh32 } from './xxhash32.ts';

const FRAME_MAGIC = 0x184d2204;
const LEGACY_MAGIC = 0x184c2102;
const SKIPPABLE_MAGIC_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const UNCOMPRESSED_BIT = 0x8000_0000;

const FLG_VERSION = 0x40;
const FLG_INDEPENDENT = 0x20;
const FLG_BLOCK_CHECKSUM = 0x10;
const FLG_CONTENT_SIZE = 0x08;
const FLG_CONTENT_CHECKSUM = 0x04;
const FLG_RESERVED = 0x02;
const FLG_DICT_ID = 0x01;

export type Lz4BlockMaxSize = 65536 | 262144 | 1048576 | 4194304;

const BLOCK_MAX_SIZES: readonly number[] = [65536, 262144, 1048576, 4194304]; // BD ids 4..7

/** 1 GiB: far above any real block (Rust limits requests to 100 MiB) yet refuses decompression bombs. */
export const DEFAULT_LZ4_MAX_OUTPUT = 1 << 30;

export interface Lz4DecompressOptions {
  /** Refuse to produce more than this many bytes in total (default DEFAULT_LZ4_MAX_OUTPUT). */
  maxOutputSize?: number;
  /**
   * Decompress into this reusable buffer (grown when needed) and return a view of it, valid until
   * the scratch's next use. Saves touching fresh memory for every block, which costs more than
   * the decompression itself on some machines.
   */
  scratch?: Lz4Scratch;
}

/** A reusable output buffer for decompressLz4Frame. */
export class Lz4Scratch {
  buffer = new Uint8Array(0);
}

function read32le(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
}

function write32le(b: Uint8Array, i: number, v: number): void {
  b[i] = v & 0xff;
  b[i + 1] = (v >>> 8) & 0xff;
  b[i + 2] = (v >>> 16) & 0xff;
  b[i + 3] = (v >>> 24) & 0xff;
}

/**
 * Decompresses one or more concatenated LZ4 frames (skippable frames are skipped) and returns the
 * concatenated content. Corrupt, truncated or oversized input throws TransitFormatError.
 */
export function decompressLz4Frame(input: Uint8Array, options: Lz4DecompressOptions = {}): Uint8Array {
  const maxOutput = options.maxOutputSize ?? DEFAULT_LZ4_MAX_OUTPUT;
  const wantedInitially = Math.min(maxOutput, Math.max(1024, input.length * 4));
  const scratch = options.scratch;
  let out = scratch && scratch.buffer.length >= wantedInitially ? scratch.buffer : new Uint8Array(wantedInitially);
  let outPos = 0;
  let pos = 0;
  let frames = 0;
  const fail = (what: string, at: number = pos): never => {
    throw new TransitFormatError(`lz4: ${what} at input offset ${at}`);
  };
  const need = (n: number, at: number): void => {
    if (n > input.length - pos) fail('truncated frame', at);
  };
  const ensureCapacity = (extra: number): void => {
    const wanted = Math.min(outPos + extra, maxOutput);
    if (wanted <= out.length) return;
    const grown = new Uint8Array(Math.min(maxOutput, Math.max(wanted, out.length * 2)));
    grown.set(out.subarray(0, outPos));
    out = grown;
  };
  const overflowMessage = `lz4: decompressed output exceeds the limit of ${maxOutput} bytes`;

  while (pos < input.length) {
    const frameOffset = pos;
    need(4, frameOffset);
    const magic = read32le(input, pos);
    pos += 4;
    if ((magic & SKIPPABLE_MAGIC_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      need(4, frameOffset);
      const size = read32le(input, pos);
      pos += 4;
      if (size > input.length - pos) fail('truncated skippable frame', frameOffset);
      pos += size;
      continue;
    }
    if (magic === LEGACY_MAGIC) fail('legacy LZ4 frames are not supported', frameOffset);
    if (magic !== FRAME_MAGIC) fail(`bad magic number 0x${magic.toString(16).padStart(8, '0')}`, frameOffset);

    const descriptorStart = pos;
    need(2, frameOffset);
    const flg = input[pos]!;
    const bd = input[pos + 1]!;
    if ((flg & 0xc0) !== FLG_VERSION) fail(`unsupported frame version ${flg >> 6}`, descriptorStart);
    if (flg & FLG_RESERVED || bd & 0x8f) fail('reserved descriptor bits set', descriptorStart);
    const blockSizeId = (bd >> 4) & 0x7;
    if (blockSizeId < 4) fail(`invalid block maximum size id ${blockSizeId}`, descriptorStart + 1);
    const blockMaxSize = BLOCK_MAX_SIZES[blockSizeId - 4]!;
    if (flg & FLG_DICT_ID) fail('frame requires a dictionary (dictionary id present), none is available', descriptorStart);
    const independent = (flg & FLG_INDEPENDENT) !== 0;
    const blockChecksum = (flg & FLG_BLOCK_CHECKSUM) !== 0;
    const contentChecksum = (flg & FLG_CONTENT_CHECKSUM) !== 0;
    const hasContentSize = (flg & FLG_CONTENT_SIZE) !== 0;
    const descriptorLength = 2 + (hasContentSize ? 8 : 0);
    need(descriptorLength + 1, frameOffset);
    let contentSize: number | null = null;
    if (hasContentSize) {
      const lo = read32le(input, pos + 2);
      const hi = read32le(input, pos + 6);
      const size = hi * 0x1_0000_0000 + lo;
      if (size > maxOutput - outPos) throw new TransitFormatError(overflowMessage);
      contentSize = size;
    }
    const headerChecksum = input[pos + descriptorLength]!;
    const expectedHeaderChecksum = (xxh32(input.subarray(pos, pos + descriptorLength)) >>> 8) & 0xff;
    if (headerChecksum !== expectedHeaderChecksum) fail('header checksum mismatch', pos + descriptorLength);
    pos += descriptorLength + 1;
    // LZ4 expands at most ~255:1, so a declared size beyond that is not trusted for pre-allocation.
    if (contentSize !== null) ensureCapacity(Math.min(contentSize, (input.length - pos) * 255 + 64));

    const frameStart = outPos;
    for (;;) {
      const blockOffset = pos;
      need(4, blockOffset);
      const word = read32le(input, pos);
      pos += 4;
      if (word === 0) break; // end mark
      const uncompressed = (word & UNCOMPRESSED_BIT) !== 0;
      const size = (word & ~UNCOMPRESSED_BIT) >>> 0;
      if (size > blockMaxSize) fail(`block size ${size} exceeds the frame's maximum ${blockMaxSize}`, blockOffset);
      need(size + (blockChecksum ? 4 : 0), blockOffset);
      if (blockChecksum) {
        const stored = read32le(input, pos + size);
        if (xxh32(input.subarray(pos, pos + size)) !== stored) fail('block checksum mismatch', blockOffset);
      }
      ensureCapacity(blockMaxSize);
      if (uncompressed) {
        if (size > maxOutput - outPos) throw new TransitFormatError(overflowMessage);
        out.set(input.subarray(pos, pos + size), outPos);
        outPos += size;
      } else {
        const limitByBlock = outPos + blockMaxSize;
        const limit = Math.min(limitByBlock, maxOutput, out.length);
        outPos = decompressLz4Block(
          input,
          pos,
          pos + size,
          out,
          outPos,
          limit,
          independent ? outPos : frameStart,
          limit < limitByBlock ? overflowMessage : `lz4: block at input offset ${blockOffset} decompresses beyond ${blockMaxSize} bytes`,
        );
      }
      pos += size + (blockChecksum ? 4 : 0);
    }
    if (contentChecksum) {
      need(4, pos);
      const stored = read32le(input, pos);
      if (xxh32(out.subarray(frameStart, outPos)) !== stored) fail('content checksum mismatch', pos);
      pos += 4;
    }
    if (contentSize !== null && outPos - frameStart !== contentSize) {
      fail(`content size field says ${contentSize} bytes but the frame holds ${outPos - frameStart}`, frameOffset);
    }
    frames++;
  }
  if (frames === 0) throw new TransitFormatError('lz4: input contains no LZ4 frame');
  if (scratch) {
    scratch.buffer = out;
    return out.subarray(0, outPos);
  }
  return out.length === outPos ? out : out.slice(0, outPos);
}

export interface Lz4CompressOptions {
  /** Maximum uncompressed bytes per block (default 65536, as upstream). */
  blockMaxSize?: Lz4BlockMaxSize;
  /** Blocks may reference the previous 64 KiB (default true, as upstream); false writes independent blocks. */
  linkedBlocks?: boolean;
  /** xxHash32 after each block (default true, as upstream). */
  blockChecksum?: boolean;
  /** xxHash32 of the whole content after the end mark (default true, as upstream). */
  contentChecksum?: boolean;
  /** Write the 8-byte content size field (default false, as upstream). */
  contentSize?: boolean;
}

/** Compresses `data` into a single LZ4 frame; blocks that do not shrink are stored uncompressed. */
export function compressLz4Frame(data: Uint8Array, options: Lz4CompressOptions = {}): Uint8Array {
  const blockMaxSize = options.blockMaxSize ?? 65536;
  const blockSizeId = BLOCK_MAX_SIZES.indexOf(blockMaxSize);
  if (blockSizeId < 0) throw new TransitFormatError(`lz4: unsupported block maximum size ${blockMaxSize}`);
  const linked = options.linkedBlocks ?? true;
  const blockChecksum = options.blockChecksum ?? true;
  const contentChecksum = options.contentChecksum ?? true;
  const contentSize = options.contentSize ?? false;

  const blockCount = Math.ceil(data.length / blockMaxSize);
  const bound = 4 + 2 + 8 + 1 + blockCount * (4 + 4) + data.length + 4 + 4;
  const out = new Uint8Array(bound);
  write32le(out, 0, FRAME_MAGIC);
  const flg =
    FLG_VERSION |
    (linked ? 0 : FLG_INDEPENDENT) |
    (blockChecksum ? FLG_BLOCK_CHECKSUM : 0) |
    (contentSize ? FLG_CONTENT_SIZE : 0) |
    (contentChecksum ? FLG_CONTENT_CHECKSUM : 0);
  out[4] = flg;
  out[5] = (blockSizeId + 4) << 4;
  let pos = 6;
  if (contentSize) {
    write32le(out, pos, data.length >>> 0);
    write32le(out, pos + 4, Math.floor(data.length / 0x1_0000_0000));
    pos += 8;
  }
  out[pos] = (xxh32(out.subarray(4, pos)) >>> 8) & 0xff;
  pos += 1;

  const table = freshHashTable();
  for (let start = 0; start < data.length; start += blockMaxSize) {
    const end = Math.min(start + blockMaxSize, data.length);
    const rawLength = end - start;
    const bodyStart = pos + 4;
    // A compressed block must be strictly smaller than the raw one to be worth it.
    const compressedEnd = compressLz4Block(data, start, end, out, bodyStart, bodyStart + rawLength - 1, linked ? 0 : start, table);
    let bodyLength: number;
    if (compressedEnd < 0) {
      out.set(data.subarray(start, end), bodyStart);
      bodyLength = rawLength;
      write32le(out, pos, (rawLength | UNCOMPRESSED_BIT) >>> 0);
    } else {
      bodyLength = compressedEnd - bodyStart;
      write32le(out, pos, bodyLength);
    }
    pos = bodyStart + bodyLength;
    if (blockChecksum) {
      write32le(out, pos, xxh32(out.subarray(bodyStart, pos)));
      pos += 4;
    }
  }
  write32le(out, pos, 0);
  pos += 4;
  if (contentChecksum) {
    write32le(out, pos, xxh32(data));
    pos += 4;
  }
  return out.slice(0, pos);
}

/** One LZ4 block without frame (Parquet's LZ4_RAW codec); incompressible data still fits. */
export function compressLz4Raw(data: Uint8Array): Uint8Array {
  const bound = data.length + Math.ceil(data.length / 255) + 16;
  const out = new Uint8Array(bound);
  const end = compressLz4Block(data, 0, data.length, out, 0, bound, 0, freshHashTable());
  if (end < 0) throw new TransitFormatError('lz4: raw block exceeded its bound');
  return out.subarray(0, end);
}

/** Inverse of compressLz4Raw; `size` is the exact decompressed size. */
export function decompressLz4Raw(data: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  const end = decompressLz4Block(data, 0, data.length, out, 0, size, 0);
  if (end !== size) throw new TransitFormatError(`lz4: raw block holds ${end} bytes, expected ${size}`);
  return out;
}
