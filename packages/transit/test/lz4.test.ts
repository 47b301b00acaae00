import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { compressLz4Frame, decompressLz4Frame, TransitFormatError, xxh32 } from '../src/index.ts';
import { useWasmXxh32, xxh32Js } from '../src/envelope/xxhash32.ts';
import { fromHex, hex } from './fixtures_envelope.ts';

const MAGIC = [0x04, 0x22, 0x4d, 0x18];

function le32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}

/** Hand-built frame: descriptor from flags, blocks given as [raw bytes, stored uncompressed?]. */
function frame(
  flg: number,
  blocks: [number[], boolean][],
  extra: { contentSize?: number; content?: Uint8Array } = {},
): Uint8Array {
  const descriptor = [flg, 0x40];
  if (flg & 0x08) descriptor.push(...le32(extra.contentSize ?? 0), 0, 0, 0, 0);
  const out = [...MAGIC, ...descriptor, (xxh32(Uint8Array.from(descriptor)) >>> 8) & 0xff];
  for (const [data, stored] of blocks) {
    out.push(...le32((data.length | (stored ? 0x8000_0000 : 0)) >>> 0), ...data);
    if (flg & 0x10) out.push(...le32(xxh32(Uint8Array.from(data))));
  }
  out.push(0, 0, 0, 0);
  if (flg & 0x04) out.push(...le32(xxh32(extra.content ?? new Uint8Array())));
  return Uint8Array.from(out);
}

const ascii = (s: string): number[] => [...Buffer.from(s, 'latin1')];
const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('latin1');

function assertFormatError(fn: () => unknown, pattern?: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof TransitFormatError, `expected TransitFormatError, got ${String(error)}`);
    if (pattern) assert.match(error.message, pattern);
    return true;
  });
}

