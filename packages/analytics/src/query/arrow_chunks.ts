// DuckDB result chunks → Arrow record batches. Vectors are read straight out of DuckDB's memory
// (values and validity masks are little-endian and LSB-first, like Arrow's); nested types (STRUCT,
// LIST, MAP, ARRAY) recurse through child vectors, gathering child rows when a parent selects only
// some of them. Timestamps of every precision come out as ns with the '+00:00' zone the FlightSQL
// clients expect (reference analytics.md §8.1). Values a mapping cannot hold raise an error instead
// of wrapping. Types without an Arrow mapping here are sent as DuckDB's text form.
import duckdb from '@duckdb/node-bindings';
import {
  DuckDBTypeId, DuckDBVector, type DuckDBArrayType, type DuckDBDataChunk, type DuckDBDecimalType, type DuckDBEnumType,
  type DuckDBListType, type DuckDBMapType, type DuckDBStructType, type DuckDBType,
} from '@duckdb/node-api';
import {
  Binary, Bool, DateDay, Decimal, Field, FixedSizeList, Float32, Float64, Int8, Int16, Int32, Int64, IntervalMonthDayNano, List, Map_,
  RecordBatch, Schema, Struct, TimeMicrosecond, TimeNanosecond, TimeUnit, Timestamp, Uint8, Uint16, Uint32, Uint64, Utf8,
  makeData, type Data, type DataType,
} from 'apache-arrow';

type RawVector = duckdb.Vector;
type Sel = readonly number[] | undefined;

/** A growable LSB-first validity bitmap. */
class Validity {
  bits = new Uint8Array(256);
  length = 0;
  nullCount = 0;

  /** Appends rows [0, count) of `mask` (DuckDB's, null when all are valid), or its rows `sel`. */
  append(mask: Uint8Array | null, count: number, sel?: Sel): void {
    this.bits = grow(this.bits, (this.length + count + 7) >> 3);
    if (!mask) {
      for (let j = this.length; j < this.length + count; j++) this.bits[j >> 3]! |= 1 << (j & 7);
    } else {
      for (let k = 0; k < count; k++) {
        const j = this.length + k;
        if (isValid(mask, sel ? sel[k]! : k)) this.bits[j >> 3]! |= 1 << (j & 7);
        else this.nullCount++;
      }
    }
    this.length += count;
  }
  /** The makeData properties of this bitmap (none when every row is valid). */
  finish(): { nullCount: number; nullBitmap?: Uint8Array } {
    return this.nullCount === 0 ? { nullCount: 0 } : { nullCount: this.nullCount, nullBitmap: this.bits.slice(0, (this.length + 7) >> 3) };
  }
}

function isValid(mask: Uint8Array | null, i: number): boolean {
  return !mask || ((mask[i >> 3]! >> (i & 7)) & 1) === 1;
}

function validityMask(vector: RawVector, rows: number): Uint8Array | null {
  return duckdb.vector_get_validity(vector, Math.ceil(rows / 64) * 8) ?? null;
}

/** Rows a vector must have for rows [0, count) or `sel` to index it. */
function rowsSpanned(count: number, sel: Sel): number {
  if (!sel) return count;
  let max = -1;
  for (const r of sel) if (r > max) max = r;
  return max + 1;
}

interface ColumnSink {
  readonly type: DataType;
  /** Appends rows [0, count) of the vector, or the rows listed in `sel` (then count = sel.length). */
  append(vector: RawVector, count: number, sel?: Sel): void;
  finish(): Data;
  reset(): void;
}

type TypedArray = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array | Float32Array | Float64Array;
type TypedArrayCtor<T extends TypedArray = TypedArray> = { new (n: number): T; BYTES_PER_ELEMENT: number };

function grow<T extends TypedArray>(array: T, needed: number): T {
  if (needed <= array.length) return array;
  const bigger = new (array.constructor as TypedArrayCtor<T>)(Math.max(needed, array.length * 2));
  bigger.set(array as never);
  return bigger;
}

/** Re-encodes one valid value: reads DuckDB's bytes at `at`, writes the Arrow form at byte `o` of `out`. */
type RowWriter = (src: DataView, at: number, out: DataView, o: number) => void;

interface Conversion {
  /** Output array elements per value. */
  stride: number;
  /** Bytes per value in DuckDB's vector. */
  width: number;
  write: RowWriter;
}

