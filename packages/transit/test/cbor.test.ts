import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CborSimple, CborTag, type CborValue, decodeCbor, encodeCbor, TransitFormatError } from '../src/index.ts';
import { fromHex, hex } from './fixtures_envelope.ts';

function decodeHex(text: string): CborValue {
  return decodeCbor(fromHex(text));
}

function assertFormatError(fn: () => unknown, pattern?: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof TransitFormatError, `expected TransitFormatError, got ${String(error)}`);
    if (pattern) assert.match(error.message, pattern);
    return true;
  });
}

// RFC 8949 appendix A, values whose canonical encoding is also what our encoder writes.
const CANONICAL: [CborValue, string][] = [
  [0, '00'],
  [1, '01'],
  [10, '0a'],
  [23, '17'],
  [24, '1818'],
  [25, '1819'],
  [100, '1864'],
  [1000, '1903e8'],
  [1000000, '1a000f4240'],
  [1000000000000, '1b000000e8d4a51000'],
  [18446744073709551615n, '1bffffffffffffffff'],
  [-18446744073709551616n, '3bffffffffffffffff'],
  [-1, '20'],
  [-10, '29'],
  [-100, '3863'],
  [-1000, '3903e7'],
  [-0, 'f98000'],
  [1.1, 'fb3ff199999999999a'],
  [1.5, 'f93e00'],
  [65504.5, 'fa477fe080'],
  [100000.5, 'fa47c35040'],
  [100000.3, 'fb40f86a04cccccccd'],
  [3.4028234663852886e38, 'fa7f7fffff'],
  [1.0e300, 'fb7e37e43c8800759c'],
  [5.960464477539063e-8, 'f90001'],
  [0.00006103515625, 'f90400'],
  [-4.1, 'fbc010666666666666'],
  [Infinity, 'f97c00'],
  [NaN, 'f97e00'],
  [-Infinity, 'f9fc00'],
  [false, 'f4'],
  [true, 'f5'],
  [null, 'f6'],
  [undefined, 'f7'],
  [new CborSimple(16), 'f0'],
  [new CborSimple(255), 'f8ff'],
  [new CborTag(0, '2013-03-21T20:04:00Z'), 'c074323031332d30332d32315432303a30343a30305a'],
  [new CborTag(1, 1363896240), 'c11a514b67b0'],
  [new CborTag(23, fromHex('01020304')), 'd74401020304'],
  [new CborTag(32, 'http://www.example.com'), 'd82076687474703a2f2f7777772e6578616d706c652e636f6d'],
  [new Uint8Array(), '40'],
  [fromHex('01020304'), '4401020304'],
  ['', '60'],
  ['a', '6161'],
  ['IETF', '6449455446'],
  ['"\\', '62225c'],
  ['\u00fc', '62c3bc'],
  ['\u6c34', '63e6b0b4'],
  ['\ud800\udd51', '64f0908591'],
  [[], '80'],
  [[1, 2, 3], '83010203'],
  [[1, [2, 3], [4, 5]], '8301820203820405'],
  [Array.from({ length: 25 }, (_, i) => i + 1), '98190102030405060708090a0b0c0d0e0f101112131415161718181819'],
  [new Map(), 'a0'],
  [new Map([[1, 2], [3, 4]]), 'a201020304'],
  [new Map<CborValue, CborValue>([['a', 1], ['b', [2, 3]]]), 'a26161016162820203'],
  [['a', new Map([['b', 'c']])], '826161a161626163'],
  [new Map(['a', 'b', 'c', 'd', 'e'].map((k) => [k, k.toUpperCase()])), 'a56161614161626142616361436164614461656145'],
];

