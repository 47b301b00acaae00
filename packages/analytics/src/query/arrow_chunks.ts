// DuckDB result chunks → Arrow record batches. Fixed-width columns are copied straight out of the
// vectors' memory and validity masks (both little-endian, LSB-first like Arrow); strings and blobs
// are copied as bytes. Timestamps of every precision come out as ns with the '+00:00' zone the
// FlightSQL clients expect (reference analytics.md §8.1); types without an Arrow mapping here are
// sent as their text form.
import duckdb from '@duckdb/node-bindings';
import { DuckDBTypeId, DuckDBVector, type DuckDBDataChunk, type DuckDBType, type DuckDBListType } from '@duckdb/node-api';
import {
  Binary, Bool, Field, Float32, Float64, Int8, Int16, Int32, Int64, List, RecordBatch, Schema, Struct, TimeUnit, Timestamp, Uint8, Uint16, Uint32, Uint64, Utf8,
  makeData, type Data, type DataType,
} from 'apache-arrow';

type RawVector = duckdb.Vector;

/** A growable LSB-first validity bitmap. */
class Validity {
  bits = new Uint8Array(256);
  length = 0;
  nullCount = 0;

  private reserve(extra: number) {
    const needed = (this.length + extra + 7) >> 3;
    if (needed <= this.bits.length) return;
    const bigger = new Uint8Array(Math.max(needed, this.bits.length * 2));
    bigger.set(this.bits);
    this.bits = bigger;
  }
  /** Appends `count` rows whose validity is `mask` (DuckDB's, null when all are valid). */
  append(mask: Uint8Array | null, count: number): void {
    this.reserve(count);
    if (!mask) {
      this.setRange(this.length, count);
      this.length += count;
      return;
    }
    for (let i = 0; i < count; i++) {
      if ((mask[i >> 3]! >> (i & 7)) & 1) {
        const j = this.length + i;
        this.bits[j >> 3]! |= 1 << (j & 7);
      } else this.nullCount++;
    }
    this.length += count;
  }
  /** Appends the validity of rows `sel` of a vector of `size` rows. */
  appendSelected(mask: Uint8Array | null, sel: readonly number[]): void {
    this.reserve(sel.length);
    sel.forEach((row, k) => {
      const j = this.length + k;
      if (this.isValid(mask, row)) this.bits[j >> 3]! |= 1 << (j & 7);
      else this.nullCount++;
    });
    this.length += sel.length;
  }
  private setRange(from: number, count: number) {
    for (let j = from; j < from + count; j++) this.bits[j >> 3]! |= 1 << (j & 7);
  }
  finish(): Uint8Array | undefined {
    return this.nullCount === 0 ? undefined : this.bits.slice(0, (this.length + 7) >> 3);
  }
  isValid(mask: Uint8Array | null, i: number): boolean {
    return !mask || ((mask[i >> 3]! >> (i & 7)) & 1) === 1;
  }
}

function validityMask(vector: RawVector, count: number): Uint8Array | null {
  const bytes = duckdb.vector_get_validity(vector, Math.ceil(count / 64) * 8);
  return bytes ?? null;
}

/** Rows a vector must have for `sel` to index it. */
function rowsSpanned(sel: readonly number[]): number {
  let max = -1;
  for (const r of sel) if (r > max) max = r;
  return max + 1;
}

interface ColumnSink {
  readonly type: DataType;
  /** Appends rows [0, count) of the vector, or the rows listed in `sel` (then count = sel.length). */
  append(vector: RawVector, count: number, duckType: DuckDBType, sel?: readonly number[]): void;
  finish(): Data;
  reset(): void;
}

type TypedArray = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array | Float32Array | Float64Array;
type TypedArrayCtor = { new (n: number): TypedArray; BYTES_PER_ELEMENT: number };

