// The hand-written Parquet writer, read back by DuckDB (values, types, row-group statistics) and by
// parquet-wasm (arrow-rs), and by pyarrow when it is installed; the parquet-wasm writer is the reference.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Binary, Bool, Dictionary, Field, Float64, Int32, Int64, List, makeData, RecordBatch, Schema, Struct, Timestamp, TimeUnit, Uint32, Utf8,
  vectorFromArray, type Data, type DataType,
} from 'apache-arrow';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import * as pq from 'parquet-wasm/node';
import { writeParquetFile } from '../src/parquet/index.ts';
import { decodeParquet, encodeParquet } from '../src/parquet.ts';

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
  if (!path) references.set(key, (path = save(encodeParquet(schema, batches))));
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

  const big = [logBatch(100_000, 11), logBatch(90_000, 12), logBatch(80_000, 13)];
  for (const compression of ['lz4_raw', 'none'] as const) {
    for (const delta of [true, false]) {
      test(`more than 128 Ki rows, several row groups and pages (${compression}, delta encodings ${delta})`, async () => {
        const parts = big;
        const batches = parts.map((p) => p.batch);
        const bytes = writeParquetFile(logSchema, batches, { compression, deltaTimestamps: delta, deltaLengths: delta, pageSize: 256 * 1024 })!;
        const path = save(bytes);
        const groups = await query(`SELECT row_group_id, any_value(row_group_num_rows) AS n, list(DISTINCT compression) AS codecs,
          list(DISTINCT encodings) AS encodings FROM parquet_metadata('${path}') GROUP BY ALL ORDER BY 1`);
        assert.deepEqual(groups.map((g) => g.n), [131072n, 131072n, 270000n - 262144n]);
        const codecs = new Set(groups.flatMap((g) => g.codecs as string[]));
        assert.ok(codecs.has(compression === 'none' ? 'UNCOMPRESSED' : 'LZ4_RAW'), [...codecs].join());
        if (compression === 'none') assert.equal(codecs.size, 1);
        const encodings = groups.flatMap((g) => g.encodings as string[]).join();
        assert.equal(encodings.includes('DELTA_BINARY_PACKED'), delta, encodings);
        assert.equal(encodings.includes('DELTA_LENGTH_BYTE_ARRAY'), delta, encodings);
        if (compression === 'lz4_raw' && delta) await checkLogFile(path, concatRows(parts.map((p) => p.rows)));
        await sameAsReference(path, logSchema, batches);
        await sameStatistics(path, logSchema, batches);
      });
    }
  }
});