function pseudoRandom(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let s = seed >>> 0;
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

function compressible(length: number): Uint8Array {
  const lines: string[] = [];
  let total = 0;
  for (let i = 0; total < length; i++) {
    const line = `2026-08-21T16:53:${String(i % 60).padStart(2, '0')} INFO request ${i % 1013} served in ${i % 97} ms\n`;
    lines.push(line);
    total += line.length;
  }
  return new TextEncoder().encode(lines.join('')).subarray(0, length);
}

describe('xxh32', () => {
  it('matches known vectors', () => {
    assert.equal(xxh32(new Uint8Array()), 0x02cc5d05);
    assert.equal(xxh32(new TextEncoder().encode('abc')), 0x32d153ff);
    assert.equal(xxh32(new TextEncoder().encode('Nobody inspects the spammish repetition')), 0xe2293b2f);
    assert.equal(xxh32(new Uint8Array(), 1), 0x0b2cb792);
    assert.equal((xxh32(Uint8Array.from([0x54, 0x40])) >>> 8) & 0xff, 0xae);
  });
  it('gives the same hashes in WebAssembly (large inputs) and JavaScript, at every length around the switch', async () => {
    assert.equal(await useWasmXxh32(), true);
    let seed = 11;
    const data = Uint8Array.from({ length: 70_000 }, () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
    for (const n of [0, 1, 15, 16, 17, 1023, 1024, 1025, 4096, 65_537, 70_000]) {
      for (const s of [0, 1, 0x9e3779b1]) assert.equal(xxh32(data.subarray(3, 3 + n), s), xxh32Js(data.subarray(3, 3 + n), s), `length ${n}, seed ${s}`);
    }
  });
});

describe('lz4 frame encoder', () => {
  it('writes the 15-byte upstream frame for empty input', () => {
    assert.equal(hex(compressLz4Frame(new Uint8Array())), '04224d185440ae00000000055dcc02');
    assert.equal(decompressLz4Frame(fromHex('04224d185440ae00000000055dcc02')).length, 0);
  });

  it('round trips empty, tiny, random, compressible and multi-block data', () => {
    const cases: [string, Uint8Array][] = [
      ['one byte', Uint8Array.of(42)],
      ['twelve bytes', new Uint8Array(12).fill(7)],
      ['thirteen zeros', new Uint8Array(13)],
      ['random 1000', pseudoRandom(1000, 1)],
      ['zeros 64 KiB + 1', new Uint8Array(65537)],
      ['compressible 300 KiB', compressible(300 * 1024)],
      ['random 200 KiB', pseudoRandom(200 * 1024, 2)],
      ['compressible 5 MiB', compressible(5 * 1024 * 1024)],
    ];
    for (const [name, data] of cases) {
      const compressed = compressLz4Frame(data);
      assert.equal(hex(compressed.subarray(0, 7)), '04224d185440ae', name);
      assert.deepEqual(decompressLz4Frame(compressed), data, name);
      for (const options of [{ linkedBlocks: false }, { blockChecksum: false, contentChecksum: false, contentSize: true }]) {
        assert.deepEqual(decompressLz4Frame(compressLz4Frame(data, options)), data, `${name} ${JSON.stringify(options)}`);
      }
    }
  });

  it('compresses repetitive data and stores incompressible blocks raw', () => {
    const logs = compressible(1024 * 1024);
    assert.ok(compressLz4Frame(logs).length < logs.length / 3);
    const noise = pseudoRandom(70_000, 3);
    const frameBytes = compressLz4Frame(noise);
    // first block: 65536 bytes stored raw, size word has the high bit set
    assert.equal(hex(frameBytes.subarray(7, 11)), '00000180');
    assert.ok(frameBytes.length <= noise.length + 7 + 2 * 8 + 8);
  });

  it('compresses at tens of MB/s', () => {
    const data = compressible(8 * 1024 * 1024);
    compressLz4Frame(data.subarray(0, 1 << 20)); // warm up
    const start = performance.now();
    const compressed = compressLz4Frame(data);
    const seconds = (performance.now() - start) / 1000;
    assert.ok(data.length / seconds > 20e6, `compression speed ${(data.length / seconds / 1e6).toFixed(1)} MB/s`);
    assert.deepEqual(decompressLz4Frame(compressed), data);
  });
});

describe('lz4 frame decoder', () => {
  it('decodes uncompressed blocks with a content size and no checksums', () => {
    const content = 'hello world';
    const bytes = frame(0x48, [[ascii(content), true]], { contentSize: content.length });
    assert.equal(text(decompressLz4Frame(bytes)), content);
  });

  it('decodes linked blocks that reference the previous block, with all checksums', () => {
    // block 2: token 0x07 (no literals, match 4+7), offset 11, then a literals-only sequence "!"
    const expected = 'hello worldhello world!';
    const bytes = frame(0x5c, [[ascii('hello world'), true], [[0x07, 0x0b, 0x00, 0x10, 0x21], false]], {
      contentSize: expected.length,
      content: new TextEncoder().encode(expected),
    });
    assert.equal(text(decompressLz4Frame(bytes)), expected);
  });

  it('rejects a cross-block reference when blocks are independent', () => {
    const bytes = frame(0x60, [[ascii('hello world'), true], [[0x07, 0x0b, 0x00, 0x10, 0x21], false]]);
    assertFormatError(() => decompressLz4Frame(bytes), /invalid match offset 11/);
  });

  it('decodes overlapping matches (run-length style)', () => {
    // literal "ab", match offset 2 length 4+15+10 = 29, then literals "xyz12"
    const block = [0x2f, 0x61, 0x62, 0x02, 0x00, 10, 0x50, ...ascii('xyz12')];
    const out = text(decompressLz4Frame(frame(0x60, [[block, false]])));
    assert.equal(out, 'ab'.repeat(15) + 'a' + 'xyz12');
  });

  it('decodes concatenated frames and skips skippable frames', () => {
    const skippable = Uint8Array.from([0x5a, 0x2a, 0x4d, 0x18, ...le32(3), 1, 2, 3]);
    const a = compressLz4Frame(new TextEncoder().encode('first '));
    const b = frame(0x40, [[ascii('second'), true]]);
    const joined = Buffer.concat([skippable, a, skippable, b]);
    assert.equal(text(decompressLz4Frame(joined)), 'first second');
  });

  it('rejects corruption with TransitFormatError', () => {
    const good = compressLz4Frame(compressible(100_000));
    const corruptBlock = good.slice();
    corruptBlock[20] ^= 0x01;
    assertFormatError(() => decompressLz4Frame(corruptBlock), /block checksum mismatch/);
    const noBlockChecksum = compressLz4Frame(compressible(100_000), { blockChecksum: false });
    const corruptContent = noBlockChecksum.slice();
    corruptContent[corruptContent.length - 2] ^= 0x01;
    assertFormatError(() => decompressLz4Frame(corruptContent), /content checksum mismatch/);
    const corruptHeader = good.slice();
    corruptHeader[6] ^= 0x01;
    assertFormatError(() => decompressLz4Frame(corruptHeader), /header checksum mismatch/);
    assertFormatError(() => decompressLz4Frame(fromHex('04224d18 9440')), /unsupported frame version 2/);
    assertFormatError(() => decompressLz4Frame(fromHex('04224d18 4140 00 00000000')), /dictionary/);
    assertFormatError(() => decompressLz4Frame(fromHex('02214c18 00000000')), /legacy/);
    assertFormatError(() => decompressLz4Frame(fromHex('00000000')), /bad magic number/);
    assertFormatError(() => decompressLz4Frame(new Uint8Array()), /no LZ4 frame/);
    const wrongSize = frame(0x48, [[ascii('abc'), true]], { contentSize: 4 });
    assertFormatError(() => decompressLz4Frame(wrongSize), /content size field says 4 bytes but the frame holds 3/);
    assertFormatError(() => decompressLz4Frame(frame(0x40, [[[0x1f, 0x61, 0x00, 0x00], false]])), /invalid match offset 0/);
  });

  it('throws only TransitFormatError on every truncation and on random mutations', () => {
    const good = compressLz4Frame(compressible(3000), { contentSize: true });
    for (let length = 0; length < good.length; length++) {
      assertFormatError(() => decompressLz4Frame(good.subarray(0, length)));
    }
    const unchecked = compressLz4Frame(compressible(3000), { blockChecksum: false, contentChecksum: false });
    let seed = 99;
    for (let i = 0; i < 3000; i++) {
      const input = unchecked.slice();
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      input[7 + (seed % (input.length - 7))] = seed >>> 24;
      try {
        decompressLz4Frame(input);
      } catch (error) {
        if (!(error instanceof TransitFormatError)) assert.fail(`mutation threw ${String(error)}`);
      }
    }
  });

  it('refuses output beyond maxOutputSize (decompression bombs)', () => {
    const zeros = new Uint8Array(4 * 1024 * 1024);
    const bomb = compressLz4Frame(zeros);
    assert.ok(bomb.length < 40_000);
    assertFormatError(() => decompressLz4Frame(bomb, { maxOutputSize: 1_000_000 }), /exceeds the limit of 1000000 bytes/);
    const declared = compressLz4Frame(zeros, { contentSize: true });
    assertFormatError(() => decompressLz4Frame(declared, { maxOutputSize: 1000 }), /exceeds the limit/);
    assert.equal(decompressLz4Frame(bomb, { maxOutputSize: zeros.length }).length, zeros.length);
  });
});

const lz4Cli = spawnSync('lz4', ['--version']).status === 0;
const cliSkip = lz4Cli ? false : 'lz4 CLI not installed (Debian package lz4, see notes/ci-needs.txt)';

describe('lz4 CLI interoperability', { skip: cliSkip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'lz4-interop-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const data = Buffer.concat([compressible(700_000), pseudoRandom(100_000, 5), compressible(300_000)]);
  const plain = join(dir, 'plain.bin');
  writeFileSync(plain, data);

  const settings: [string, string[]][] = [
    ['linked, block checksums, content size, 64 KiB', ['-BD', '-BX', '--content-size', '-B4']],
    ['independent, 4 MiB blocks, no content checksum', ['-B7', '--no-frame-crc']],
    ['linked, level 9, 256 KiB blocks', ['-BD', '-9', '-B5']],
    ['empty input', ['-BD', '-BX']],
  ];
  for (const [name, flags] of settings) {
    it(`decodes frames written by lz4 ${flags.join(' ')} (${name})`, () => {
      const input = name === 'empty input' ? Buffer.alloc(0) : data;
      const source = join(dir, `in-${flags.join('')}.bin`);
      const target = `${source}.lz4`;
      writeFileSync(source, input);
      execFileSync('lz4', ['-q', '-f', ...flags, source, target]);
      assert.deepEqual(Buffer.from(decompressLz4Frame(readFileSync(target))), input);
    });
  }

  it('writes frames that lz4 -d decodes, with every option combination', () => {
    for (const options of [{}, { linkedBlocks: false }, { contentSize: true, blockChecksum: false }, { blockMaxSize: 4194304 as const }]) {
      const target = join(dir, 'ours.lz4');
      writeFileSync(target, compressLz4Frame(data, options));
      const decoded = execFileSync('lz4', ['-d', '-c', target], { maxBuffer: 64 * 1024 * 1024 });
      assert.ok(decoded.equals(data), JSON.stringify(options));
    }
    writeFileSync(join(dir, 'empty.lz4'), compressLz4Frame(new Uint8Array()));
    assert.equal(execFileSync('lz4', ['-d', '-c', join(dir, 'empty.lz4')]).length, 0);
  });
});