class FixedSink implements ColumnSink {
  private values: TypedArray;
  private length = 0;
  private validity = new Validity();
  constructor(
    readonly type: DataType,
    private readonly ctor: TypedArrayCtor,
    /** Bytes per value in DuckDB's vector (HUGEINT: 16, read as its low 8). */
    private readonly sourceWidth = ctor.BYTES_PER_ELEMENT,
    /** Multiplier to nanoseconds for timestamps. */
    private readonly scale = 1n,
  ) {
    this.values = new ctor(1024);
  }
  append(vector: RawVector, count: number, _t: DuckDBType, sel?: readonly number[]): void {
    if (this.length + count > this.values.length) {
      const bigger = new this.ctor(Math.max(this.length + count, this.values.length * 2));
      bigger.set(this.values as never);
      this.values = bigger;
    }
    const size = sel ? rowsSpanned(sel) : count;
    const raw = duckdb.vector_get_data(vector, size * this.sourceWidth);
    const width = this.ctor.BYTES_PER_ELEMENT;
    if (this.sourceWidth === width && !sel) {
      const src = new this.ctor(count);
      new Uint8Array(src.buffer).set(raw.subarray(0, count * width));
      if (this.scale !== 1n) for (let i = 0; i < count; i++) (src as BigInt64Array)[i]! *= this.scale;
      this.values.set(src as never, this.length);
    } else {
      // Selected rows, or HUGEINT read as its low 64 bits (the value whenever it fits in an int64).
      const all = new this.ctor(size);
      if (this.sourceWidth === width) new Uint8Array(all.buffer).set(raw.subarray(0, size * width));
      else {
        const view = new DataView(raw.buffer, raw.byteOffset, size * this.sourceWidth);
        for (let i = 0; i < size; i++) (all as BigInt64Array)[i] = view.getBigInt64(i * this.sourceWidth, true);
      }
      for (let k = 0; k < count; k++) {
        let v = all[sel ? sel[k]! : k]!;
        if (this.scale !== 1n) v = (v as bigint) * this.scale;
        (this.values as BigInt64Array)[this.length + k] = v as bigint;
      }
    }
    const mask = validityMask(vector, size);
    if (sel) this.validity.appendSelected(mask, sel);
    else this.validity.append(mask, count);
    this.length += count;
  }
  finish(): Data {
    return makeData({ type: this.type, length: this.length, nullCount: this.validity.nullCount, nullBitmap: this.validity.finish(), data: this.values.slice(0, this.length) } as never);
  }
  reset(): void {
    this.length = 0;
    this.validity = new Validity();
  }
}

class BoolSink implements ColumnSink {
  readonly type = new Bool();
  private bits = new Validity();
  private validity = new Validity();
  append(vector: RawVector, count: number, _t: DuckDBType, sel?: readonly number[]): void {
    const size = sel ? rowsSpanned(sel) : count;
    const raw = duckdb.vector_get_data(vector, size);
    const mask = validityMask(vector, size);
    const packed = new Uint8Array((count + 7) >> 3);
    for (let i = 0; i < count; i++) if (raw[sel ? sel[i]! : i]) packed[i >> 3]! |= 1 << (i & 7);
    this.bits.append(packed, count);
    if (sel) this.validity.appendSelected(mask, sel);
    else this.validity.append(mask, count);
  }
  finish(): Data {
    return makeData({ type: this.type, length: this.bits.length, nullCount: this.validity.nullCount, nullBitmap: this.validity.finish(), data: this.bits.bits.slice(0, (this.bits.length + 7) >> 3) });
  }
  reset(): void {
    this.bits = new Validity();
    this.validity = new Validity();
  }
}

/** VARCHAR / BLOB: DuckDB string_t (16 bytes: length, then 12 inline bytes or prefix + pointer). */
class BytesSink implements ColumnSink {
  private offsets = new Int32Array(1025);
  private data = new Uint8Array(16384);
  private length = 0;
  private byteLength = 0;
  private validity = new Validity();
  constructor(readonly type: Utf8 | Binary) {}

