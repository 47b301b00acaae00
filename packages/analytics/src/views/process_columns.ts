// Columns that repeat one block's process/stream/block identity on each of its rows (log_entries,
// measures): filled once per block with a run of the same dictionary index.
import { DictBinaryColumn, DictStringColumn, Int64Column, type Releasable } from '../arrow/builders.ts';
import { encodeJsonbStringMap } from '../jsonb.ts';
import type { BlockWithContext } from '../metadata.ts';
import { timestampNs } from '../arrow/types.ts';

/** The leading identity fields of log_entries, measures and images, in their schema order. */
export function processBlockFields(): Field[] {
  return [
    field('process_id', dictUtf8()),
    field('stream_id', dictUtf8()),
    field('block_id', dictUtf8()),
    field('insert_time', timestampNs()),
    field('exe', dictUtf8()),
    field('username', dictUtf8()),
    field('computer', dictUtf8()),
  ];
}
import type { Data, Field } from 'apache-arrow';
import { dictUtf8, field } from '../arrow/types.ts';

export function propertiesKey(entries: Iterable<[string, string]>): string {
  return JSON.stringify([...entries].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
}

/** Dictionary key of a JSONB blob interned by content: its bytes as latin1 text after a NUL, which no JSON key starts with. */
export function jsonbKey(bytes: Uint8Array): string {
  return '\u0000' + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

export class JsonbPropertiesColumn extends DictBinaryColumn {
  idFor(entries: [string, string][]): number {
    const sorted = [...entries].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return this.id(JSON.stringify(sorted), () => encodeJsonbStringMap(sorted));
  }
  idForMap(map: ReadonlyMap<string, string>): number {
    return this.idFor([...map]);
  }
}

export class ProcessBlockColumns {
  readonly processId = new DictStringColumn();
  readonly streamId = new DictStringColumn();
  readonly blockId = new DictStringColumn();
  readonly insertTime = new Int64Column();
  readonly exe = new DictStringColumn();
  readonly username = new DictStringColumn();
  readonly computer = new DictStringColumn();
  readonly processProperties = new JsonbPropertiesColumn();

  columns(): Releasable[] {
    return [this.processId, this.streamId, this.blockId, this.exe, this.username, this.computer, this.processProperties, this.insertTime];
  }

  reserve(rows: number): void {
    for (const c of [this.processId, this.streamId, this.blockId, this.exe, this.username, this.computer, this.processProperties]) c.reserve(rows);
    this.insertTime.reserve(rows);
  }

  /** Repeats the block's identity on `count` new rows. */
  fill(ctx: BlockWithContext, count: number): void {
    if (count === 0) return;
    const { block, process } = ctx;
    this.processId.fillId(this.processId.id(process.processId), count);
    this.streamId.fillId(this.streamId.id(block.streamId), count);
    this.blockId.fillId(this.blockId.id(block.blockId), count);
    this.insertTime.fill(block.insertTimeNs, count);
    this.exe.fillId(this.exe.id(process.exe), count);
    this.username.fillId(this.username.id(process.username), count);
    this.computer.fillId(this.computer.id(process.computer), count);
    this.processProperties.fillId(this.processProperties.idForMap(process.properties), count);
  }

  /** Leading identity columns: process_id, stream_id, block_id, insert_time, exe, username, computer. */
  leading(): Data[] {
    return [this.processId.finish(), this.streamId.finish(), this.blockId.finish(), this.insertTime.finish(timestampNs()), this.exe.finish(), this.username.finish(), this.computer.finish()];
  }
}