// Non-canonical or indefinite encodings that must decode to the given value.
const DECODE_ONLY: [string, CborValue][] = [
  ['f90000', 0],
  ['f93c00', 1],
  ['f97bff', 65504],
  ['fa47c35000', 100000],
  ['f9c400', -4],
  ['fa7f800000', Infinity],
  ['fb7ff0000000000000', Infinity],
  ['fbfff0000000000000', -Infinity],
  ['1b0000000000000001', 1], // over-long heads are accepted
  ['5f42010243030405ff', fromHex('0102030405')],
  ['5fff', new Uint8Array()],
  ['7f657374726561646d696e67ff', 'streaming'],
  ['9fff', []],
  ['9f018202039f0405ffff', [1, [2, 3], [4, 5]]],
  ['9f01820203820405ff', [1, [2, 3], [4, 5]]],
  ['83018202039f0405ff', [1, [2, 3], [4, 5]]],
  ['83019f0203ff820405', [1, [2, 3], [4, 5]]],
  ['9f0102030405060708090a0b0c0d0e0f101112131415161718181819ff', Array.from({ length: 25 }, (_, i) => i + 1)],
  ['bf61610161629f0203ffff', new Map<CborValue, CborValue>([['a', 1], ['b', [2, 3]]])],
  ['826161bf61626163ff', ['a', new Map([['b', 'c']])]],
  ['bf6346756ef563416d7421ff', new Map<CborValue, CborValue>([['Fun', true], ['Amt', -2]])],
];

