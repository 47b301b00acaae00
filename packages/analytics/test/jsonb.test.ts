import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JsonbError, decodeJsonb, encodeJsonb, encodeJsonbStringMap, formatJsonFloat, jsonbToJson } from '../src/jsonb.ts';

/** Bytes from the Rust escaped-literal notation the crate's tests use (b"\x20\0\0\0..."). */
function rustBytes(literal: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < literal.length; ) {
    if (literal.startsWith('\\x', i)) {
      out.push(parseInt(literal.slice(i + 2, i + 4), 16));
      i += 4;
    } else if (literal.startsWith('\\0', i)) {
      out.push(0);
      i += 2;
    } else {
      out.push(literal.charCodeAt(i));
      i += 1;
    }
  }
  return Uint8Array.from(out);
}

// Expected bytes are those asserted by the jsonb crate's own tests at tag v0.5.6 (tests/it/encode.rs:
// test_encode_null, _boolean, _string, _int64, _uint64, _float64, _array, _object); the integer cases
// go through our number choice (non-negative → UInt64, negative → Int64, like the crate's JSON parser).
const known: [unknown, string][] = [
  [null, '\\x20\\0\\0\\0\\0\\0\\0\\0'],
  [true, '\\x20\\0\\0\\0\\x40\\0\\0\\0'],
  [false, '\\x20\\0\\0\\0\\x30\\0\\0\\0'],
  ['asd', '\\x20\\0\\0\\0\\x10\\0\\0\\x03\\x61\\x73\\x64'],
  ['测试', '\\x20\\0\\0\\0\\x10\\0\\0\\x06\\xE6\\xB5\\x8B\\xE8\\xAF\\x95'],
  [0, '\\x20\\0\\0\\0\\x20\\0\\0\\x01\\x00'],
  [-100, '\\x20\\0\\0\\0\\x20\\0\\0\\x02\\x40\\x9C'],
  [-128, '\\x20\\0\\0\\0\\x20\\0\\0\\x02\\x40\\x80'],
  [-32768, '\\x20\\0\\0\\0\\x20\\0\\0\\x03\\x40\\x80\\0'],
  [-(2 ** 31), '\\x20\\0\\0\\0\\x20\\0\\0\\x05\\x40\\x80\\0\\0\\0'],
  [-(2n ** 63n), '\\x20\\0\\0\\0\\x20\\0\\0\\x09\\x40\\x80\\0\\0\\0\\0\\0\\0\\0'],
  [100, '\\x20\\0\\0\\0\\x20\\0\\0\\x02\\x50\\x64'],
  [255, '\\x20\\0\\0\\0\\x20\\0\\0\\x02\\x50\\xFF'],
  [65535, '\\x20\\0\\0\\0\\x20\\0\\0\\x03\\x50\\xFF\\xFF'],
  [2 ** 32 - 1, '\\x20\\0\\0\\0\\x20\\0\\0\\x05\\x50\\xFF\\xFF\\xFF\\xFF'],
  [2n ** 64n - 1n, '\\x20\\0\\0\\0\\x20\\0\\0\\x09\\x50\\xFF\\xFF\\xFF\\xFF\\xFF\\xFF\\xFF\\xFF'],
  [Infinity, '\\x20\\0\\0\\0\\x20\\0\\0\\x01\\x20'],
  [-Infinity, '\\x20\\0\\0\\0\\x20\\0\\0\\x01\\x30'],
  [0.0123, '\\x20\\0\\0\\0\\x20\\0\\0\\x09\\x60\\x3F\\x89\\x30\\xBE\\x0D\\xED\\x28\\x8D'],
  [1.2e308, '\\x20\\0\\0\\0\\x20\\0\\0\\x09\\x60\\x7F\\xE5\\x5C\\x57\\x6D\\x81\\x57\\x26'],
  [[false, true], '\\x80\\0\\0\\x02\\x30\\0\\0\\0\\x40\\0\\0\\0'],
  [{ asd: 'adf' }, '\\x40\\0\\0\\x01\\x10\\0\\0\\x03\\x10\\0\\0\\x03\\x61\\x73\\x64\\x61\\x64\\x66'],
];

test('encodes exactly the bytes the jsonb crate writes', () => {
  for (const [value, literal] of known) {
    assert.deepEqual(encodeJsonb(value), rustBytes(literal), String(value));
  }
  assert.deepEqual(encodeJsonbStringMap(new Map([['asd', 'adf']])), rustBytes('\\x40\\0\\0\\x01\\x10\\0\\0\\x03\\x10\\0\\0\\x03asdadf'));
});