/** Fixed-width values: copied as they are when DuckDB's layout is Arrow's (the fast path), else
 * converted row by row. */
class ValueSink implements ColumnSink {
  private values: TypedArray;
  private length = 0;
  private validity = new Validity();
  private readonly stride: number;
  constructor(
    readonly type: DataType,
    private readonly ctor: TypedArrayCtor,
    private readonly conversion?: Conversion,
  ) {
    this.stride = conversion?.stride ?? 1;
    this.values = new ctor(1024 * this.stride);
  }
  append(vector: RawVector, count: number, sel?: Sel): void {
    this.values = grow(this.values, (this.length + count) * this.stride);
    const size = rowsSpanned(count, sel);
    const bytes = this.stride * this.ctor.BYTES_PER_ELEMENT;
    const width = this.conversion?.width ?? bytes;
    const raw = duckdb.vector_get_data(vector, size * width);
    const mask = validityMask(vector, size);
    if (this.conversion) {
      const { write } = this.conversion;
      const src = new DataView(raw.buffer, raw.byteOffset, size * width);
      const out = new DataView(this.values.buffer);
      for (let k = 0; k < count; k++) {
        const i = sel ? sel[k]! : k;
        if (isValid(mask, i)) write(src, i * width, out, (this.length + k) * bytes);
      }
    } else if (!sel) {
      new Uint8Array(this.values.buffer, this.length * width, count * width).set(raw.subarray(0, count * width));
    } else {
      const all = new this.ctor(size);
      new Uint8Array(all.buffer).set(raw.subarray(0, size * width));
      for (let k = 0; k < count; k++) this.values[this.length + k] = all[sel[k]!]!;
    }
    this.validity.append(mask, count, sel);
    this.length += count;
  }
  finish(): Data {
    return makeData({ type: this.type, length: this.length, ...this.validity.finish(), data: this.values.slice(0, this.length * this.stride) } as never);
  }
  reset(): void {
    this.length = 0;
    this.validity = new Validity();
  }
}

export const TIMESTAMP_TYPE = new Timestamp(TimeUnit.NANOSECOND, '+00:00');

/** TIMESTAMP in s/ms/µs → ns; out-of-range values raise an error rather than wrapping. */
function timestampSink(scale: bigint, unit: string): ValueSink {
  const limit = 0x7fffffffffffffffn / scale;
  return new ValueSink(TIMESTAMP_TYPE, BigInt64Array, { stride: 1, width: 8, write: (src, at, out, o) => {
    const v = src.getBigInt64(at, true);
    if (v > limit || v < -limit) throw new RangeError(`timestamp ${v} ${unit} is outside the nanosecond range (years 1677-2262); cast it to VARCHAR`);
    out.setBigInt64(o, v * scale, true);
  } });
}

/** HUGEINT / UHUGEINT → Int64 / UInt64 (what DataFusion's sum of integers gives); a value that does
 * not fit raises an error rather than wrapping. */
function wideIntSink(signed: boolean): ValueSink {
  const [from, to] = signed ? ['HUGEINT', 'Int64'] : ['UHUGEINT', 'UInt64'];
  return new ValueSink(signed ? new Int64() : new Uint64(), signed ? BigInt64Array : BigUint64Array, { stride: 1, width: 16, write: (src, at, out, o) => {
    const lo = src.getBigUint64(at, true);
    const hi = signed ? src.getBigInt64(at + 8, true) : src.getBigUint64(at + 8, true);
    if (hi !== (signed && lo >> 63n === 1n ? -1n : 0n)) {
      throw new RangeError(`${from} value ${(hi << 64n) | lo} does not fit in ${to}; cast it to DOUBLE or DECIMAL(38,0) in the query`);
    }
    out.setBigUint64(o, lo, true);
  } });
}

/** DECIMAL(p, s) → Decimal128(p, s): DuckDB's int16/32/64/128 storage sign-extended to 128 bits. */
function decimalSink(t: DuckDBDecimalType): ValueSink {
  const width = t.width <= 4 ? 2 : t.width <= 9 ? 4 : t.width <= 18 ? 8 : 16;
  return new ValueSink(new Decimal(t.scale, t.width, 128), Uint32Array, { stride: 4, width, write: (src, at, out, o) => {
    const low = width === 2 ? BigInt(src.getInt16(at, true)) : width === 4 ? BigInt(src.getInt32(at, true)) : src.getBigInt64(at, true);
    out.setBigInt64(o, low, true);
    out.setBigInt64(o + 8, width === 16 ? src.getBigInt64(at + 8, true) : low < 0n ? -1n : 0n, true);
  } });
}

