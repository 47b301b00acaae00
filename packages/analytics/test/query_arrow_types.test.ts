// DuckDB result types → Arrow (arrow_chunks.ts): queries on an in-memory DuckDB produce each type,
// nulls included; the converted batches are checked for their Arrow types and values, survive an IPC
// stream round trip (what the FlightSQL server sends) unchanged, and are read back by pyarrow as an
// independent Arrow implementation.
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { Table, Type, tableFromIPC, tableToIPC, type DataType, type RecordBatch, type Vector } from 'apache-arrow';
import { ChunkConverter } from '../src/query/arrow_chunks.ts';
import { HISTOGRAM_MACROS, HISTOGRAM_TYPE } from '../src/query/functions_histogram.ts';

let conn: DuckDBConnection;
let dir: string;

before(async () => {
  conn = await (await DuckDBInstance.create(':memory:')).connect();
  for (const macro of HISTOGRAM_MACROS) await conn.run(macro);
  dir = await mkdtemp(join(tmpdir(), 'arrow-types-'));
  python = spawn('python3', ['-c', PY]);
  python.stderr.pipe(process.stderr);
  answers = createInterface({ input: python.stdout })[Symbol.asyncIterator]();
});
after(async () => {
  conn.closeSync();
  python.stdin.end();
  await rm(dir, { recursive: true, force: true });
});

/** A cell as plain JS: decimals as their unscaled integer text, intervals as [months, days, ns],
 * binaries as hex, lists as arrays, structs as objects, maps as [key, value] pairs. */
function plain(v: unknown, type: DataType): unknown {
  if (v === null || v === undefined) return null;
  switch (type.typeId) {
    case Type.Decimal: return String(v);
    case Type.Interval: {
      const w = v as Int32Array;
      return [w[0], w[1], BigInt.asIntN(64, (BigInt(w[3]! >>> 0) << 32n) | BigInt(w[2]! >>> 0))];
    }
    case Type.Binary: return Buffer.from(v as Uint8Array).toString('hex');
    case Type.List:
    case Type.FixedSizeList: return [...(v as Iterable<unknown>)].map((x) => plain(x, type.children[0]!.type));
    case Type.Struct: return Object.fromEntries(type.children.map((f) => [f.name, plain((v as Record<string, unknown>)[f.name], f.type)]));
    case Type.Map: {
      const [key, value] = type.children[0]!.type.children as { type: DataType }[];
      return [...(v as Iterable<[unknown, unknown]>)].map(([k, x]) => [plain(k, key!.type), plain(x, value!.type)]);
    }
    default: return v;
  }
}

/** A column's cells; timestamps as their raw ns (the getter gives lossy float ms). */
function cells(vector: Vector, type: DataType): unknown[] {
  if (type.typeId !== Type.Timestamp) return [...vector].map((v) => plain(v, type));
  return vector.data.flatMap((d) => [...(d.values as BigInt64Array).subarray(d.offset, d.offset + d.length)].map((v, i) => (d.getValid(i) ? v : null)));
}

function rows(table: Table): Record<string, unknown>[] {
  const columns = table.schema.fields.map((f) => cells(table.getChild(f.name)!, f.type));
  return Array.from({ length: table.numRows }, (_, i) => Object.fromEntries(table.schema.fields.map((f, c) => [f.name, columns[c]![i]])));
}

interface Converted {
  table: Table;
  rows: Record<string, unknown>[];
  types: Record<string, string>;
  ipc: Uint8Array;
}

/** Runs `sql`, converts its chunks (flushing every `batchRows`), checks the IPC round trip. */
async function convert(sql: string, batchRows = Infinity): Promise<Converted> {
  const result = await conn.stream(sql);
  const converter = new ChunkConverter(result.columnNames(), result.columnTypes());
  const batches: RecordBatch[] = [];
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    converter.append(chunk);
    if (converter.pendingRows >= batchRows) batches.push(converter.flush());
  }
  if (converter.pendingRows > 0 || batches.length === 0) batches.push(converter.flush());
  const table = new Table(batches);
  const ipc = tableToIPC(table, 'stream');
  const back = tableFromIPC(ipc);
  const types = Object.fromEntries(table.schema.fields.map((f) => [f.name, String(f.type)]));
  assert.deepEqual(Object.fromEntries(back.schema.fields.map((f) => [f.name, String(f.type)])), types);
  assert.deepEqual(rows(back), rows(table));
  return { table, rows: rows(back), types, ipc };
}

