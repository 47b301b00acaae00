import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { normalizeTimestamptz, parseArrayLiteral, parsePropertiesLiteral, parseRecordLiteral } from '../src/index.ts';

describe('normalizeTimestamptz', () => {
  for (const [input, expected] of [
    ['2024-01-02 03:04:05.123456+00', '2024-01-02T03:04:05.123456Z'],
    ['2024-01-02 03:04:05+00', '2024-01-02T03:04:05.000000Z'],
    ['2024-01-02 03:04:05.5+02', '2024-01-02T01:04:05.500000Z'],
    ['2024-01-01 01:00:00-05:30', '2024-01-01T06:30:00.000000Z'],
    ['1900-01-01 00:00:00+00:09:21', '1899-12-31T23:50:39.000000Z'],
    ['0050-06-01 00:00:00+00', '0050-06-01T00:00:00.000000Z'],
    ['infinity', 'infinity'],
    ['2000-01-01 00:00:00+00 BC', '2000-01-01 00:00:00+00 BC'],
  ] as const) {
    test(`${input} -> ${expected}`, () => assert.equal(normalizeTimestamptz(input), expected));
  }
});

describe('literal parsers', () => {
  test('array literals: quoting, NULL, empty, nesting', () => {
    const id = (v: string) => v;
    assert.deepEqual(parseArrayLiteral('{}', id), []);
    assert.deepEqual(parseArrayLiteral('{1,NULL,"NULL","a \\"b\\"","c,d","e\\\\f"}', id), ['1', null, 'NULL', 'a "b"', 'c,d', 'e\\f']);
    assert.deepEqual(parseArrayLiteral('{{1,2},{3,4}}', id), [['1', '2'], ['3', '4']]);
    assert.deepEqual(parseArrayLiteral('[0:1]={7,8}', id), ['7', '8']);
    assert.throws(() => parseArrayLiteral('{"unterminated', id), /malformed array literal/);
  });

  test('record and property literals', () => {
    assert.deepEqual(parseRecordLiteral('(a,)'), ['a', null]);
    assert.deepEqual(parseRecordLiteral('("",b)'), ['', 'b']);
    assert.deepEqual(parseRecordLiteral('("say ""hi""","x\\\\y")'), ['say "hi"', 'x\\y']);
    assert.deepEqual(parsePropertiesLiteral('{"(a,1)","(\\"b c\\",\\"\\"\\"q\\"\\"\\")"}'), [
      { key: 'a', value: '1' },
      { key: 'b c', value: '"q"' },
    ]);
    assert.deepEqual(parsePropertiesLiteral(null), []);
    assert.deepEqual(parsePropertiesLiteral('{}'), []);
  });
});