test('decodes the crate bytes back, including decimals and NaN', () => {
  for (const [value, literal] of known) {
    const expected = typeof value === 'bigint' && value >= -(2n ** 53n) && value <= 2n ** 53n ? Number(value) : value;
    assert.deepEqual(decodeJsonb(rustBytes(literal)), expected);
  }
  // test_encode_decimal: Decimal64 {scale 2, value 1234}, Decimal128 {scale 10, value 10000000000485}
  assert.equal(decodeJsonb(rustBytes('\\x20\\0\\0\\0\\x20\\0\\0\\x0A\\x70\\0\\0\\0\\0\\0\\0\\x04\\xD2\\x02')), 12.34);
  const dec128 = '\\x20\\0\\0\\0\\x20\\0\\0\\x12\\x70\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\x09\\x18\\x4E\\x72\\xA1\\xE5\\x0A';
  assert.equal(decodeJsonb(rustBytes(dec128)), 1000.0000000485);
  assert.equal(jsonbToJson(rustBytes(dec128)), '1000.0000000485');
  assert.ok(Number.isNaN(decodeJsonb(rustBytes('\\x20\\0\\0\\0\\x20\\0\\0\\x01\\x10'))));
});

test('property maps: object of strings, keys in UTF-8 byte order like a BTreeMap', () => {
  // U+FF5E sorts before U+1F600 in UTF-16 but after it in UTF-8 (EF BD.. < F0 9F..)
  const props = new Map([['zeta', '1'], ['Alpha', 'A'], ['😀', 'smile'], ['～', 'tilde'], ['alpha', 'a'], ['', 'empty']]);
  const bytes = encodeJsonbStringMap(props);
  assert.equal(jsonbToJson(bytes), '{"":"empty","Alpha":"A","alpha":"a","zeta":"1","～":"tilde","😀":"smile"}');
  assert.deepEqual(decodeJsonb(bytes), Object.fromEntries(props));
  // header: object of 6; first key JEntry (string, length 0), first value JEntry (string, "empty")
  assert.deepEqual([...bytes.subarray(0, 8)], [0x40, 0, 0, 6, 0x10, 0, 0, 0]);
  assert.deepEqual([...bytes.subarray(28, 32)], [0x10, 0, 0, 5]);
  assert.deepEqual(encodeJsonbStringMap([]), rustBytes('\\x40\\0\\0\\0'));
  assert.equal(jsonbToJson(encodeJsonbStringMap(new Map())), '{}');
  // iterables: last value of a repeated key wins, as inserting into a BTreeMap does
  assert.equal(jsonbToJson(encodeJsonbStringMap([['k', 'old'], ['k', 'new']])), '{"k":"new"}');
  assert.throws(() => encodeJsonbStringMap([['k', 1 as unknown as string]]), JsonbError);
});

test('nested values round-trip, with the container layout of the crate encoder', () => {
  const value = { list: [1, -2, 2.5, 'x', null, [true, {}], []], nested: { b: { c: 'deep' } }, big: 2n ** 60n, neg: -(2n ** 60n), __proto__x: 1 };
  const bytes = encodeJsonb(value);
  assert.deepEqual(decodeJsonb(bytes), value);
  assert.equal(jsonbToJson(bytes), '{"__proto__x":1,"big":1152921504606846976,"list":[1,-2,2.5,"x",null,[true,{}],[]],"neg":-1152921504606846976,"nested":{"b":{"c":"deep"}}}');
  // {"a":[true]}: object header, key entry, value entry = container of 12 bytes, key, nested array
  assert.deepEqual(encodeJsonb({ a: [true] }), rustBytes('\\x40\\0\\0\\x01\\x10\\0\\0\\x01\\x50\\0\\0\\x08a\\x80\\0\\0\\x01\\x40\\0\\0\\0'));
  // a "__proto__" key is kept as data
  const proto = decodeJsonb(encodeJsonbStringMap([['__proto__', 'v']])) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(proto), Object.prototype);
  assert.deepEqual(Object.keys(proto), ['__proto__']);
  assert.equal(jsonbToJson(encodeJsonb(new Map([['m', 1]]))), '{"m":1}');
});

test('JSON text follows serde_json: exact integers, float layout, escapes', () => {
  const cases: [unknown, string][] = [
    [1.5, '1.5'],
    [-0, '-0.0'],
    [0.1, '0.1'],
    [1e15 + 0.5, '1000000000000000.5'],
    [1e16, '1e+16'],
    [123456789.125, '123456789.125'],
    [1e-5, '0.00001'],
    [1e-6, '1e-6'],
    [1.5e-7, '1.5e-7'],
    [5e-324, '5e-324'],
    [1.7976931348623157e308, '1.7976931348623157e+308'],
    [NaN, 'null'],
    [Infinity, 'null'],
    [2n ** 64n - 1n, '18446744073709551615'],
    [-(2n ** 63n), '-9223372036854775808'],
    ['tab\tquote"back\\slash\u0001 é 💎 \u2028', '"tab\\tquote\\"back\\\\slash\\u0001 é 💎 \u2028"'],
  ];
  for (const [value, text] of cases) assert.equal(jsonbToJson(encodeJsonb(value)), text, String(value));
  assert.equal(formatJsonFloat(100), '100.0');
  assert.equal(formatJsonFloat(1e15), '1000000000000000.0');
  assert.equal(formatJsonFloat(-1234.5e-10), '-1.2345e-7');
  // unsafe integers come back as bigint, safe ones as number
  assert.equal(decodeJsonb(encodeJsonb(2n ** 53n)), 2n ** 53n);
  assert.equal(decodeJsonb(encodeJsonb(2 ** 53 - 1)), 2 ** 53 - 1);
});

