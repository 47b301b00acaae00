// async_events rows (reference analytics.md §1.4.8): one row per async span begin/end event of the
// process's cpu streams; pairing events into spans is left to SQL.
import { Dictionary, Field, Int32, Int64, Schema, TimeUnit, Timestamp, Uint32, Utf8, type RecordBatch } from 'apache-arrow';
import { TransitObject, type TransitValue } from '@micromegas/transit';
import type { BlockMeta, StreamMeta } from '../metadata.ts';
import type { ConvertTicks } from '../time.ts';
import { BigCol, F64Col, I32Col, StringDict, dictData, makeBatch, primData, tickDelta, toI64 } from './columns.ts';
import { EventScopeResolver, ScopeTable } from './scope_hash.ts';

const dictUtf8 = () => new Dictionary(new Utf8(), new Int32());

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

const BEGIN = 0;
const END = 1;

function member<T extends 'bigint' | 'number'>(o: TransitObject, name: string, type: T): T extends 'bigint' ? bigint : number {
  const v = o.members.get(name);
  if (typeof v !== type) throw new Error(`reading ${o.typeName}: member ${name} is not a ${type === 'bigint' ? '64-bit' : '32-bit'} integer`);
  return v as never;
}

export function buildAsyncEvents(input: AsyncEventsInput): RecordBatch {
  const { convert, blocks } = input;
  const scopes = new ScopeTable(false);
  const resolver = new EventScopeResolver(scopes);
  const streamDict = new StringDict();
  const blockDict = new StringDict();
  const streams = new I32Col();
  const blockIds = new I32Col();
  const times = new F64Col();
  const types = new I32Col();
  const spanIds = new BigCol();
  const parentIds = new BigCol();
  const depths = new I32Col();
  const scopeIdx = new I32Col();
  const tickOffset = convert.tickOffset;
  const tickOffsetNumber = Number(tickOffset);
  for (const { block, stream, objects } of blocks) {
    resolver.nextBlock();
    const streamId = streamDict.id(stream.streamId);
    const blockId = blockDict.id(block.blockId);
    const n = objects.length;
    for (let i = 0; i < n; i++) {
      const o = objects[i];
      if (!(o instanceof TransitObject)) continue;
      const m = o.members;
      let scope: number;
      let type: number;
      switch (o.typeName) {
        case 'BeginAsyncSpanEvent':
          scope = resolver.fromDesc(m.get('span_desc'), o.typeName);
          type = BEGIN;
          break;
        case 'EndAsyncSpanEvent':
          scope = resolver.fromDesc(m.get('span_desc'), o.typeName);
          type = END;
          break;
        case 'BeginAsyncNamedSpanEvent':
          scope = resolver.fromLocation(m.get('span_location'), m.get('name'), o.typeName);
          type = BEGIN;
          break;
        case 'EndAsyncNamedSpanEvent':
          scope = resolver.fromLocation(m.get('span_location'), m.get('name'), o.typeName);
          type = END;
          break;
        default:
          continue;
      }
      streams.push(streamId);
      blockIds.push(blockId);
      times.push(convert.deltaNumberToOffsetNs(tickDelta(member(o, 'time', 'bigint'), tickOffset, tickOffsetNumber)));
      types.push(type);
      // BigInt64Array stores u64 ids modulo 2^64, i.e. reinterpreted as i64 like upstream's `as i64`
      spanIds.push(member(o, 'span_id', 'bigint'));
      parentIds.push(member(o, 'parent_span_id', 'bigint'));
      depths.push(member(o, 'depth', 'number'));
      scopeIdx.push(scope);
    }
  }

  const n = times.n;
  const table = scopes.scopes;
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
  const sc = scopeIdx.a;
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
      dictData(f[0]!.type, streamDict, streams.a, n),
      dictData(f[1]!.type, blockDict, blockIds.a, n),
      primData(f[2]!.type, toI64(times.a, n, convert.processStartNs), n),
      dictData(f[3]!.type, eventTypes, types.a, n),
      primData(f[4]!.type, spanIds.a, n),
      primData(f[5]!.type, parentIds.a, n),
      primData(f[6]!.type, new Uint32Array(depths.a.buffer, 0, n), n),
      primData(f[7]!.type, hashes, n),
      dictData(f[8]!.type, names, nameIdx, n),
      dictData(f[9]!.type, filenames, fileIdx, n),
      dictData(f[10]!.type, targets, targetIdx, n),
      primData(f[11]!.type, lines, n),
    ],
    n,
  );
}
