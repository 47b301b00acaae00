// The hand-written Parquet writer, read back by DuckDB (values, types, row-group statistics) and by
// parquet-wasm (arrow-rs), and by pyarrow when it is installed; the parquet-wasm writer is the reference.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Binary, Bool, Dictionary, Field, Float64, Int32, Int64, List, makeData, RecordBatch, Schema, Struct, Table, Timestamp, TimeUnit, Uint32, Utf8,
  vectorFromArray, type Data, type DataType,
} from 'apache-arrow';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { writeParquetFile } from '../src/parquet/index.ts';
import { decodeParquet, encodeParquetWasm } from '../src/parquet.ts';

const dictUtf8 = (): Dictionary => new Dictionary(new Utf8(), new Int32());
const dictBinary = (): Dictionary => new Dictionary(new Binary(), new Int32());
const tsNs = (): Timestamp => new Timestamp(TimeUnit.NANOSECOND);
const enc = new TextEncoder();

function batch(schema: Schema, columns: Data[]): RecordBatch {
  const length = columns[0]?.length ?? 0;
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length, children: columns, nullCount: 0 }));
}
function dictData(type: DataType, indices: Int32Array, values: (string | Uint8Array)[]): Data {
  const dictionary = type instanceof Dictionary && type.dictionary instanceof Binary
    ? vectorFromArray(values as Uint8Array[], new Binary())
    : vectorFromArray(values as string[], new Utf8());
  return makeData({ type, length: indices.length, data: indices, dictionary } as never);
}
const i64 = (type: DataType, v: BigInt64Array): Data => makeData({ type, length: v.length, data: v } as never);
const fixed = (type: DataType, v: Int32Array | Uint32Array | Float64Array): Data => makeData({ type, length: v.length, data: v } as never);
const strings = (v: string[]): Data => vectorFromArray(v, new Utf8()).data[0]!;

/** Deterministic pseudo-random numbers (xorshift). */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

const logSchema = new Schema([
  new Field('process_id', dictUtf8(), false),
  new Field('block_id', dictUtf8(), false),
  new Field('insert_time', tsNs(), false),
  new Field('time', tsNs(), false),
  new Field('target', dictUtf8(), false),
  new Field('level', new Int32(), false),
  new Field('msg', new Utf8(), false),
  new Field('properties', dictBinary(), false),
]);

interface LogRows {
  processId: string[];
  blockId: string[];
  insertTime: bigint[];
  time: bigint[];
  target: string[];
  level: number[];
  msg: string[];
  properties: Uint8Array[];
}

const MSGS = ['', 'hello', 'héllo wörld ✓', '日本語のメッセージ', 'emoji 🎉🚀', 'x'.repeat(300), 'tab\tand\nnewline', "quote ' \" "];

/** A log_entries-shaped batch: runs in the per-block columns, random target indices, mostly-increasing time. */
function logBatch(n: number, seed: number, base = 1_700_000_000_000_000_000n): { batch: RecordBatch; rows: LogRows } {
  const r = rng(seed);
  const blocks = [`block-${seed}-a`, `block-${seed}-b`, `block-${seed}-c`];
  const targets = ['app', 'net::http', 'db', 'ünïcode::target', ''];
  const props = [enc.encode('{}'), Uint8Array.of(0, 1, 2, 255, 128), new Uint8Array(0)];
  const blockIdx = new Int32Array(n);
  const targetIdx = new Int32Array(n);
  const propIdx = new Int32Array(n);
  const insert = new BigInt64Array(n);
  const time = new BigInt64Array(n);
  const level = new Int32Array(n);
  const msg: string[] = [];
  let t = base + BigInt(seed) * 1_000_000n;
  for (let i = 0; i < n; i++) {
    blockIdx[i] = Math.min(2, Math.floor((i * 3) / Math.max(1, n)));
    targetIdx[i] = Math.floor(r() * targets.length);
    propIdx[i] = i % 1000 < 990 ? 0 : Math.floor(r() * 3);
    insert[i] = base + BigInt(blockIdx[i]!) * 1_000_000_000n;
    // Mostly increasing with occasional steps back and one huge jump.
    t += BigInt(Math.floor(r() * 5000)) - (i % 97 === 0 ? 20_000n : 0n) + (i === 5000 ? 86_400_000_000_000n : 0n);
    time[i] = t;
    level[i] = i % 50 === 0 ? -7 : 1 + Math.floor(r() * 6);
    msg.push(i % 7 === 0 ? MSGS[i % MSGS.length]! : `message ${i} ${r().toString(36)}`);
  }
  const pid = `pid-${seed}-ü`;
  const b = batch(logSchema, [
    dictData(dictUtf8(), new Int32Array(n), [pid]),
    dictData(dictUtf8(), blockIdx, blocks),
    i64(tsNs(), insert),
    i64(tsNs(), time),
    dictData(dictUtf8(), targetIdx, targets),
    fixed(new Int32(), level),
    strings(msg),
    dictData(dictBinary(), propIdx, props),
  ]);
  return {
    batch: b,
    rows: {
      processId: Array.from({ length: n }, () => pid),
      blockId: Array.from(blockIdx, (k) => blocks[k]!),
      insertTime: Array.from(insert),
      time: Array.from(time),
      target: Array.from(targetIdx, (k) => targets[k]!),
      level: Array.from(level),
      msg,
      properties: Array.from(propIdx, (k) => props[k]!),
    },
  };
}

