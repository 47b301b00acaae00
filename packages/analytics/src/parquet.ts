// Parquet encoding of view batches (reference analytics.md §3.2): LZ4_RAW, row groups of at most
// 128 Ki rows, chunk statistics for pruning. Dictionary encoding is left to the columns that are
// dictionary-typed in Arrow; hashing every free-text message would only cost time.
import { DataType, RecordBatch, Table, tableFromIPC, tableToIPC, type Schema } from 'apache-arrow';
import * as pq from 'parquet-wasm/node';
import { writeParquetFile } from './parquet/index.ts';

const MAX_ROW_GROUP_ROWS = 128 * 1024;

function writerProperties(schema: Schema): pq.WriterProperties {
  let b = new pq.WriterPropertiesBuilder()
    .setCompression(pq.Compression.LZ4_RAW)
    .setWriterVersion(pq.WriterVersion.V2)
    .setMaxRowGroupSize(MAX_ROW_GROUP_ROWS)
    .setStatisticsEnabled(pq.EnabledStatistics.Chunk)
    .setDictionaryEnabled(false)
    .setCreatedBy('micromegas-ts');
  for (const f of schema.fields) {
    if (DataType.isDictionary(f.type)) b = b.setColumnDictionaryEnabled(f.name, true);
  }
  return b.build();
}

/**
 * Encodes batches (all of one schema) as one Parquet file: with our own writer for flat non-null
 * schemas (the event views), through parquet-wasm for the others (lists, nullable columns).
 */
export function encodeParquet(schema: Schema, batches: readonly RecordBatch[]): Uint8Array {
  return writeParquetFile(schema, batches) ?? encodeParquetWasm(schema, batches);
}

/** The parquet-wasm path (apache-arrow IPC → arrow-rs writer). */
export function encodeParquetWasm(schema: Schema, batches: readonly RecordBatch[]): Uint8Array {
  const table = new Table(schema, batches as RecordBatch[]);
  const ipc = tableToIPC(table, 'stream');
  const wasmTable = pq.Table.fromIPCStream(ipc);
  try {
    return pq.writeParquet(wasmTable, writerProperties(schema));
  } finally {
    try {
      wasmTable.free();
    } catch {
      // writeParquet consumes the table in some versions; nothing left to free then.
    }
  }
}

/** Decodes a Parquet file into Arrow (tests and small metadata reads). */
export function decodeParquet(bytes: Uint8Array): Table {
  const wasmTable = pq.readParquet(bytes);
  const ipc = wasmTable.intoIPCStream();
  return tableFromIPC(ipc);
}
