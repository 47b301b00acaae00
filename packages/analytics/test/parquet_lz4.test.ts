import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decompressLz4Raw } from '@micromegas/transit';
import { compressPageLz4, LZ4_PAGE_COMPRESSOR } from '../src/parquet/lz4.ts';

test('page compression yields raw LZ4 blocks that decode to the page, whichever compressor is in use', () => {
  assert.equal(LZ4_PAGE_COMPRESSOR, 'lz4-napi', 'the prebuilt module loads on this platform');
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const text = new TextEncoder().encode(Array.from({ length: 5000 }, (_, i) => `request ${i % 97} served in ${(i * 7) % 13} ms`).join('\n'));
  const noise = Uint8Array.from({ length: 70_000 }, () => Math.floor(random() * 256));
  const pages = [new Uint8Array(0), Uint8Array.of(1), new Uint8Array(65_536).fill(9), text, noise, text.subarray(3, 1003)];
  for (const page of pages) {
    const packed = compressPageLz4(page);
    assert.deepEqual(decompressLz4Raw(packed, page.length), page);
  }
  assert.ok(compressPageLz4(text).length < text.length / 2, 'repetitive text compresses');
});
