// images rows from transit image streams (reference analytics.md §1.4.11): one row per ImageEvent,
// with the picture's bytes.
import { Binary, Schema, Utf8 } from 'apache-arrow';
import { TransitObject, type TransitValue } from '@micromegas/transit';
import { BytesColumn, DictStringColumn, Int64Column, releaseColumns } from '../arrow/builders.ts';
import { makeBatch } from '../arrow/batch.ts';
import { binary, dictUtf8, field, int64, timestampNs, utf8 } from '../arrow/types.ts';
import type { BlockWithContext } from '../metadata.ts';
import type { ConvertTicks } from '../time.ts';
import type { BuiltRows } from './log_entries.ts';
import { ProcessBlockColumns, processBlockFields } from './process_columns.ts';
import { fail } from './transit_reader.ts';

export const IMAGES_SCHEMA_HASH = Uint8Array.of(2);

export const imagesSchema = new Schema([
  ...processBlockFields(),
  field('time', timestampNs()),
  field('name', utf8()),
  field('format', dictUtf8()),
  field('payload_size', int64()),
  field('data', binary()),
]);

export class ImagesBuilder {
  private readonly common = new ProcessBlockColumns();
  private readonly time = new Int64Column();
  private readonly name = new BytesColumn();
  private readonly format = new DictStringColumn();
  private readonly size = new Int64Column();
  private readonly data = new BytesColumn();
  rows = 0;

  /** Adds the ImageEvents of one decoded block; other objects are ignored. */
  addBlock(ctx: BlockWithContext, objects: readonly TransitValue[], convert: ConvertTicks): number {
    const images: TransitObject[] = [];
    for (const o of objects) {
      if (!(o instanceof TransitObject) || o.typeName !== 'ImageEvent') continue;
      const { time, name, format, data } = { time: o.get('time'), name: o.get('name'), format: o.get('format'), data: o.get('data') };
      if (typeof time !== 'bigint' || typeof name !== 'string' || typeof format !== 'string' || !(data instanceof Uint8Array)) fail('ImageEvent has unexpected members');
      images.push(o);
    }
    for (const o of images) {
      const data = o.get('data') as Uint8Array;
      this.time.push(convert.ticksToNanos(o.get('time') as bigint));
      this.name.pushString(o.get('name') as string);
      this.format.push(o.get('format') as string);
      this.size.push(BigInt(data.length));
      this.data.pushBytes(data);
    }
    this.common.fill(ctx, images.length);
    this.rows += images.length;
    return images.length;
  }

  finish(): BuiltRows {
    const batch = makeBatch(imagesSchema, [
      ...this.common.leading(),
      this.time.finish(timestampNs()),
      this.name.finish(new Utf8()),
      this.format.finish(),
      this.size.finish(int64()),
      this.data.finish(new Binary()),
    ]);
    const { min, max } = this.time.range();
    const columns = [...this.common.columns(), this.time, this.name, this.format, this.size, this.data];
    return { batch, minTimeNs: min, maxTimeNs: max, rows: this.rows, release: () => releaseColumns(columns) };
  }
}
