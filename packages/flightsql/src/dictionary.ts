// The `preserve_dictionary` header (reference analytics.md §1.4, §4.3): upstream then sends
// dictionary-encoded columns as dictionaries instead of hydrating them. DuckDB hands results over
// as plain strings, so we rebuild the dictionaries: a string column whose first batch repeats values
// (at most one distinct value per two rows) goes out as Dictionary(Int32, Utf8) in every batch, each
// batch carrying its own dictionary (IPC replacement dictionaries, as arrow-rs's Resend handling).
import {
  Data, Dictionary, Field, Int32, makeData, RecordBatch, Schema, Struct, Utf8, vectorFromArray, type DataType, type Vector,
} from 'apache-arrow';
import type { QueryResult } from '@micromegas/analytics';

/** Whether a string column of the first batch repeats enough to be worth a dictionary. */
function repeats(column: Vector, rows: number): boolean {
  if (rows < 2) return false;
  const seen = new Set<string>();
  for (let i = 0; i < rows; i++) {
    const v = column.get(i) as string | null;
    if (v !== null) seen.add(v);
    if (seen.size * 2 > rows) return false;
  }
  return true;
}

/** One string column as a dictionary of its distinct values, nulls kept. */
function encodeColumn(column: Vector, type: Dictionary<Utf8, Int32>): Data<Dictionary<Utf8, Int32>> {
  const length = column.length;
  const indices = new Int32Array(length);
  const ids = new Map<string, number>();
  const values: string[] = [];
  let nullCount = 0;
  let nullBitmap: Uint8Array | undefined;
  for (let i = 0; i < length; i++) {
    const v = column.get(i) as string | null;
    if (v === null) {
      nullBitmap ??= new Uint8Array(Math.ceil(length / 8)).fill(0xff);
      nullBitmap[i >> 3]! &= ~(1 << (i & 7));
      nullCount++;
      continue;
    }
    let id = ids.get(v);
    if (id === undefined) {
      id = values.length;
      ids.set(v, id);
      values.push(v);
    }
    indices[i] = id;
  }
  const dictionary = vectorFromArray(values, new Utf8());
  return makeData({ type, length, nullCount, nullBitmap, data: indices, dictionary });
}

/** The result with repeating string columns dictionary-encoded (decided on the first batch). */
export async function preserveDictionaries(result: QueryResult): Promise<QueryResult> {
  const iterator = result.batches[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) return { schema: result.schema, batches: (async function* () {})() };
  const batch0 = first.value;
  let nextId = 0;
  const encoded = new Map<number, Dictionary<Utf8, Int32>>();
  result.schema.fields.forEach((f, i) => {
    if (f.type instanceof Utf8 && repeats(batch0.getChildAt(i)!, batch0.numRows)) encoded.set(i, new Dictionary(new Utf8(), new Int32(), nextId++));
  });
  const schema = encoded.size === 0
    ? result.schema
    : new Schema(result.schema.fields.map((f, i) => (encoded.has(i) ? new Field(f.name, encoded.get(i)!, f.nullable, f.metadata) : f)), result.schema.metadata);
  const convert = (batch: RecordBatch): RecordBatch => {
    if (encoded.size === 0) return batch;
    const children = result.schema.fields.map((_f, i) => {
      const type = encoded.get(i);
      const column = batch.getChildAt(i)!;
      return type ? encodeColumn(column, type) : (column.data[0] as Data<DataType>);
    });
    return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: batch.numRows, nullCount: 0, children }));
  };
  async function* batches(): AsyncGenerator<RecordBatch> {
    try {
      yield convert(batch0);
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield convert(next.value);
    } finally {
      await iterator.return?.(); // a cancelled stream releases the engine's resources
    }
  }
  return { schema, batches: batches() };
}
