// LZ4 frame throughput on log-like data: `node --import tsx packages/transit/bench/lz4.bench.ts`
import { compressLz4Frame, decompressLz4Frame } from '../src/index.ts';

function logLines(size: number): Uint8Array {
  const parts: string[] = [];
  let total = 0;
  for (let i = 0; total < size; i++) {
    const line = `2026-08-21T16:53:${String(i % 60).padStart(2, '0')} INFO request ${(i * 7919) % 100_003} served in ${i % 97} ms\n`;
    parts.push(line);
    total += line.length;
  }
  return new TextEncoder().encode(parts.join('')).subarray(0, size);
}

function measure(name: string, bytes: number, rounds: number, fn: () => unknown): void {
  fn();
  const start = performance.now();
  for (let i = 0; i < rounds; i++) fn();
  const seconds = (performance.now() - start) / 1000;
  console.log(`${name.padEnd(34)} ${((bytes * rounds) / seconds / 1e6).toFixed(1).padStart(8)} MB/s`);
}

const data = logLines(16 * 1024 * 1024);
const random = new Uint8Array(16 * 1024 * 1024).map(() => (Math.random() * 256) | 0);
const compressed = compressLz4Frame(data);
console.log(`log data ${data.length} bytes -> ${compressed.length} (ratio ${(data.length / compressed.length).toFixed(2)})`);
measure('compress log data', data.length, 5, () => compressLz4Frame(data));
measure('decompress log data', data.length, 5, () => decompressLz4Frame(compressed));
measure('compress random data', random.length, 5, () => compressLz4Frame(random));
const storedRandom = compressLz4Frame(random);
measure('decompress random (stored blocks)', random.length, 5, () => decompressLz4Frame(storedRandom));