describe('cbor', () => {
  it('encodes and decodes the RFC 8949 appendix A examples', () => {
    for (const [value, expected] of CANONICAL) {
      assert.equal(hex(encodeCbor(value)), expected, `encode ${String(value)}`);
      assert.deepEqual(decodeHex(expected), value, `decode ${expected}`);
    }
  });

  it('decodes non-canonical and indefinite-length forms', () => {
    for (const [encoded, expected] of DECODE_ONLY) {
      assert.deepEqual(decodeHex(encoded), expected, `decode ${encoded}`);
    }
  });

  it('keeps integers beyond 2^53 exact as bigint and safe integers as number', () => {
    assert.equal(decodeHex('1b001fffffffffffff'), Number.MAX_SAFE_INTEGER);
    assert.equal(decodeHex('1b0020000000000000'), 2n ** 53n);
    assert.equal(decodeHex('1b0020000000000001'), 2n ** 53n + 1n);
    assert.equal(decodeHex('3b001ffffffffffffe'), -Number.MAX_SAFE_INTEGER);
    assert.equal(decodeHex('3b001fffffffffffff'), -(2n ** 53n));
    assert.equal(decodeHex('3b7fffffffffffffff'), -(2n ** 63n));
    for (const big of [2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n), 12_345_678_901_234_567n, -(2n ** 64n)]) {
      assert.equal(decodeCbor(encodeCbor(big)), big);
    }
    assert.equal(hex(encodeCbor(5n)), '05', 'small bigints use the shortest head');
    assert.equal(hex(encodeCbor(-(2n ** 32n) - 1n)), '3b0000000100000000');
    assertFormatError(() => encodeCbor(2n ** 64n), /64 bits/);
  });

  it('encodes plain objects as text-keyed maps in insertion order', () => {
    assert.equal(hex(encodeCbor({ b: 1, a: [true, null] })), 'a2616201616182f5f6');
    const decoded = decodeHex('a2616201616182f5f6') as Map<CborValue, CborValue>;
    assert.deepEqual([...decoded.keys()], ['b', 'a']);
    assert.deepEqual(decoded.get('a'), [true, null]);
  });

  it('round trips a nested document and large byte strings', () => {
    const big = new Uint8Array(10 * 1024 * 1024).map((_, i) => i * 31);
    const value = new Map<CborValue, CborValue>([
      ['payload', big],
      ['list', [1, -1, 2n ** 60n, 'x', new Map([['k', new CborTag(2, fromHex('ff'))]])]],
    ]);
    const encoded = encodeCbor(value);
    assert.equal(hex(encoded.subarray(0, 14)), 'a2677061796c6f61645a00a00000');
    assert.deepEqual(decodeCbor(encoded), value);
  });

  it('rejects trailing bytes after the top-level item', () => {
    assertFormatError(() => decodeHex('0000'), /1 trailing byte\(s\) after the top-level item at offset 1/);
  });

  it('rejects malformed heads and misplaced breaks', () => {
    assertFormatError(() => decodeHex(''), /truncated input at offset 0/);
    assertFormatError(() => decodeHex('1c'), /reserved additional information 28/);
    assertFormatError(() => decodeHex('1f'), /indefinite length on an integer/);
    assertFormatError(() => decodeHex('3f'), /indefinite length on an integer/);
    assertFormatError(() => decodeHex('df00'), /indefinite length on a tag/);
    assertFormatError(() => decodeHex('ff'), /unexpected break/);
    assertFormatError(() => decodeHex('8100ff'), /trailing/);
    assertFormatError(() => decodeHex('f810'), /simple value 16 encoded in two bytes/);
    assertFormatError(() => decodeHex('5f6161ff'), /invalid chunk/);
    assertFormatError(() => decodeHex('5f5f4101ffff'), /invalid chunk/);
    assertFormatError(() => decodeHex('bf6161ff'), /map key without a value/);
    assertFormatError(() => decodeHex('62c328'), /invalid UTF-8/);
  });

  it('refuses absurd declared lengths without allocating', () => {
    assertFormatError(() => decodeHex('5bffffffffffffffff'), /truncated input at offset 0/);
    assertFormatError(() => decodeHex('9bffffffffffffffff'), /truncated/);
    assertFormatError(() => decodeHex('bb7fffffffffffffff'), /truncated/);
    assertFormatError(() => decodeHex('5a7fffffff00'), /truncated/);
    assertFormatError(() => decodeHex('9a7fffffff00'), /truncated/);
  });

  it('limits nesting depth (depth bombs throw instead of overflowing the stack)', () => {
    for (const opener of [0x81, 0x9f, 0xa1, 0xc1]) {
      const bomb = new Uint8Array(200_000).fill(opener);
      assertFormatError(() => decodeCbor(bomb), /nesting deeper than 64/);
    }
    const nested64 = Uint8Array.from([...new Array(64).fill(0x81), 0x00]);
    assert.ok(Array.isArray(decodeCbor(nested64)));
    assertFormatError(() => decodeCbor(Uint8Array.from([...new Array(65).fill(0x81), 0x00])), /nesting/);
    assertFormatError(() => decodeCbor(nested64, { maxDepth: 10 }), /nesting deeper than 10/);
  });

  it('throws TransitFormatError for every truncation of a valid document', () => {
    const documents = [
      encodeCbor({ a: [1, 2n ** 60n, -500, 'text', new Uint8Array([1, 2, 3])], b: new Map([[1.5, null]]), c: new CborTag(7, 1e300) }),
      fromHex('bf 6161 01 6162 9f0203ff 6173 7f657374726561646d696e67ff 6163 5f42010243030405ff ff'),
    ];
    for (const doc of documents) {
      decodeCbor(doc);
      for (let length = 0; length < doc.length; length++) {
        assertFormatError(() => decodeCbor(doc.subarray(0, length)));
      }
    }
  });

  it('survives random and mutated input with only TransitFormatError', () => {
    let seed = 0x12345678;
    const random = (): number => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed;
    };
    const template = encodeCbor({ k: [1, 'two', new Uint8Array([3]), { four: 4.5, five: -5n }], z: null });
    let decodedCount = 0;
    for (let iteration = 0; iteration < 20_000; iteration++) {
      let input: Uint8Array;
      if (iteration % 2 === 0) {
        input = Uint8Array.from({ length: random() % 48 }, () => random() & 0xff);
      } else {
        input = template.slice();
        for (let flips = 1 + (random() % 3); flips > 0; flips--) input[random() % input.length] = random() & 0xff;
      }
      try {
        decodeCbor(input);
        decodedCount++;
      } catch (error) {
        if (!(error instanceof TransitFormatError)) {
          assert.fail(`input ${hex(input)} threw ${String(error)}`);
        }
      }
    }
    assert.ok(decodedCount > 0, 'some mutated documents still decode');
  });

  it('rejects values it cannot encode', () => {
    assertFormatError(() => encodeCbor(new Date() as unknown as CborValue), /class instance/);
    assertFormatError(() => encodeCbor((() => 1) as unknown as CborValue), /function/);
    assertFormatError(() => encodeCbor(new CborSimple(24)), /invalid simple value/);
  });
});
