// Assembling Arrow record batches from column Data, checked against the view's schema.
import { makeData, RecordBatch, Schema, Struct, type Data } from 'apache-arrow';

export function makeBatch(schema: Schema, columns: Data[]): RecordBatch {
  if (columns.length !== schema.fields.length) throw new Error(`batch has ${columns.length} columns, schema ${schema.fields.length}`);
  const length = columns[0]?.length ?? 0;
  columns.forEach((c, i) => {
    if (c.length !== length) throw new Error(`column ${schema.fields[i]!.name} has ${c.length} rows, expected ${length}`);
  });
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length, children: columns, nullCount: 0 }));
}

export function emptyBatch(schema: Schema): RecordBatch {
  return new RecordBatch(schema);
}