  private pushBytes(bytes: Uint8Array) {
    if (this.byteLength + bytes.length > this.data.length) {
      const bigger = new Uint8Array(Math.max(this.byteLength + bytes.length, this.data.length * 2));
      bigger.set(this.data.subarray(0, this.byteLength));
      this.data = bigger;
    }
    this.data.set(bytes, this.byteLength);
    this.byteLength += bytes.length;
  }
  private reserveRows(count: number) {
    if (this.length + count + 1 > this.offsets.length) {
      const bigger = new Int32Array(Math.max(this.length + count + 1, this.offsets.length * 2));
      bigger.set(this.offsets.subarray(0, this.length + 1));
      this.offsets = bigger;
    }
  }
  append(vector: RawVector, count: number, _t: DuckDBType, sel?: readonly number[]): void {
    this.reserveRows(count);
    const size = sel ? rowsSpanned(sel) : count;
    const raw = duckdb.vector_get_data(vector, size * 16);
    const view = new DataView(raw.buffer, raw.byteOffset, size * 16);
    const mask = validityMask(vector, size);
    for (let k = 0; k < count; k++) {
      const i = sel ? sel[k]! : k;
      if (this.validity.isValid(mask, i)) {
        const len = view.getUint32(i * 16, true);
        if (len <= 12) this.pushBytes(raw.subarray(i * 16 + 4, i * 16 + 4 + len));
        else this.pushBytes(duckdb.get_data_from_pointer(raw.buffer as ArrayBuffer, raw.byteOffset + i * 16 + 8, len));
      }
      this.offsets[++this.length] = this.byteLength;
    }
    if (sel) this.validity.appendSelected(mask, sel);
    else this.validity.append(mask, count);
  }
  /** Appends strings produced in JS (text forms of other types). */
  appendStrings(values: (string | null)[]): void {
    this.reserveRows(values.length);
    const encoder = new TextEncoder();
    const mask = new Uint8Array((values.length + 7) >> 3);
    values.forEach((v, i) => {
      if (v !== null) {
        this.pushBytes(encoder.encode(v));
        mask[i >> 3]! |= 1 << (i & 7);
      }
      this.offsets[++this.length] = this.byteLength;
    });
    this.validity.append(mask, values.length);
  }
  finish(): Data {
    return makeData({
      type: this.type, length: this.length, nullCount: this.validity.nullCount, nullBitmap: this.validity.finish(),
      valueOffsets: this.offsets.slice(0, this.length + 1), data: this.data.slice(0, this.byteLength),
    } as never);
  }
  reset(): void {
    this.offsets = new Int32Array(1025);
    this.length = 0;
    this.byteLength = 0;
    this.validity = new Validity();
  }
}

/** Any other type, sent as its text form. */
class TextSink implements ColumnSink {
  readonly type = new Utf8();
  private inner = new BytesSink(new Utf8());
  append(vector: RawVector, count: number, duckType: DuckDBType, sel?: readonly number[]): void {
    const v = DuckDBVector.create(vector, sel ? rowsSpanned(sel) : count, duckType);
    const values: (string | null)[] = [];
    for (let k = 0; k < count; k++) {
      const item = v.getItem(sel ? sel[k]! : k);
      values.push(item === null ? null : String(item));
    }
    this.inner.appendStrings(values);
  }
  finish(): Data {
    return this.inner.finish();
  }
  reset(): void {
    this.inner.reset();
  }
}

class ListSink implements ColumnSink {
  readonly type: List;
  private offsets: number[] = [0];
  private validity = new Validity();
  constructor(
    private readonly child: ColumnSink,
    private readonly childType: DuckDBType,
  ) {
    this.type = new List(new Field('item', child.type, true));
  }
  append(vector: RawVector, count: number, _t: DuckDBType, sel?: readonly number[]): void {
    if (sel) throw new Error('nested lists are not supported in query results');
    const entries = duckdb.vector_get_data(vector, count * 16);
    const view = new DataView(entries.buffer, entries.byteOffset, count * 16);
    const mask = validityMask(vector, count);
    const childSize = duckdb.list_vector_get_size(vector);
    const child = duckdb.list_vector_get_child(vector);
    // Entries usually tile the child vector in order; otherwise (a flattened constant list, for
    // example) the child rows are gathered entry by entry.
    const rows: number[] = [];
    let contiguous = true;
    for (let i = 0; i < count; i++) {
      if (!this.validity.isValid(mask, i)) continue;
      const off = Number(view.getBigUint64(i * 16, true));
      const len = Number(view.getBigUint64(i * 16 + 8, true));
      if (off !== rows.length) contiguous = false;
      for (let k = 0; k < len; k++) rows.push(off + k);
    }
    if (contiguous && rows.length === childSize) this.child.append(child, childSize, this.childType);
    else if (rows.length > 0) this.child.append(child, rows.length, this.childType, rows);
    let end = this.offsets[this.offsets.length - 1]!;
    for (let i = 0; i < count; i++) {
      if (this.validity.isValid(mask, i)) end += Number(view.getBigUint64(i * 16 + 8, true));
      this.offsets.push(end);
    }
    this.validity.append(mask, count);
  }
  finish(): Data {
    return makeData({
      type: this.type, length: this.offsets.length - 1, nullCount: this.validity.nullCount, nullBitmap: this.validity.finish(),
      valueOffsets: Int32Array.from(this.offsets), child: this.child.finish(),
    } as never);
  }
  reset(): void {
    this.offsets = [0];
    this.validity = new Validity();
    this.child.reset();
  }
}