/** INTERVAL (months, days, µs) → Interval(MonthDayNano) (months, days, ns). */
function intervalSink(): ValueSink {
  const limit = 0x7fffffffffffffffn / 1000n;
  return new ValueSink(new IntervalMonthDayNano(), Int32Array, { stride: 4, width: 16, write: (src, at, out, o) => {
    const micros = src.getBigInt64(at + 8, true);
    if (micros > limit || micros < -limit) throw new RangeError(`INTERVAL of ${micros} µs does not fit in nanoseconds; cast it to VARCHAR`);
    out.setInt32(o, src.getInt32(at, true), true);
    out.setInt32(o + 4, src.getInt32(at + 4, true), true);
    out.setBigInt64(o + 8, micros * 1000n, true);
  } });
}

class BoolSink implements ColumnSink {
  readonly type = new Bool();
  private bits = new Validity();
  private validity = new Validity();
  append(vector: RawVector, count: number, sel?: Sel): void {
    const size = rowsSpanned(count, sel);
    const raw = duckdb.vector_get_data(vector, size);
    const packed = new Uint8Array((count + 7) >> 3);
    for (let k = 0; k < count; k++) if (raw[sel ? sel[k]! : k]) packed[k >> 3]! |= 1 << (k & 7);
    this.bits.append(packed, count);
    this.validity.append(validityMask(vector, size), count, sel);
  }
  finish(): Data {
    return makeData({ type: this.type, length: this.bits.length, ...this.validity.finish(), data: this.bits.bits.slice(0, (this.bits.length + 7) >> 3) });
  }
  reset(): void {
    this.bits = new Validity();
    this.validity = new Validity();
  }
}

/** VARCHAR / BLOB: DuckDB string_t (16 bytes: length, then 12 inline bytes or prefix + pointer). */
/** Most rows read in one native call, and the widest gap between two strings of it (see BytesSink). */
const MAX_RUN_ROWS = 4096;
const MAX_RUN_GAP = 64;

class BytesSink implements ColumnSink {
  private offsets = new Int32Array(1025);
  private data = new Uint8Array(16384);
  private length = 0;
  private byteLength = 0;
  private validity = new Validity();
  constructor(readonly type: Utf8 | Binary) {}

  /** Appends `len` bytes of `src` from `at`; `data` must have room. Short ones by hand: no subarray. */
  private copyBytes(src: Uint8Array, at: number, len: number) {
    const data = this.data;
    let o = this.byteLength;
    if (len <= 64) for (let b = at; b < at + len; b++) data[o++] = src[b]!;
    else data.set(src.subarray(at, at + len), o);
    this.byteLength += len;
  }