function concatRows(parts: LogRows[]): LogRows {
  const out: LogRows = { processId: [], blockId: [], insertTime: [], time: [], target: [], level: [], msg: [], properties: [] };
  for (const p of parts) for (const k of Object.keys(out) as (keyof LogRows)[]) (out[k] as unknown[]).push(...(p[k] as unknown[]));
  return out;
}

let dir: string;
let duck: DuckDBInstance;
let conn: DuckDBConnection;
let fileNo = 0;

function save(bytes: Uint8Array): string {
  const path = join(dir, `f${fileNo++}.parquet`);
  writeFileSync(path, bytes);
  return path;
}
async function query(sql: string): Promise<Record<string, unknown>[]> {
  return (await conn.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
}
async function describeTypes(path: string): Promise<Record<string, string>> {
  const rows = await query(`DESCRIBE SELECT * FROM '${path}'`);
  return Object.fromEntries(rows.map((r) => [r.column_name as string, r.column_type as string]));
}

async function checkLogFile(path: string, rows: LogRows): Promise<void> {
  const got = await query(
    `SELECT process_id, block_id, epoch_ns(insert_time) AS insert_time, epoch_ns(time) AS time, target, level, msg, properties
     FROM read_parquet('${path}', file_row_number = true) ORDER BY file_row_number`,
  );
  assert.equal(got.length, rows.msg.length);
  for (let i = 0; i < got.length; i++) {
    const g = got[i]!;
    const ctx = `row ${i}`;
    assert.equal(g.process_id, rows.processId[i], ctx);
    assert.equal(g.block_id, rows.blockId[i], ctx);
    assert.equal(g.insert_time, rows.insertTime[i], ctx);
    assert.equal(g.time, rows.time[i], ctx);
    assert.equal(g.target, rows.target[i], ctx);
    assert.equal(g.level, rows.level[i], ctx);
    assert.equal(g.msg, rows.msg[i], ctx);
    assert.deepEqual(new Uint8Array(g.properties as Uint8Array), rows.properties[i], ctx);
  }
}

/** Same rows as the parquet-wasm reference file, in both directions, as DuckDB sees them. */
const references = new Map<RecordBatch[] | RecordBatch, string>();
function reference(schema: Schema, batches: RecordBatch[]): string {
  const key = batches[0] ?? batches;
  let path = references.get(key);
  if (!path) references.set(key, (path = save(encodeParquetWasm(schema, batches))));
  return path;
}

/**
 * Row-group statistics equal the reference writer's (arrow-rs) wherever ours has them: numbers,
 * timestamps and dictionary strings. Null counts are zero everywhere.
 */
async function sameStatistics(ours: string, schema: Schema, batches: RecordBatch[]): Promise<void> {
  const stats = (path: string) => query(`SELECT row_group_id, path_in_schema AS col, stats_min_value AS lo, stats_max_value AS hi, stats_null_count AS nulls
    FROM parquet_metadata('${path}') ORDER BY 1, 2`);
  const mine = await stats(ours);
  const theirs = await stats(reference(schema, batches));
  assert.equal(mine.length, theirs.length);
  let compared = 0;
  for (let i = 0; i < mine.length; i++) {
    const m = mine[i]!;
    const t = theirs[i]!;
    assert.equal(m.col, t.col);
    assert.equal(m.nulls, 0n, `${m.col}`);
    if (m.lo === null) continue;
    assert.deepEqual([m.lo, m.hi], [t.lo, t.hi], `${m.col} in row group ${m.row_group_id}`);
    compared++;
  }
  assert.ok(compared > 0);
}

async function sameAsReference(ours: string, schema: Schema, batches: RecordBatch[]): Promise<void> {
  const ref = reference(schema, batches);
  for (const [a, b] of [[ours, ref], [ref, ours]]) {
    const diff = await query(`SELECT count(*)::INTEGER AS n FROM (SELECT * FROM '${a}' EXCEPT ALL SELECT * FROM '${b}')`);
    assert.equal(diff[0]!.n, 0);
  }
  assert.deepEqual(await describeTypes(ours), await describeTypes(ref));
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mm-pqw-'));
  duck = await DuckDBInstance.create(':memory:', { threads: '1' });
  conn = await duck.connect();
});
after(() => {
  conn.closeSync();
  duck.closeSync();
  rmSync(dir, { recursive: true, force: true });
});

