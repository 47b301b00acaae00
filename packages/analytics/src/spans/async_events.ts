// async_events rows (reference analytics.md §1.4.8): one row per async span begin/end event of the
// process's cpu streams; pairing events into spans is left to SQL.
import { Dictionary, Field, Int32, Int64, Schema, TimeUnit, Timestamp, Uint32, Utf8, type RecordBatch } from 'apache-arrow';
import { TransitObject, type TransitValue } from '@micromegas/transit';
import type { BlockMeta, StreamMeta } from '../metadata.ts';
import type { ConvertTicks } from '../time.ts';
import { BigCol, F64Col, I32Col, StringDict, dictData, makeBatch, primData, tickDelta, toI64 } from './columns.ts';
import { EventScopeResolver, ScopeTable, spanEventScope } from './scope_hash.ts';

const dictUtf8 = () => new Dictionary(new Utf8(), new Int32());

/** Version of the async_events file schema, recorded with every partition. */
export const ASYNC_EVENTS_SCHEMA_HASH = Uint8Array.of(3);

export const asyncEventsSchema = new Schema([
  new Field('stream_id', dictUtf8(), false),
  new Field('block_id', dictUtf8(), false),
  new Field('time', new Timestamp(TimeUnit.NANOSECOND), false),
  new Field('event_type', dictUtf8(), false),
  new Field('span_id', new Int64(), false),
  new Field('parent_span_id', new Int64(), false),
  new Field('depth', new Uint32(), false),
  new Field('hash', new Uint32(), false),
  new Field('name', dictUtf8(), false),
  new Field('filename', dictUtf8(), false),
  new Field('target', dictUtf8(), false),
  new Field('line', new Uint32(), false),
]);

export interface AsyncEventsInput {
  convert: ConvertTicks;
  blocks: { block: BlockMeta; stream: Pick<StreamMeta, 'streamId'>; objects: TransitValue[] }[];
}

export const BEGIN = 0;
export const END = 1;

function member<T extends 'bigint' | 'number'>(o: TransitObject, name: string, type: T): T extends 'bigint' ? bigint : number {
  const v = o.members.get(name);
  if (typeof v !== type) throw new Error(`reading ${o.typeName}: member ${name} is not a ${type === 'bigint' ? '64-bit' : '32-bit'} integer`);
  return v as never;
}

/** async_events rows as columns; `scopes` indexes a ScopeTable without hash merging. */
export class AsyncRows {
  readonly scopes = new ScopeTable(false);
  readonly streamDict = new StringDict();
  readonly blockDict = new StringDict();
  readonly streams: I32Col;
  readonly blockIds: I32Col;
  /** ns offsets from the process start */
  readonly times: F64Col;
  readonly types: I32Col;
  readonly spanIds: BigCol;
  readonly parentIds: BigCol;
  readonly depths: I32Col;
  readonly scopeIdx: I32Col;

  constructor(capacity = 1024) {
    this.streams = new I32Col(capacity);
    this.blockIds = new I32Col(capacity);
    this.times = new F64Col(capacity);
    this.types = new I32Col(capacity);
    this.spanIds = new BigCol(capacity);
    this.parentIds = new BigCol(capacity);
    this.depths = new I32Col(capacity);
    this.scopeIdx = new I32Col(capacity);
  }

  toBatch(processStartNs: bigint): RecordBatch {
    const n = this.times.n;
    const table = this.scopes.scopes;
    const names = new StringDict();
    const filenames = new StringDict();
    const targets = new StringDict();
    const nameOf = new Int32Array(table.length);
    const fileOf = new Int32Array(table.length);
    const targetOf = new Int32Array(table.length);
    for (let s = 0; s < table.length; s++) {
      nameOf[s] = names.id(table[s]!.name);
      fileOf[s] = filenames.id(table[s]!.filename);
      targetOf[s] = targets.id(table[s]!.target);
    }
    const nameIdx = new Int32Array(n);
    const fileIdx = new Int32Array(n);
    const targetIdx = new Int32Array(n);
    const hashes = new Uint32Array(n);
    const lines = new Uint32Array(n);
    const sc = this.scopeIdx.a;
    for (let i = 0; i < n; i++) {
      const s = sc[i]!;
      nameIdx[i] = nameOf[s]!;
      fileIdx[i] = fileOf[s]!;
      targetIdx[i] = targetOf[s]!;
      hashes[i] = table[s]!.hash;
      lines[i] = table[s]!.line;
    }
    const eventTypes = new StringDict();
    eventTypes.id('begin');
    eventTypes.id('end');
    const f = asyncEventsSchema.fields;
    return makeBatch(
      asyncEventsSchema,
      [
        dictData(f[0]!.type, this.streamDict, this.streams.a, n),
        dictData(f[1]!.type, this.blockDict, this.blockIds.a, n),
        primData(f[2]!.type, toI64(this.times.a, n, processStartNs), n),
        dictData(f[3]!.type, eventTypes, this.types.a, n),
        primData(f[4]!.type, this.spanIds.a, n),
        primData(f[5]!.type, this.parentIds.a, n),
        primData(f[6]!.type, new Uint32Array(this.depths.a.buffer, 0, n), n),
        primData(f[7]!.type, hashes, n),
        dictData(f[8]!.type, names, nameIdx, n),
        dictData(f[9]!.type, filenames, fileIdx, n),
        dictData(f[10]!.type, targets, targetIdx, n),
        primData(f[11]!.type, lines, n),
      ],
      n,
    );
  }
}

/** Appends one block's async span events (decoded objects) to `rows`. */
export function parseAsyncBlock(rows: AsyncRows, resolver: EventScopeResolver, convert: ConvertTicks, streamId: number, blockId: number, objects: TransitValue[]): void {
  resolver.nextBlock();
  const tickOffset = convert.tickOffset;
  const tickOffsetNumber = Number(tickOffset);
  const n = objects.length;
  for (let i = 0; i < n; i++) {
    const o = objects[i];
    if (!(o instanceof TransitObject)) continue;
    const event = spanEventScope(o, resolver, 'async');
    if (!event) continue;
    const { scope } = event;
    const type = event.begin ? BEGIN : END;
    rows.streams.push(streamId);
    rows.blockIds.push(blockId);
    rows.times.push(convert.deltaNumberToOffsetNs(tickDelta(member(o, 'time', 'bigint'), tickOffset, tickOffsetNumber)));
    rows.types.push(type);
    // BigInt64Array stores u64 ids modulo 2^64, i.e. reinterpreted as i64 like upstream's `as i64`
    rows.spanIds.push(member(o, 'span_id', 'bigint'));
    rows.parentIds.push(member(o, 'parent_span_id', 'bigint'));
    rows.depths.push(member(o, 'depth', 'number'));
    rows.scopeIdx.push(scope);
  }
}

export function buildAsyncEvents(input: AsyncEventsInput): RecordBatch {
  const { convert, blocks } = input;
  const rows = new AsyncRows();
  const resolver = new EventScopeResolver(rows.scopes);
  for (const { block, stream, objects } of blocks) {
    parseAsyncBlock(rows, resolver, convert, rows.streamDict.id(stream.streamId), rows.blockDict.id(block.blockId), objects);
  }
  return rows.toBatch(convert.processStartNs);
}