  private pushBytes(bytes: Uint8Array) {
    this.data = grow(this.data, this.byteLength + bytes.length);
    this.data.set(bytes, this.byteLength);
    this.byteLength += bytes.length;
  }
  append(vector: RawVector, count: number, sel?: Sel): void {
    this.offsets = grow(this.offsets, this.length + count + 1);
    const size = rowsSpanned(count, sel);
    const raw = duckdb.vector_get_data(vector, size * 16);
    const view = new DataView(raw.buffer, raw.byteOffset, size * 16);
    const mask = validityMask(vector, size);
    // A string longer than 12 bytes lives behind a pointer, and reading it is a native call: the
    // costly part. DuckDB's results keep their strings one after the other in a heap, so runs of
    // them are read in one call each. A run only spans gaps of a few bytes between strings it
    // holds, so every page it touches holds part of a string: no read can leave mapped memory.
    const pointer = (i: number) => view.getUint32(i * 16 + 8, true) + view.getUint32(i * 16 + 12, true) * 2 ** 32;
    const row = (k: number) => (sel ? sel[k]! : k);
    let k = 0;
    while (k < count) {
      // A run: from row k, the rows up to the next long string that is not laid out right after the
      // previous one (null and short rows, whose bytes are inline, do not end it).
      let start = -1;
      let end = -1;
      let first = -1;
      let m = k;
      for (; m < count && m - k < MAX_RUN_ROWS; m++) {
        const j = row(m);
        if (!isValid(mask, j)) continue;
        const l = view.getUint32(j * 16, true);
        if (l <= 12) continue;
        const p = pointer(j);
        if (start < 0) {
          start = p;
          first = j;
        } else if (p < end || p - end > MAX_RUN_GAP) break;
        end = p + l;
      }
      const block = start < 0 ? undefined : duckdb.get_data_from_pointer(raw.buffer as ArrayBuffer, raw.byteOffset + first * 16 + 8, end - start);
      this.data = grow(this.data, this.byteLength + (block?.length ?? 0) + 12 * (m - k));
      for (let q = k; q < m; q++) {
        const j = row(q);
        if (isValid(mask, j)) {
          const l = view.getUint32(j * 16, true);
          if (l <= 12) this.copyBytes(raw, j * 16 + 4, l);
          else this.copyBytes(block!, pointer(j) - start, l);
        }
        this.offsets[++this.length] = this.byteLength;
      }
      k = m;
    }
    this.validity.append(mask, count, sel);
  }
  /** Appends strings produced in JS (text forms of other types). */
  appendStrings(values: (string | null)[]): void {
    this.offsets = grow(this.offsets, this.length + values.length + 1);
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
      type: this.type, length: this.length, ...this.validity.finish(),
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

/** Utf8 rendered in JS: `render` reads a vector of `size` rows and returns each row's text. */
class RenderedTextSink implements ColumnSink {
  readonly type = new Utf8();
  private inner = new BytesSink(new Utf8());
  constructor(private readonly render: (vector: RawVector, size: number) => (row: number) => string | null) {}
  append(vector: RawVector, count: number, sel?: Sel): void {
    const text = this.render(vector, rowsSpanned(count, sel));
    const values: (string | null)[] = [];
    for (let k = 0; k < count; k++) values.push(text(sel ? sel[k]! : k));
    this.inner.appendStrings(values);
  }
  finish(): Data {
    return this.inner.finish();
  }
  reset(): void {
    this.inner.reset();
  }
}

/** DuckDB's own text form (types with no Arrow mapping here). */
function duckText(t: DuckDBType) {
  return (vector: RawVector, size: number) => {
    const v = DuckDBVector.create(vector, size, t);
    return (row: number) => {
      const item = v.getItem(row);
      return item === null ? null : String(item);
    };
  };
}

/** UUID: stored as a HUGEINT with the top bit flipped (so that ordering is preserved). */
function uuidText(vector: RawVector, size: number) {
  const raw = duckdb.vector_get_data(vector, size * 16);
  const view = new DataView(raw.buffer, raw.byteOffset, size * 16);
  const mask = validityMask(vector, size);
  return (row: number) => {
    if (!isValid(mask, row)) return null;
    const hi = view.getBigUint64(row * 16 + 8, true) ^ 0x8000000000000000n;
    const hex = hi.toString(16).padStart(16, '0') + view.getBigUint64(row * 16, true).toString(16).padStart(16, '0');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  };
}

/** ENUM: its dictionary index (1, 2 or 4 bytes) → the label. */
function enumText(t: DuckDBEnumType) {
  const width = t.internalTypeId === DuckDBTypeId.UTINYINT ? 1 : t.internalTypeId === DuckDBTypeId.USMALLINT ? 2 : 4;
  return (vector: RawVector, size: number) => {
    const raw = duckdb.vector_get_data(vector, size * width);
    const view = new DataView(raw.buffer, raw.byteOffset, size * width);
    const mask = validityMask(vector, size);
    return (row: number) => {
      if (!isValid(mask, row)) return null;
      const index = width === 1 ? view.getUint8(row) : width === 2 ? view.getUint16(row * 2, true) : view.getUint32(row * 4, true);
      return t.values[index]!;
    };
  };
}

class StructSink implements ColumnSink {
  readonly type: Struct;
  private length = 0;
  private validity = new Validity();
  constructor(private readonly children: ColumnSink[], fields: Field[]) {
    this.type = new Struct(fields);
  }
  append(vector: RawVector, count: number, sel?: Sel): void {
    this.children.forEach((child, i) => child.append(duckdb.struct_vector_get_child(vector, i), count, sel));
    this.validity.append(validityMask(vector, rowsSpanned(count, sel)), count, sel);
    this.length += count;
  }
  finish(): Data {
    return makeData({ type: this.type, length: this.length, ...this.validity.finish(), children: this.children.map((c) => c.finish()) });
  }
  reset(): void {
    this.length = 0;
    this.validity = new Validity();
    this.children.forEach((c) => c.reset());
  }
}

/** LIST, and MAP (a list of key/value structs in both DuckDB and Arrow). */
class ListSink implements ColumnSink {
  private offsets: number[] = [0];
  private validity = new Validity();
  constructor(
    readonly type: List | Map_,
    private readonly child: ColumnSink,
  ) {}
  append(vector: RawVector, count: number, sel?: Sel): void {
    const size = rowsSpanned(count, sel);
    const entries = duckdb.vector_get_data(vector, size * 16);
    const view = new DataView(entries.buffer, entries.byteOffset, size * 16);
    const mask = validityMask(vector, size);
    // Entries usually tile the child vector in order; otherwise (selected rows, a flattened constant
    // list, ...) the child rows are gathered entry by entry.
    const rows: number[] = [];
    let contiguous = true;
    let end = this.offsets[this.offsets.length - 1]!;
    for (let k = 0; k < count; k++) {
      const i = sel ? sel[k]! : k;
      if (isValid(mask, i)) {
        const off = Number(view.getBigUint64(i * 16, true));
        const len = Number(view.getBigUint64(i * 16 + 8, true));
        if (off !== rows.length) contiguous = false;
        for (let j = 0; j < len; j++) rows.push(off + j);
        end += len;
      }
      this.offsets.push(end);
    }
    if (rows.length > 0) {
      const childVector = duckdb.list_vector_get_child(vector);
      if (contiguous && rows.length === duckdb.list_vector_get_size(vector)) this.child.append(childVector, rows.length);
      else this.child.append(childVector, rows.length, rows);
    }
    this.validity.append(mask, count, sel);
  }
  finish(): Data {
    return makeData({
      type: this.type, length: this.offsets.length - 1, ...this.validity.finish(),
      valueOffsets: Int32Array.from(this.offsets), child: this.child.finish(),
    } as never);
  }
  reset(): void {
    this.offsets = [0];
    this.validity = new Validity();
    this.child.reset();
  }
}

/** ARRAY (fixed size n): row r owns child rows [r*n, r*n + n), null rows included, as in Arrow. */
class FixedListSink implements ColumnSink {
  readonly type: FixedSizeList;
  private length = 0;
  private validity = new Validity();
  constructor(
    private readonly size: number,
    private readonly child: ColumnSink,
  ) {
    this.type = new FixedSizeList(size, new Field('item', child.type, true));
  }
  append(vector: RawVector, count: number, sel?: Sel): void {
    const n = this.size;
    const childVector = duckdb.array_vector_get_child(vector);
    if (!sel) {
      if (count * n > 0) this.child.append(childVector, count * n);
    } else if (count * n > 0) {
      const rows: number[] = [];
      for (const r of sel) for (let j = 0; j < n; j++) rows.push(r * n + j);
      this.child.append(childVector, rows.length, rows);
    }
    this.validity.append(validityMask(vector, rowsSpanned(count, sel)), count, sel);
    this.length += count;
  }
  finish(): Data {
    return makeData({ type: this.type, length: this.length, ...this.validity.finish(), child: this.child.finish() });
  }
  reset(): void {
    this.length = 0;
    this.validity = new Validity();
    this.child.reset();
  }
}

const HISTOGRAM_FIELDS = 'start,end,min,max,sum,sum_sq,count,bins';

function makeStructSink(t: DuckDBStructType): StructSink {
  // Upstream's histogram struct names its bins list's items "bin" (reference analytics.md §2.4).
  const histogram = t.entryNames.join(',') === HISTOGRAM_FIELDS;
  const children = t.entryTypes.map((et, i) => makeSink(et, histogram && t.entryNames[i] === 'bins' ? 'bin' : 'item'));
  return new StructSink(children, children.map((c, i) => new Field(t.entryNames[i]!, c.type, true)));
}

/** A sink for a DuckDB type; `itemName` names a LIST's item field. */
function makeSink(t: DuckDBType, itemName = 'item'): ColumnSink {
  switch (t.typeId) {
    case DuckDBTypeId.BOOLEAN: return new BoolSink();
    case DuckDBTypeId.TINYINT: return new ValueSink(new Int8(), Int8Array);
    case DuckDBTypeId.SMALLINT: return new ValueSink(new Int16(), Int16Array);
    case DuckDBTypeId.INTEGER: return new ValueSink(new Int32(), Int32Array);
    case DuckDBTypeId.BIGINT: return new ValueSink(new Int64(), BigInt64Array);
    case DuckDBTypeId.UTINYINT: return new ValueSink(new Uint8(), Uint8Array);
    case DuckDBTypeId.USMALLINT: return new ValueSink(new Uint16(), Uint16Array);
    case DuckDBTypeId.UINTEGER: return new ValueSink(new Uint32(), Uint32Array);
    case DuckDBTypeId.UBIGINT: return new ValueSink(new Uint64(), BigUint64Array);
    case DuckDBTypeId.HUGEINT: return wideIntSink(true);
    case DuckDBTypeId.UHUGEINT: return wideIntSink(false);
    case DuckDBTypeId.FLOAT: return new ValueSink(new Float32(), Float32Array);
    case DuckDBTypeId.DOUBLE: return new ValueSink(new Float64(), Float64Array);
    case DuckDBTypeId.DECIMAL: return decimalSink(t as DuckDBDecimalType);
    case DuckDBTypeId.DATE: return new ValueSink(new DateDay(), Int32Array);
    case DuckDBTypeId.TIME: return new ValueSink(new TimeMicrosecond(), BigInt64Array);
    case DuckDBTypeId.TIME_NS: return new ValueSink(new TimeNanosecond(), BigInt64Array);
    case DuckDBTypeId.INTERVAL: return intervalSink();
    case DuckDBTypeId.TIMESTAMP_NS: return new ValueSink(TIMESTAMP_TYPE, BigInt64Array);
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_TZ: return timestampSink(1000n, 'µs');
    case DuckDBTypeId.TIMESTAMP_MS: return timestampSink(1_000_000n, 'ms');
    case DuckDBTypeId.TIMESTAMP_S: return timestampSink(1_000_000_000n, 's');
    case DuckDBTypeId.VARCHAR: return new BytesSink(new Utf8());
    case DuckDBTypeId.BLOB: return new BytesSink(new Binary());
    case DuckDBTypeId.UUID: return new RenderedTextSink(uuidText);
    case DuckDBTypeId.ENUM: return new RenderedTextSink(enumText(t as DuckDBEnumType));
    case DuckDBTypeId.STRUCT: return makeStructSink(t as DuckDBStructType);
    case DuckDBTypeId.LIST: {
      const child = makeSink((t as DuckDBListType).valueType);
      return new ListSink(new List(new Field(itemName, child.type, true)), child);
    }
    case DuckDBTypeId.ARRAY: return new FixedListSink((t as DuckDBArrayType).length, makeSink((t as DuckDBArrayType).valueType));
    case DuckDBTypeId.MAP: {
      const { keyType, valueType } = t as DuckDBMapType;
      const key = makeSink(keyType);
      const value = makeSink(valueType);
      // Arrow requires non-null keys, as DuckDB does.
      const entries = new StructSink([key, value], [new Field('key', key.type, false), new Field('value', value.type, true)]);
      return new ListSink(new Map_(new Field('entries', entries.type, false)), entries);
    }
    default: return new RenderedTextSink(duckText(t));
  }
}

/** Accumulates DuckDB chunks of one result and cuts them into Arrow record batches. Every field is
 * nullable: DuckDB result types carry no NOT NULL information. */
export class ChunkConverter {
  readonly schema: Schema;
  private readonly sinks: ColumnSink[];
  private rows = 0;

  constructor(names: readonly string[], types: readonly DuckDBType[]) {
    this.sinks = types.map((t) => makeSink(t));
    this.schema = new Schema(names.map((name, i) => new Field(name, this.sinks[i]!.type, true)));
  }

  get pendingRows(): number {
    return this.rows;
  }

  append(chunk: DuckDBDataChunk): void {
    const count = chunk.rowCount;
    if (count === 0) return;
    this.sinks.forEach((sink, i) => sink.append(duckdb.data_chunk_get_vector(chunk.chunk, i), count));
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
