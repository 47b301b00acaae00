// LZ4_RAW compression of Parquet pages. lz4-napi (Rust lz4_flex through N-API, prebuilt for the
// common platforms) compresses about twice as fast as our JavaScript block compressor, and a little
// tighter; the JavaScript one remains for platforms without a prebuilt module.
import { createRequire } from 'node:module';
import { compressLz4Raw } from '@micromegas/transit';

type CompressSync = (data: Buffer) => Buffer;

function loadNative(): CompressSync | undefined {
  try {
    return (createRequire(import.meta.url)('lz4-napi') as { compressSync: CompressSync }).compressSync;
  } catch {
    return undefined;
  }
}

const native = loadNative();

/** Which compressor pages go through (for benchmarks and diagnostics). */
export const LZ4_PAGE_COMPRESSOR: 'lz4-napi' | 'javascript' = native ? 'lz4-napi' : 'javascript';

/** One LZ4 block, no header: Parquet's LZ4_RAW. */
export function compressPageLz4(raw: Uint8Array): Uint8Array {
  if (!native) return compressLz4Raw(raw);
  // lz4_flex's block output is prefixed with the uncompressed size (4 bytes, little endian).
  return native(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)).subarray(4);
}