test('values JSONB cannot hold are refused with JsonbError', () => {
  for (const bad of [undefined, () => 1, Symbol('s'), 2n ** 64n, -(2n ** 63n) - 1n, { a: undefined }]) {
    assert.throws(() => encodeJsonb(bad), JsonbError);
  }
  const cyclic: unknown[] = [];
  cyclic.push(cyclic);
  assert.throws(() => encodeJsonb(cyclic), /nests deeper/);
});

test('malformed bytes raise JsonbError, never another error', () => {
  const good = encodeJsonb({ k: ['v', 1, 2.5, { n: null }], s: 'text' });
  const bad: [Uint8Array, RegExp][] = [
    [new Uint8Array(0), /truncated header/],
    [Uint8Array.of(0x40, 0, 0), /truncated header/],
    [Uint8Array.of(0x00, 0, 0, 0), /unknown container header/],
    [Uint8Array.of(0x40, 0, 0, 5), /declares 5 entries/],
    [Uint8Array.of(0x5f, 0xff, 0xff, 0xff), /declares 536870911 entries/],
    [rustBytes('\\x20\\0\\0\\0\\x10\\0\\0\\x05ab'), /runs past its end/],
    [rustBytes('\\x20\\0\\0\\0\\x10\\0\\0\\x01\\xff'), /not valid UTF-8/],
    [rustBytes('\\x20\\0\\0\\0\\x20\\0\\0\\x04\\x40\\x01\\x02\\x03'), /integer of 3 bytes/],
    [rustBytes('\\x20\\0\\0\\0\\x20\\0\\0\\x02\\x60\\x01'), /number tag 0x60 with 1 payload bytes/],
    [rustBytes('\\x20\\0\\0\\0\\x20\\0\\0\\0'), /empty number/],
    [rustBytes('\\x20\\0\\0\\0\\x20\\0\\0\\x01\\x99'), /unknown number tag 0x99/],
    [rustBytes('\\x20\\0\\0\\0\\x60\\0\\0\\x04\\0\\x01\\x02\\x03'), /extension values/],
    [rustBytes('\\x20\\0\\0\\0\\x70\\0\\0\\0'), /unknown entry type 0x7/],
    [rustBytes('\\x20\\0\\0\\0\\x90\\0\\0\\0'), /offset mode/],
    [rustBytes('\\x20\\0\\0\\0\\x40\\0\\0\\x01\\x00'), /null\/boolean entry with a 1-byte payload/],
    [rustBytes('\\x40\\0\\0\\x01\\x20\\0\\0\\x01\\x10\\0\\0\\0\\x00'), /key 0 .* is not a string/],
    [Uint8Array.from([...rustBytes('\\x20\\0\\0\\0\\0\\0\\0\\0'), 0]), /1 unexpected trailing bytes/],
  ];
  for (const [bytes, pattern] of bad) {
    assert.throws(() => decodeJsonb(bytes), (e: unknown) => e instanceof JsonbError && pattern.test(e.message), String([...bytes]));
    assert.throws(() => jsonbToJson(bytes), JsonbError);
  }
  // deep nesting is refused before it can exhaust the stack
  let deep = encodeJsonb([]);
  for (let i = 0; i < 300; i++) {
    const wrapped = new Uint8Array(8 + deep.length);
    const view = new DataView(wrapped.buffer);
    view.setUint32(0, 0x80000001); // array of one element
    view.setUint32(4, 0x50000000 | deep.length); // a container entry
    wrapped.set(deep, 8);
    deep = wrapped;
  }
  assert.throws(() => decodeJsonb(deep), (e: unknown) => e instanceof JsonbError && /nest deeper than 256/.test(e.message));
  // every truncation and many byte flips of a valid value: only JsonbError, or a value
  for (let n = 0; n < good.length; n++) assert.throws(() => decodeJsonb(good.subarray(0, n)), JsonbError);
  for (let i = 0; i < good.length; i++) {
    for (const flip of [1, 0x10, 0x80, 0xff]) {
      const b = good.slice();
      b[i]! ^= flip;
      try {
        jsonbToJson(b);
      } catch (e) {
        assert.ok(e instanceof JsonbError, `${i}/${flip}: ${String(e)}`);
      }
    }
  }
});
