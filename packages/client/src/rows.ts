// Arrow → plain JavaScript rows. apache-arrow's own getters turn timestamps into float milliseconds;
// here timestamps keep their precision (Date, bigint nanoseconds or RFC 3339 text with nanoseconds).
import { DataType, type RecordBatch, type Table, type Vector } from 'apache-arrow';
import { nanosToRfc3339 } from './time.ts';

export interface RowOptions {
  /** How timestamps come out: 'date' (Date, millisecond precision; default), 'nanos' (bigint since the epoch) or 'iso' (RFC 3339 UTC, 9 digits). */
  timestamps?: 'date' | 'nanos' | 'iso';
  /** 64-bit integers as 'bigint' (default) or 'number' (exact only below 2^53). */
  int64?: 'bigint' | 'number';
}

export type Row = Record<string, unknown>;

const UNIT_NANOS = [1_000_000_000n, 1_000_000n, 1_000n, 1n]; // TimeUnit SECOND, MILLISECOND, MICROSECOND, NANOSECOND

type Getter = (i: number) => unknown;

/** A getter for row i of a single-chunk vector (a batch column, or a list's child slice). */
export function valueGetter(vec: Vector, o: RowOptions = {}): Getter {
  const t = vec.type as DataType;
  const nullable = vec.nullCount > 0;
  const wrap = (g: Getter): Getter => (nullable ? (i) => (vec.isValid(i) ? g(i) : null) : g);
  if (DataType.isTimestamp(t)) {
    const data = vec.data[0];
    if (!data) return () => null;
    const values = data.values as unknown as BigInt64Array;
    const mul = UNIT_NANOS[t.unit]!;
    const mode = o.timestamps ?? 'date';
    return wrap((i) => {
      const ns = BigInt(values[i]!) * mul;
      return mode === 'nanos' ? ns : mode === 'iso' ? nanosToRfc3339(ns) : new Date(Number(ns / 1_000_000n));
    });
  }
  if (DataType.isInt(t) && t.bitWidth === 64 && o.int64 === 'number') return wrap((i) => Number(vec.get(i)));
  if (DataType.isList(t) || DataType.isFixedSizeList(t)) {
    return wrap((i) => {
      const child = vec.get(i) as Vector;
      const g = valueGetter(child, o);
      return Array.from({ length: child.length }, (_, k) => g(k));
    });
  }
  if (DataType.isStruct(t)) {
    const fields = t.children.map((f, k) => [f.name, valueGetter(vec.getChildAt(k)!, o)] as const);
    return wrap((i) => Object.fromEntries(fields.map(([name, g]) => [name, g(i)])));
  }
  if (DataType.isMap(t)) {
    // A MapRow iterates as [key, value] entries.
    return wrap((i) => Object.fromEntries([...(vec.get(i) as unknown as Iterable<[unknown, unknown]>)].map(([k, v]) => [String(k), v])));
  }
  return (i) => {
    const v = vec.get(i);
    return v === undefined ? null : v;
  };
}

/** The rows of one batch as plain objects. */
export function* batchRows(batch: RecordBatch, o: RowOptions = {}): Generator<Row> {
  const getters = batch.schema.fields.map((f, k) => [f.name, valueGetter(batch.getChildAt(k)!, o)] as const);
  for (let i = 0; i < batch.numRows; i++) {
    const row: Row = {};
    for (const [name, g] of getters) row[name] = g(i);
    yield row;
  }
}

/** Every row of a table (or of batches) as plain objects. */
export function* tableRows(table: Table | Iterable<RecordBatch>, o: RowOptions = {}): Generator<Row> {
  const batches = 'batches' in table ? table.batches : table;
  for (const b of batches) yield* batchRows(b, o);
}

export function toRows(table: Table | Iterable<RecordBatch>, o: RowOptions = {}): Row[] {
  return [...tableRows(table, o)];
}