describe('writeParquetFile', () => {
  test('log_entries-shaped batches: every value and type as DuckDB reads them', async () => {
    const parts = [logBatch(3000, 1), logBatch(1, 2), logBatch(7000, 3)];
    const batches = parts.map((p) => p.batch);
    const bytes = writeParquetFile(logSchema, batches)!;
    assert.ok(bytes);
    const path = save(bytes);
    assert.deepEqual(await describeTypes(path), {
      process_id: 'VARCHAR', block_id: 'VARCHAR', insert_time: 'TIMESTAMP_NS', time: 'TIMESTAMP_NS', target: 'VARCHAR',
      level: 'INTEGER', msg: 'VARCHAR', properties: 'BLOB',
    });
    await checkLogFile(path, concatRows(parts.map((p) => p.rows)));
    await sameAsReference(path, logSchema, batches);
    await sameStatistics(path, logSchema, batches);
  });

  test('more than 128 Ki rows: row groups of 128 Ki, several pages, statistics per row group', async () => {
    const parts = [logBatch(100_000, 11), logBatch(90_000, 12), logBatch(80_000, 13)];
    const batches = parts.map((p) => p.batch);
    const path = save(writeParquetFile(logSchema, batches, { pageSize: 256 * 1024 })!);
    const groups = await query(`SELECT row_group_id, any_value(row_group_num_rows) AS n FROM parquet_metadata('${path}') GROUP BY ALL ORDER BY 1`);
    assert.deepEqual(groups.map((g) => g.n), [131072n, 131072n, 270000n - 262144n]);
    // Every value: against the reference file (DuckDB EXCEPT ALL both ways) rather than row by row in JS.
    await sameAsReference(path, logSchema, batches);
    await sameStatistics(path, logSchema, batches);
  });

  const mid = [logBatch(20_000, 31), logBatch(15_000, 32)].map((p) => p.batch);
  for (const compression of ['lz4_raw', 'none'] as const) {
    for (const delta of [true, false]) {
      test(`codec and encoding options (${compression}, delta encodings ${delta})`, async () => {
        const bytes = writeParquetFile(logSchema, mid, { compression, deltaTimestamps: delta, deltaLengths: delta, pageSize: 64 * 1024, rowGroupSize: 16384 })!;
        const path = save(bytes);
        const meta = await query(`SELECT list(DISTINCT compression) AS codecs, list(DISTINCT encodings) AS encodings, count(DISTINCT row_group_id)::INTEGER AS groups
          FROM parquet_metadata('${path}')`);
        const codecs = new Set(meta[0]!.codecs as string[]);
        assert.ok(codecs.has(compression === 'none' ? 'UNCOMPRESSED' : 'LZ4_RAW'), [...codecs].join());
        if (compression === 'none') assert.equal(codecs.size, 1);
        assert.equal(meta[0]!.groups, 3);
        const encodings = (meta[0]!.encodings as string[]).join();
        assert.equal(encodings.includes('DELTA_BINARY_PACKED'), delta, encodings);
        assert.equal(encodings.includes('DELTA_LENGTH_BYTE_ARRAY'), delta, encodings);
        await sameAsReference(path, logSchema, mid);
        const wasm = decodeParquet(bytes);
        assert.equal(wasm.numRows, 35_000);
        assert.deepEqual(wasm.getChild('time')!.get(34_999), mid[1]!.getChild('time')!.get(14_999));
        assert.equal(wasm.getChild('msg')!.get(20_007), mid[1]!.getChild('msg')!.get(7));
      });
    }
  }
});

