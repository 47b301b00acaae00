// Hand-written Parquet writer for flat schemas of non-null columns, the hot path of view partitions.
// Anything it cannot encode (nested types, actual nulls, exotic types) makes it return undefined so the
// caller can fall back to parquet-wasm.
import type { Data, RecordBatch, Schema } from 'apache-arrow';
import { writeChunk, type ChunkResult, type Segment } from './chunks.ts';
import { Encoding } from './pages.ts';
import { planColumn, writeSchemaElement, type ColumnPlan } from './schema.ts';
import { ByteSink, CompactWriter, CType } from './sink.ts';

export interface ParquetWriteOptions {
  /** Maximum rows per row group (default 128 Ki). */
  rowGroupSize?: number;
  /** Target uncompressed page size in bytes (default 1 MiB). */
  pageSize?: number;
  /** 'lz4_raw' (default) compresses the chunks where it pays; 'none' never compresses. */
  compression?: 'lz4_raw' | 'none';
  /** DELTA_BINARY_PACKED for timestamp columns (default true); PLAIN otherwise. */
  deltaTimestamps?: boolean;
  /** DELTA_LENGTH_BYTE_ARRAY for non-dictionary strings and binaries (default true); PLAIN otherwise. */
  deltaLengths?: boolean;
  createdBy?: string;
}

/**
 * The file is assembled in one buffer kept across calls: first touches of fresh memory are what large
 * writes mostly pay for, so only the returned copy is new. Buffers above this size are not kept.
 */
const MAX_RETAINED_SINK = 128 << 20;
let fileSink: ByteSink | undefined;

const MAGIC = Uint8Array.of(0x50, 0x41, 0x52, 0x31); // "PAR1"

interface WrittenChunk {
  plan: ColumnPlan;
  result: ChunkResult;
}

interface WrittenRowGroup {
  rows: number;
  chunks: WrittenChunk[];
}

const INDEX_ARRAYS = [Int8Array, Int16Array, Int32Array, Uint8Array, Uint16Array, Uint32Array];

function columnData(batch: RecordBatch, i: number): Data | undefined {
  return batch.data.children[i];
}

/** True when every batch's column i can be read as plain non-null buffers. */
function usable(plan: ColumnPlan, batches: readonly RecordBatch[], i: number): boolean {
  for (const b of batches) {
    const d = columnData(b, i);
    if (!d || d.length !== b.numRows) return false;
    if (d.nullCount > 0) return false;
    if (plan.layout === 'dict') {
      const dict = d.dictionary;
      if (!dict || dict.nullCount > 0) return false;
      // Narrower or unsigned index arrays index just as well; 64-bit ones would need BigInt reads.
      if (!INDEX_ARRAYS.some((t) => d.values instanceof t)) return false;
    }
  }
  return true;
}

/**
 * Encodes the batches (all of `schema`) as one Parquet file, or returns undefined when the schema or the
 * data needs a feature this writer lacks (the caller then uses the general path).
 */