export const TIMESTAMP_TYPE = new Timestamp(TimeUnit.NANOSECOND, '+00:00');

function makeSink(t: DuckDBType): ColumnSink {
  switch (t.typeId) {
    case DuckDBTypeId.BOOLEAN: return new BoolSink();
    case DuckDBTypeId.TINYINT: return new FixedSink(new Int8(), Int8Array);
    case DuckDBTypeId.SMALLINT: return new FixedSink(new Int16(), Int16Array);
    case DuckDBTypeId.INTEGER: return new FixedSink(new Int32(), Int32Array);
    case DuckDBTypeId.BIGINT: return new FixedSink(new Int64(), BigInt64Array);
    case DuckDBTypeId.HUGEINT: return new FixedSink(new Int64(), BigInt64Array, 16);
    case DuckDBTypeId.UTINYINT: return new FixedSink(new Uint8(), Uint8Array);
    case DuckDBTypeId.USMALLINT: return new FixedSink(new Uint16(), Uint16Array);
    case DuckDBTypeId.UINTEGER: return new FixedSink(new Uint32(), Uint32Array);
    case DuckDBTypeId.UBIGINT: return new FixedSink(new Uint64(), BigUint64Array);
    case DuckDBTypeId.FLOAT: return new FixedSink(new Float32(), Float32Array);
    case DuckDBTypeId.DOUBLE: return new FixedSink(new Float64(), Float64Array);
    case DuckDBTypeId.TIMESTAMP_NS: return new FixedSink(TIMESTAMP_TYPE, BigInt64Array);
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_TZ: return new FixedSink(TIMESTAMP_TYPE, BigInt64Array, 8, 1000n);
    case DuckDBTypeId.TIMESTAMP_MS: return new FixedSink(TIMESTAMP_TYPE, BigInt64Array, 8, 1_000_000n);
    case DuckDBTypeId.TIMESTAMP_S: return new FixedSink(TIMESTAMP_TYPE, BigInt64Array, 8, 1_000_000_000n);
    case DuckDBTypeId.VARCHAR: return new BytesSink(new Utf8());
    case DuckDBTypeId.BLOB: return new BytesSink(new Binary());
    case DuckDBTypeId.LIST: {
      const valueType = (t as DuckDBListType).valueType;
      return new ListSink(makeSink(valueType), valueType);
    }
    default: return new TextSink();
  }
}

/** Accumulates DuckDB chunks of one result and cuts them into Arrow record batches. */
export class ChunkConverter {
  readonly schema: Schema;
  private readonly sinks: ColumnSink[];
  private rows = 0;

  constructor(
    names: readonly string[],
    private readonly types: readonly DuckDBType[],
  ) {
    this.sinks = types.map(makeSink);
    this.schema = new Schema(names.map((name, i) => new Field(name, this.sinks[i]!.type, true)));
  }

  get pendingRows(): number {
    return this.rows;
  }

  append(chunk: DuckDBDataChunk): void {
    const count = chunk.rowCount;
    if (count === 0) return;
    this.sinks.forEach((sink, i) => sink.append(duckdb.data_chunk_get_vector(chunk.chunk, i), count, this.types[i]!));
    this.rows += count;
  }

  /** The rows appended since the last flush as one batch. */
  flush(): RecordBatch {
    const children = this.sinks.map((s) => s.finish());
    const batch = new RecordBatch(this.schema, makeData({ type: new Struct(this.schema.fields), length: this.rows, children, nullCount: 0 }));
    this.sinks.forEach((s) => s.reset());
    this.rows = 0;
    return batch;
  }
}