const measureSchema = new Schema([
  new Field('process_id', dictUtf8(), false),
  new Field('time', tsNs(), false),
  new Field('name', dictUtf8(), false),
  new Field('value', new Float64(), false),
  new Field('count', new Uint32(), false),
  new Field('big', new Int64(), false),
  new Field('flag', new Bool(), false),
  new Field('blob', new Binary(), false),
  new Field('note', new Utf8(), true), // nullable field that holds no null
]);

function measureBatch(n: number, seed: number): RecordBatch {
  const r = rng(seed);
  const time = new BigInt64Array(n);
  const value = new Float64Array(n);
  const count = new Uint32Array(n);
  const big = new BigInt64Array(n);
  const nameIdx = new Int32Array(n);
  const flags: boolean[] = [];
  const blobs: Uint8Array[] = [];
  const notes: string[] = [];
  for (let i = 0; i < n; i++) {
    // Timestamps far apart (before 1970, then far future) force the PLAIN fallback of the delta encoder.
    time[i] = i % 3 === 0 ? -5_000_000_000_000_000_000n + BigInt(i) : 9_000_000_000_000_000_000n - BigInt(i);
    value[i] = [0, -0, 1.5, -2.25e300, 5e-324, Math.PI, -1][i % 7]! * (1 + r());
    count[i] = [0, 1, 0xffffffff, 0x80000000, 12345][i % 5]!;
    big[i] = [0n, -1n, 9_223_372_036_854_775_807n, -9_223_372_036_854_775_808n, 42n][i % 5]!;
    nameIdx[i] = Math.floor(r() * 4);
    flags.push(r() < 0.5);
    blobs.push(Uint8Array.from({ length: i % 9 }, (_, k) => (k * 37 + i) & 0xff));
    notes.push(i % 4 === 0 ? '' : `note ✓ ${i}`);
  }
  const blobVector = vectorFromArray(blobs, new Binary());
  return batch(measureSchema, [
    dictData(dictUtf8(), new Int32Array(n), [`p${seed}`]),
    i64(tsNs(), time),
    dictData(dictUtf8(), nameIdx, ['cpu', 'mem', 'frame_time', 'unused ' + seed]),
    fixed(new Float64(), value),
    fixed(new Uint32(), count),
    i64(new Int64(), big),
    vectorFromArray(flags, new Bool()).data[0]!,
    blobVector.data[0]!,
    vectorFromArray(notes, new Utf8()).data[0]!,
  ]);
}

/** Arrow values as comparable plain JS (bigints and bytes stay exact). */
function plainRows(batches: RecordBatch[] | Table): unknown[][] {
  const rows: unknown[][] = [];
  for (const b of Array.isArray(batches) ? batches : batches.batches) {
    for (let i = 0; i < b.numRows; i++) {
      rows.push(b.schema.fields.map((_, c) => {
        const v = b.getChildAt(c)!.get(i);
        return v instanceof Uint8Array ? Array.from(v) : v;
      }));
    }
  }
  return rows;
}