export function writeParquetFile(schema: Schema, batches: readonly RecordBatch[], options: ParquetWriteOptions = {}): Uint8Array | undefined {
  const plans: ColumnPlan[] = [];
  for (const f of schema.fields) {
    const p = planColumn(f);
    if (!p) return undefined;
    plans.push(p);
  }
  if (plans.length === 0) return undefined;
  for (let i = 0; i < plans.length; i++) if (!usable(plans[i]!, batches, i)) return undefined;

  const rowGroupSize = Math.max(1, options.rowGroupSize ?? 128 * 1024);
  const chunkOptions = {
    pageSize: Math.max(1024, options.pageSize ?? 1 << 20),
    lz4: (options.compression ?? 'lz4_raw') === 'lz4_raw',
    deltaTimestamps: options.deltaTimestamps ?? true,
    deltaLengths: options.deltaLengths ?? true,
  };
  let totalRows = 0;
  for (const b of batches) totalRows += b.numRows;
  fileSink ??= new ByteSink(1 << 20);
  const out = fileSink;
  out.pos = 0;
  out.bytes(MAGIC);

  const rowGroups: WrittenRowGroup[] = [];
  let batchIndex = 0;
  let batchRow = 0;
  for (let start = 0; start < totalRows; start += rowGroupSize) {
    const rows = Math.min(rowGroupSize, totalRows - start);
    // Which (batch, row range) pieces make up this row group.
    const pieces: { batch: number; from: number; count: number }[] = [];
    let need = rows;
    while (need > 0) {
      const b = batches[batchIndex]!;
      const take = Math.min(need, b.numRows - batchRow);
      if (take > 0) pieces.push({ batch: batchIndex, from: batchRow, count: take });
      need -= take;
      batchRow += take;
      if (batchRow === b.numRows) {
        batchIndex++;
        batchRow = 0;
      }
    }
    const chunks: WrittenChunk[] = [];
    for (let i = 0; i < plans.length; i++) {
      const segs: Segment[] = pieces.map((p) => ({ data: columnData(batches[p.batch]!, i)!, from: p.from, count: p.count }));
      const result = writeChunk(plans[i]!, segs, out, chunkOptions);
      if (!result) return undefined;
      chunks.push({ plan: plans[i]!, result });
    }
    rowGroups.push({ rows, chunks });
  }

  const footerStart = out.pos;
  writeFileMetaData(new CompactWriter(out), plans, rowGroups, totalRows, options.createdBy ?? 'micromegas-ts');
  out.u32le(out.pos - footerStart);
  out.bytes(MAGIC);
  const file = out.buf.slice(0, out.pos);
  if (out.buf.length > MAX_RETAINED_SINK) fileSink = undefined;
  return file;
}

function writeColumnMeta(w: CompactWriter, c: WrittenChunk): void {
  const r = c.result;
  const cw = r.writer;
  w.beginStruct(3); // ColumnMetaData
  w.i32(1, c.plan.physical);
  const encodings = [...cw.encodings, Encoding.Rle].sort((a, b) => a - b);
  w.list(2, CType.I32, encodings.length);
  for (const e of encodings) w.listI32(e);
  w.list(3, CType.Binary, 1);
  w.listString(c.plan.name);
  w.i32(4, cw.codec ?? 0);
  w.i64(5, r.numValues);
  w.i64(6, cw.uncompressed);
  w.i64(7, cw.compressed);
  w.i64(9, cw.dataPageOffset);
  if (cw.dictionaryPageOffset >= 0) w.i64(11, cw.dictionaryPageOffset);
  w.beginStruct(12); // Statistics
  w.i64(3, 0); // null_count
  const max = r.stats?.max();
  const min = r.stats?.min();
  if (max && min) {
    w.binary(5, max);
    w.binary(6, min);
    w.bool(7, true);
    w.bool(8, true);
  }
  if (r.stats?.nanCount !== undefined) w.i64(9, r.stats.nanCount);
  w.endStruct();
  w.endStruct();
}

function writeFileMetaData(w: CompactWriter, plans: ColumnPlan[], rowGroups: WrittenRowGroup[], totalRows: number, createdBy: string): void {
  w.i32(1, 1); // version
  w.list(2, CType.Struct, plans.length + 1);
  w.beginElement(); // root
  w.string(4, 'schema');
  w.i32(5, plans.length);
  w.endStruct();
  for (const p of plans) writeSchemaElement(w, p);
  w.i64(3, totalRows);
  w.list(4, CType.Struct, rowGroups.length);
  rowGroups.forEach((rg, ordinal) => {
    w.beginElement();
    w.list(1, CType.Struct, rg.chunks.length);
    let uncompressed = 0;
    let compressed = 0;
    for (const c of rg.chunks) {
      w.beginElement(); // ColumnChunk
      w.i64(2, 0); // file_offset: no column metadata outside the footer
      writeColumnMeta(w, c);
      w.endStruct();
      uncompressed += c.result.writer.uncompressed;
      compressed += c.result.writer.compressed;
    }
    w.i64(2, uncompressed);
    w.i64(3, rg.rows);
    w.i64(5, rg.chunks[0]!.result.writer.start);
    w.i64(6, compressed);
    w.i16(7, ordinal);
    w.endStruct();
  });
  w.string(6, createdBy);
  w.list(7, CType.Struct, plans.length);
  for (let i = 0; i < plans.length; i++) {
    w.beginElement(); // ColumnOrder union
    w.emptyStruct(1); // TYPE_ORDER
    w.endStruct();
  }
  w.stop();
}
