// Parquet encoding of a 1M-row log_entries-shaped batch: the hand-written writer vs the parquet-wasm
// path (tableToIPC + writeParquet, LZ4_RAW). Run: node --import tsx packages/analytics/bench/parquet.bench.ts [rows]
import { Binary, makeData, makeVector, RecordBatch, Struct, Table, tableToIPC, Utf8, type Data } from 'apache-arrow';
import { BytesColumn } from '../src/arrow/builders.ts';
import { encodeParquetWasm } from '../src/parquet.ts';
import { writeParquetFile, type ParquetWriteOptions } from '../src/parquet/index.ts';
import { logEntriesSchema } from '../src/views/log_entries.ts';

const rows = Number(process.argv[2] ?? 1_000_000);
const ROWS_PER_BLOCK = 1000;

function strings(values: string[], type: Utf8 | Binary = new Utf8()): Data {
  const c = new BytesColumn();
  for (const v of values) c.pushString(v);
  return c.finish(type);
}
/** The schema's own column types: IPC matches dictionaries to fields by the type's dictionary id. */
const typeOf = (column: number) => logEntriesSchema.fields[column]!.type;

// Each column gets its own index array: tableToIPC + parquet-wasm fail ("failed to fill whole buffer")
// when two dictionary columns share one typed array.
function dict(column: number, indices: Int32Array, values: string[], binary = false): Data {
  const dictionary = makeVector(strings(values, binary ? new Binary() : new Utf8()));
  return makeData({ type: typeOf(column), length: indices.length, data: indices, dictionary } as never);
}

function logBatch(n: number): RecordBatch {
  let seed = 12345;
  const rand = (): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 4294967296;
  };
  const blockIdx = new Int32Array(n);
  const target = new Int32Array(n);
  const props = new Int32Array(n);
  const insert = new BigInt64Array(n);
  const time = new BigInt64Array(n);
  const level = new Int32Array(n);
  const msg = new BytesColumn();
  const blocks = Math.ceil(n / ROWS_PER_BLOCK);
  const base = 1_760_000_000_000_000_000n;
  let t = base;
  const words = ['request', 'served', 'user', 'cache', 'miss', 'db', 'query', 'took', 'ms', 'ok', 'retry', 'frame'];
  for (let i = 0; i < n; i++) {
    const b = Math.floor(i / ROWS_PER_BLOCK);
    blockIdx[i] = b;
    target[i] = Math.floor(rand() * 20);
    props[i] = rand() < 0.95 ? 0 : 1 + Math.floor(rand() * 3);
    insert[i] = base + BigInt(b) * 1_000_000_000n;
    t += BigInt(200 + Math.floor(rand() * 20_000));
    time[i] = t;
    level[i] = 1 + Math.floor(rand() * 6);
    msg.pushString(`${words[i % 12]} ${words[(i * 7) % 12]} id=${Math.floor(rand() * 1e6)} ${words[(i * 5) % 12]} in ${(rand() * 100).toFixed(2)} ms`);
  }
  const blockNames = Array.from({ length: blocks }, (_, b) => `0b6a${b.toString(16).padStart(4, '0')}-4c1e-4e42-9f7e-7d3c2e8a1f00`);
  const columns = [
    dict(0, new Int32Array(n), ['6f1c2b1e-2d8a-4b6e-8f0e-3c1d2a9b7e55']),
    dict(1, new Int32Array(n), ['a3e1c2b1-2d8a-4b6e-8f0e-3c1d2a9b7e66']),
    dict(2, blockIdx, blockNames),
    makeData({ type: typeOf(3), length: n, data: insert } as never),
    dict(4, new Int32Array(n), ['/usr/bin/server']),
    dict(5, new Int32Array(n), ['svc']),
    dict(6, new Int32Array(n), ['host-01']),
    makeData({ type: typeOf(7), length: n, data: time } as never),
    dict(8, target, Array.from({ length: 20 }, (_, k) => `app::module${k}`)),
    makeData({ type: typeOf(9), length: n, data: level } as never),
    msg.finish(new Utf8()),
    dict(11, props, ['{}', '{"a":"1"}', '{"b":"2"}', '{"c":"3"}'], true),
    dict(12, new Int32Array(n), ['{"version":"1.2.3"}'], true),
  ];
  return new RecordBatch(logEntriesSchema, makeData({ type: new Struct(logEntriesSchema.fields), length: n, children: columns, nullCount: 0 }));
}

/** Best of `repeat` runs after a warm-up (the machine is shared; the minimum is the least noisy). */
function time<T>(fn: () => T, repeat: number): { ms: number; value: T } {
  let value = fn();
  let ms = Infinity;
  for (let i = 0; i < repeat; i++) {
    const start = performance.now();
    value = fn();
    ms = Math.min(ms, performance.now() - start);
  }
  return { ms, value };
}

const batch = logBatch(rows);
const variants: [string, ParquetWriteOptions][] = [
  ['hand-written, LZ4_RAW, delta encodings (default)', {}],
  ['hand-written, LZ4_RAW, PLAIN encodings', { deltaTimestamps: false, deltaLengths: false }],
  ['hand-written, uncompressed, delta encodings', { compression: 'none' }],
  ['hand-written, uncompressed, PLAIN encodings', { compression: 'none', deltaTimestamps: false, deltaLengths: false }],
];
const lines = ['| writer | ms | ns/row | bytes |', '|---|---:|---:|---:|'];
const results: number[] = [];
for (const [name, options] of variants) {
  const r = time(() => writeParquetFile(logEntriesSchema, [batch], options)!, 5);
  results.push(r.ms);
  lines.push(`| ${name} | ${r.ms.toFixed(1)} | ${((r.ms * 1e6) / rows).toFixed(1)} | ${r.value.length} |`);
}
const ipc = time(() => tableToIPC(new Table(logEntriesSchema, [batch]), 'stream'), 1);
const wasm = time(() => encodeParquetWasm(logEntriesSchema, [batch]), 1);
lines.push(`| parquet-wasm (tableToIPC ${ipc.ms.toFixed(0)} ms + writeParquet) | ${wasm.ms.toFixed(1)} | ${((wasm.ms * 1e6) / rows).toFixed(1)} | ${wasm.value.length} |`);
// The returned file is fresh memory: on some hosts first touches of new pages dominate large writes.
const kept: Uint8Array[] = [];
const fresh = time(() => kept.push(writeParquetFile(logEntriesSchema, [batch])!.slice()), 3);
kept.length = 0;
lines.push(`| (copying one default file into fresh memory, part of every writer's cost) | ${(fresh.ms - results[0]!).toFixed(1)} | | |`);
console.log(`${rows} log_entries rows\n`);
console.log(lines.join('\n'));