describe('writeParquetFile, other column types', () => {
  test('measures-like batches: float64 (incl. -0), uint32, int64 extremes, bool, binary, nullable utf8, PLAIN timestamp fallback', async () => {
    // Sliced batches exercise Arrow data offsets (bitmaps, value offsets) too.
    const batches = [measureBatch(5000, 1), measureBatch(3001, 2).slice(1, 3001), measureBatch(10, 3)];
    const bytes = writeParquetFile(measureSchema, batches)!;
    assert.ok(bytes);
    const path = save(bytes);
    assert.deepEqual(await describeTypes(path), {
      process_id: 'VARCHAR', time: 'TIMESTAMP_NS', name: 'VARCHAR', value: 'DOUBLE', count: 'UINTEGER', big: 'BIGINT', flag: 'BOOLEAN',
      blob: 'BLOB', note: 'VARCHAR',
    });
    await sameAsReference(path, measureSchema, batches);
    await sameStatistics(path, measureSchema, batches);
    const nullable = await query(`SELECT name, repetition_type FROM parquet_schema('${path}') WHERE name IN ('note', 'value') ORDER BY 1`);
    assert.deepEqual(nullable.map((r) => r.repetition_type), ['OPTIONAL', 'REQUIRED']);
    // Unsigned statistics: the max of count is 0xffffffff, not a negative number.
    const countStats = await query(`SELECT DISTINCT stats_max_value AS hi FROM parquet_metadata('${path}') WHERE path_in_schema = 'count'`);
    assert.deepEqual(countStats.map((r) => r.hi), ['4294967295']);
    // Read back through arrow-rs (parquet-wasm): every value, including -0 and the int64 extremes.
    const table = decodeParquet(bytes);
    assert.equal(table.numRows, 5000 + 3000 + 10);
    const got = plainRows(table);
    const want = plainRows(batches);
    assert.equal(got.length, want.length);
    for (let i = 0; i < want.length; i++) assert.deepEqual(got[i], want[i], `row ${i}`);
    // deepStrictEqual tells -0 from 0, so the row above with -0 also checked the sign.
    assert.ok(Object.is(want[1]![3], -0));
    const timeEncodings = await query(`SELECT DISTINCT encodings FROM parquet_metadata('${path}') WHERE path_in_schema = 'time'`);
    assert.deepEqual(timeEncodings.map((r) => r.encodings), ['PLAIN, RLE']);
  });

  test('0 rows: a valid file with the schema and no row groups', async () => {
    const empty = measureBatch(0, 9);
    const bytes = writeParquetFile(measureSchema, [empty])!;
    const path = save(bytes);
    assert.equal((await query(`SELECT count(*)::INTEGER AS n FROM '${path}'`))[0]!.n, 0);
    assert.equal((await describeTypes(path)).time, 'TIMESTAMP_NS');
    assert.equal(decodeParquet(bytes).numRows, 0);
    assert.ok(writeParquetFile(measureSchema, []));
  });

  test('unsupported schemas and data return undefined', () => {
    const listSchema = new Schema([new Field('tags', new List(new Field('tag', new Utf8(), false)), false)]);
    const lists = vectorFromArray([['a'], []], listSchema.fields[0]!.type);
    assert.equal(writeParquetFile(listSchema, [batch(listSchema, [lists.data[0]!])]), undefined);
    const nullsSchema = new Schema([new Field('v', new Int32(), true)]);
    const withNull = vectorFromArray([1, null, 3], new Int32());
    assert.equal(writeParquetFile(nullsSchema, [batch(nullsSchema, [withNull.data[0]!])]), undefined);
    const secondsSchema = new Schema([new Field('t', new Timestamp(TimeUnit.SECOND), false)]);
    assert.equal(writeParquetFile(secondsSchema, []), undefined);
  });

  test('pyarrow reads the same values (skipped without pyarrow)', async (t) => {
    const python = process.env.PYTHON ?? 'python3';
    try {
      execFileSync(python, ['-c', 'import pyarrow'], { stdio: 'ignore' });
    } catch {
      t.skip('pyarrow is not installed');
      return;
    }
    const parts = [logBatch(2000, 21), logBatch(500, 22)];
    const path = save(writeParquetFile(logSchema, parts.map((p) => p.batch), { rowGroupSize: 1000 })!);
    const script = `
import json, sys, pyarrow as pa, pyarrow.parquet as pq
t = pq.read_table(sys.argv[1])
out = {f.name: str(f.type) for f in t.schema}
out['row_groups'] = pq.ParquetFile(sys.argv[1]).metadata.num_row_groups
cols = {k: (t.column(k).cast(pa.int64()) if k in ('insert_time', 'time') else t.column(k)).to_pylist() for k in t.column_names}
out['rows'] = [[list(cols[k][i]) if isinstance(cols[k][i], bytes) else cols[k][i] for k in cols] for i in range(t.num_rows)]
print(json.dumps(out))`;
    // Big int64 values go through JSON as strings to stay exact.
    const json = execFileSync(python, ['-c', script, path], { maxBuffer: 1 << 28 }).toString().replace(/(-?\d{16,})/g, '"$1"');
    const out = JSON.parse(json);
    assert.equal(out.row_groups, 3);
    assert.equal(out.time, 'timestamp[ns]');
    assert.equal(out.msg, 'string');
    const rows = concatRows(parts.map((p) => p.rows));
    assert.equal(out.rows.length, rows.msg.length);
    for (let i = 0; i < rows.msg.length; i++) {
      const r = out.rows[i];
      assert.deepEqual([r[0], r[1], r[4], r[5], r[6], r[7]], [rows.processId[i], rows.blockId[i], rows.target[i], rows.level[i], rows.msg[i], Array.from(rows.properties[i]!)], `row ${i}`);
      assert.deepEqual([BigInt(r[2]), BigInt(r[3])], [rows.insertTime[i], rows.time[i]], `row ${i}`);
    }
  });
});