// One pyarrow process for the whole file (its import takes seconds): it reads "path columns" lines
// and answers each with one JSON line.
const PY = `
import sys, json, pyarrow as pa
for line in sys.stdin:
    path, cols = line.split()
    t = pa.ipc.open_stream(open(path, 'rb')).read_all()
    print(json.dumps({'types': {f.name: str(f.type) for f in t.schema},
                      'values': {c: t.column(c).to_pylist() for c in cols.split(',')}}, default=str), flush=True)
`;
let python: ChildProcessWithoutNullStreams;
let answers: AsyncIterator<string>;
let nextFile = 0;

/** pyarrow's view of an IPC stream: every column's type, the values of `columns`. */
async function pyarrow(ipc: Uint8Array, columns: string[]): Promise<{ types: Record<string, string>; values: Record<string, unknown[]> }> {
  const file = join(dir, `t${nextFile++}.arrows`);
  await writeFile(file, ipc);
  python.stdin.write(`${file} ${columns.join(',')}\n`);
  const { value, done } = await answers.next();
  assert.ok(!done, 'pyarrow exited');
  return JSON.parse(value);
}

describe('DuckDB → Arrow types', () => {
  // [column, SQL expression, Arrow type, value (plain), pyarrow type]
  const SCALARS: [string, string, string, unknown, string][] = [
    ['b', 'true', 'Bool', true, 'bool'],
    ['i8', '-8::TINYINT', 'Int8', -8, 'int8'],
    ['i16', '-16::SMALLINT', 'Int16', -16, 'int16'],
    ['i32', '-32::INTEGER', 'Int32', -32, 'int32'],
    ['i64', '-64::BIGINT', 'Int64', -64n, 'int64'],
    ['u8', '200::UTINYINT', 'Uint8', 200, 'uint8'],
    ['u16', '60000::USMALLINT', 'Uint16', 60000, 'uint16'],
    ['u32', '4000000000::UINTEGER', 'Uint32', 4000000000, 'uint32'],
    ['u64', '18446744073709551615::UBIGINT', 'Uint64', 18446744073709551615n, 'uint64'],
    ['i128', '(-170141183460469231731687303715884105727)::HUGEINT + 170141183460469231731687303715884105000', 'Int64', -727n, 'int64'],
    ['u128', '12345::UHUGEINT', 'Uint64', 12345n, 'uint64'],
    ['f32', '1.5::FLOAT', 'Float32', 1.5, 'float'],
    ['f64', '2.25::DOUBLE', 'Float64', 2.25, 'double'],
    ['d4', '-12.5::DECIMAL(4,1)', 'Decimal[4e+1]', '-125', 'decimal128(4, 1)'],
    ['d9', '1234567.89::DECIMAL(9,2)', 'Decimal[9e+2]', '123456789', 'decimal128(9, 2)'],
    ['d18', '-123456789012345.678::DECIMAL(18,3)', 'Decimal[18e+3]', '-123456789012345678', 'decimal128(18, 3)'],
    ['d38', "'-12345678901234567890.0123456789'::DECIMAL(38,10)", 'Decimal[38e+10]', '-123456789012345678900123456789', 'decimal128(38, 10)'],
    ['dt', "DATE '2024-02-03'", 'Date32<DAY>', Date.UTC(2024, 1, 3), 'date32[day]'],
    ['tm', "TIME '01:02:03.5'", 'Time64<MICROSECOND>', 3723500000n, 'time64[us]'],
    ['ts', "TIMESTAMP '2024-02-03 04:05:06.789012'", 'Timestamp<NANOSECOND, +00:00>', 1706933106789012000n, 'timestamp[ns, tz=+00:00]'],
    ['tsns', "'2024-02-03 04:05:06.789012345'::TIMESTAMP_NS", 'Timestamp<NANOSECOND, +00:00>', 1706933106789012345n, 'timestamp[ns, tz=+00:00]'],
    ['tss', "'2024-02-03 04:05:06'::TIMESTAMP_S", 'Timestamp<NANOSECOND, +00:00>', 1706933106000000000n, 'timestamp[ns, tz=+00:00]'],
    ['tsms', "'2024-02-03 04:05:06.789'::TIMESTAMP_MS", 'Timestamp<NANOSECOND, +00:00>', 1706933106789000000n, 'timestamp[ns, tz=+00:00]'],
    ['tmns', "'01:02:03.000000005'::TIME_NS", 'Time64<NANOSECOND>', 3723000000005n, 'time64[ns]'],
    ['iv', "INTERVAL '1 month 2 days 3.000004 seconds'", 'Interval<MONTH_DAY_NANO>', [1, 2, 3000004000n], 'month_day_nano_interval'],
    ['ivn', "-(INTERVAL '14 months 3 days 1 hour')", 'Interval<MONTH_DAY_NANO>', [-14, -3, -3600000000000n], 'month_day_nano_interval'],
    ['s', "'héllo'", 'Utf8', 'héllo', 'string'],
    ['sl', "'a string longer than twelve bytes'", 'Utf8', 'a string longer than twelve bytes', 'string'],
    ['bl', "'\\xAA\\x00\\xBB'::BLOB", 'Binary', 'aa00bb', 'binary'],
    ['uu', "'123e4567-e89b-12d3-a456-426614174000'::UUID", 'Utf8', '123e4567-e89b-12d3-a456-426614174000', 'string'],
    ['uu0', "'00000000-0000-0000-0000-0000000000ff'::UUID", 'Utf8', '00000000-0000-0000-0000-0000000000ff', 'string'],
    ['en', "'b'::ENUM('a', 'b')", 'Utf8', 'b', 'string'],
  ];

  test('scalar types: Arrow types, values and nulls, also as read by pyarrow', async () => {
    const select = SCALARS.map(([name, expr]) => `CASE WHEN i = 0 THEN ${expr} END AS ${name}`).join(', ');
    const { rows, types, ipc } = await convert(`SELECT ${select} FROM range(2) t(i) ORDER BY i`);
    for (const [name, , type, value] of SCALARS) {
      assert.equal(types[name], type, name);
      assert.deepEqual(rows[0]![name], value, name);
      assert.equal(rows[1]![name], null, name);
    }
    const py = await pyarrow(ipc, ['d4', 'd38', 'iv', 'ivn', 'uu', 'bl', 'dt', 'tm']);
    for (const [name, , , , pyType] of SCALARS) assert.equal(py.types[name], pyType, name);
    assert.deepEqual(py.values, {
      d4: ['-12.5', null], d38: ['-12345678901234567890.0123456789', null],
      iv: [[1, 2, 3000004000], null], ivn: [[-14, -3, -3600000000000], null],
      uu: ['123e4567-e89b-12d3-a456-426614174000', null], bl: ["b'\\xaa\\x00\\xbb'", null],
      dt: ['2024-02-03', null], tm: ['01:02:03.500000', null],
    });
  });

  test('long strings from Parquet pages (plain and dictionary) and from the string heap, with nulls, in lists', async () => {
    // Strings over 12 bytes are read behind their pointers, in runs of neighbours: every value must
    // still come out exactly, whatever the layout DuckDB hands over.
    const file = join(dir, 'strings.parquet');
    const long = (i: string) => `'value number ' || ${i} || ' of a string longer than twelve bytes' || repeat('x', (${i} % 50)::INT)`;
    await conn.run(`COPY (SELECT i, CASE WHEN i % 7 = 3 THEN NULL ELSE ${long('i')} END AS plain,
        'target::module::' || (i % 5) AS dict, CASE WHEN i % 4 = 0 THEN 'short' || (i % 3) ELSE ${long('(i * 31 % 997)')} END AS mixed
      FROM range(10000) t(i)) TO '${file}' (FORMAT parquet, ROW_GROUP_SIZE 3000)`);
    const expected = (await conn.runAndReadAll(`SELECT plain, dict, mixed FROM read_parquet('${file}') ORDER BY i`)).getRowObjects();
    const fromParquet = await convert(`SELECT plain, dict, mixed FROM read_parquet('${file}') ORDER BY i`, 4096);
    assert.equal(fromParquet.rows.length, 10_000);
    assert.deepEqual(fromParquet.rows, expected);
    assert.ok(fromParquet.rows.some((r) => r.plain === null) && fromParquet.rows.some((r) => String(r.mixed).startsWith('short')));
    // Without ORDER BY, straight from the scan.
    const scanned = await convert(`SELECT plain, dict, mixed FROM read_parquet('${file}')`);
    const key = (r: Record<string, unknown>) => JSON.stringify([r.plain, r.dict, r.mixed]);
    assert.deepEqual(scanned.rows.map(key).sort(), expected.map(key).sort());
    const heap = await convert(`SELECT list_transform(range(i % 4), k -> ${long('(i + k)')} || (i % 3)) AS l, upper(${long('i')}) AS u FROM range(3000) t(i) WHERE i % 11 <> 5`);
    const heapExpected = (await conn.runAndReadAll(`SELECT list_transform(range(i % 4), k -> ${long('(i + k)')} || (i % 3)) AS l, upper(${long('i')}) AS u FROM range(3000) t(i) WHERE i % 11 <> 5`)).getRowObjects();
    assert.deepEqual(heap.rows.map((r) => r.u), heapExpected.map((r) => r.u));
    assert.deepEqual(heap.rows.map((r) => r.l), heapExpected.map((r) => (r.l as { items: unknown[] }).items));
  });

  test('HUGEINT sums come out as Int64 and raise on overflow instead of wrapping', async () => {
    const ok = await convert('SELECT sum(x) AS s FROM (VALUES (9223372036854775806::BIGINT), (1), (NULL)) t(x)');
    assert.equal(ok.types.s, 'Int64');
    assert.deepEqual(ok.rows, [{ s: 9223372036854775807n }]);
    await assert.rejects(convert('SELECT sum(x) AS s FROM (VALUES (9223372036854775807::BIGINT), (1)) t(x)'), /HUGEINT value 9223372036854775808 does not fit in Int64/);
    await assert.rejects(convert('SELECT sum(x) AS s FROM (VALUES ((-9223372036854775807)::BIGINT), (-2)) t(x)'), /HUGEINT value -9223372036854775809 does not fit/);
    await assert.rejects(convert("SELECT '18446744073709551616'::UHUGEINT AS u"), /UHUGEINT value 18446744073709551616 does not fit in UInt64/);
  });

  test('timestamps outside the nanosecond range raise instead of wrapping', async () => {
    await assert.rejects(convert("SELECT TIMESTAMP '3000-01-01' AS t"), /outside the nanosecond range/);
  });

  test('make_histogram arrives as upstream’s struct with a List<bin: UInt64>', async () => {
    const { table, rows, ipc } = await convert(`SELECT h FROM (
      SELECT 0 AS k, make_histogram(0.0, 10.0, 5, v) AS h FROM (VALUES (1.0), (2.0), (9.0)) t(v)
      UNION ALL SELECT 1, NULL::${HISTOGRAM_TYPE}) ORDER BY k`);
    const h = table.schema.fields[0]!.type;
    assert.equal(String(h), 'Struct<{start:Float64, end:Float64, min:Float64, max:Float64, sum:Float64, sum_sq:Float64, count:Uint64, bins:List<Uint64>}>');
    assert.equal(h.children[7]!.type.children[0]!.name, 'bin');
    assert.deepEqual(rows, [
      { h: { start: 0, end: 10, min: 1, max: 9, sum: 12, sum_sq: 86, count: 3n, bins: [1n, 1n, 0n, 0n, 1n] } },
      { h: null },
    ]);
    const py = await pyarrow(ipc, ['h']);
    assert.equal(py.types.h, 'struct<start: double, end: double, min: double, max: double, sum: double, sum_sq: double, count: uint64, bins: list<bin: uint64>>');
    assert.deepEqual(py.values.h, [{ start: 0, end: 10, min: 1, max: 9, sum: 12, sum_sq: 86, count: 3, bins: [1, 1, 0, 0, 1] }, null]);
  });

  test('nested lists, structs, maps and arrays with nulls at every level, over several chunks', async () => {
    const n = 2200;
    const { rows, types, ipc } = await convert(`SELECT i,
        CASE WHEN i % 7 = 3 THEN NULL ELSE [CASE WHEN i % 5 = 1 THEN NULL ELSE range(i % 4) END, [i]] END AS ll,
        CASE WHEN i % 6 = 2 THEN NULL ELSE [{'a': i::INTEGER, 'b': 'name number ' || i, 'd': (i / 100)::DECIMAL(10,2)}, NULL] END AS ls,
        {'l': CASE WHEN i % 3 = 0 THEN NULL ELSE [i::DOUBLE, NULL] END, 'u': '00000000-0000-0000-0000-00000000000a'::UUID} AS sl,
        CASE WHEN i % 4 = 0 THEN NULL ELSE MAP {'k' || i: i::INTEGER, 'z': NULL} END AS m,
        (CASE WHEN i % 9 = 0 THEN NULL ELSE [i, i + 1] END)::BIGINT[2] AS arr,
        [[1, 2], [3]] AS cl,
        [[INTERVAL 1 DAY], []] AS li
      FROM range(${n}) t(i) ORDER BY i`, 1000);
    assert.deepEqual(types, {
      i: 'Int64',
      ll: 'List<List<Int64>>',
      ls: 'List<Struct<{a:Int32, b:Utf8, d:Decimal[10e+2]}>>',
      sl: 'Struct<{l:List<Float64>, u:Utf8}>',
      m: 'Map<{key:Utf8, value:Int32}>',
      arr: 'FixedSizeList[2]<Int64>',
      cl: 'List<List<Int32>>',
      li: 'List<List<Interval<MONTH_DAY_NANO>>>',
    });
    assert.equal(rows.length, n);
    rows.forEach((row, k) => {
      const i = BigInt(k);
      assert.deepEqual(row, {
        i,
        ll: k % 7 === 3 ? null : [k % 5 === 1 ? null : [...Array(k % 4).keys()].map(BigInt), [i]],
        ls: k % 6 === 2 ? null : [{ a: k, b: `name number ${k}`, d: String(k) }, null],
        sl: { l: k % 3 === 0 ? null : [k, null], u: '00000000-0000-0000-0000-00000000000a' },
        m: k % 4 === 0 ? null : [[`k${k}`, k], ['z', null]],
        arr: k % 9 === 0 ? null : [i, i + 1n],
        cl: [[1, 2], [3]],
        li: [[[0, 1, 0n]], []],
      }, `row ${k}`);
    });
    const py = await pyarrow(ipc, ['m', 'arr', 'ls']);
    assert.equal(py.types.m, 'map<string, int32>');
    assert.equal(py.types.arr, 'fixed_size_list<item: int64>[2]');
    assert.equal(py.types.ls, 'list<item: struct<a: int32, b: string, d: decimal128(10, 2)>>');
    assert.deepEqual(py.values.m!.slice(0, 2), [null, [['k1', 1], ['z', null]]]);
    assert.deepEqual(py.values.arr!.slice(0, 2), [null, [1, 2]]);
    assert.deepEqual(py.values.ls![n - 1], [{ a: n - 1, b: `name number ${n - 1}`, d: ((n - 1) / 100).toFixed(2) }, null]);
  });

  test('types without an Arrow mapping here are sent as DuckDB’s text', async () => {
    const { rows, types } = await convert("SELECT union_value(n := 5) AS u, '101'::BITSTRING AS bits, NULL::UNION(n INTEGER) AS nu");
    assert.deepEqual(types, { u: 'Utf8', bits: 'Utf8', nu: 'Utf8' });
    assert.deepEqual(rows, [{ u: '5', bits: '101', nu: null }]);
  });
});
