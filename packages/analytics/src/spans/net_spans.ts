// net_spans rows (reference analytics.md §1.4.9, upstream net_span_tree.rs): Unreal network traffic
// as a tree of connection > object/rpc > property spans, with bit offsets inside the parent. One
// builder per contiguous chain of blocks; unmatched ends are skipped and unclosed spans dropped.
import { Bool, Dictionary, Field, Int32, Int64, Schema, TimeUnit, Timestamp, Uint32, Utf8, type RecordBatch } from 'apache-arrow';
import { TransitObject, type TransitValue } from '@micromegas/transit';
import type { BlockMeta, StreamMeta } from '../metadata.ts';
import type { ConvertTicks, Nanos } from '../time.ts';
import { groupContiguousBlockChains } from './call_tree.ts';
import { F64Col, I32Col, StringDict, boolData, dictData, makeBatch, primData, tickDelta, toI64 } from './columns.ts';

/** parent_span_id of connection roots and of spans opened with nothing open. */
export const ROOT_PARENT_SPAN_ID = -1;

const dictUtf8 = () => new Dictionary(new Utf8(), new Int32());
const timestampNs = () => new Timestamp(TimeUnit.NANOSECOND);

/** Version of the net_spans file schema, recorded with every partition. */
export const NET_SPANS_SCHEMA_HASH = Uint8Array.of(2);

export const netSpansSchema = new Schema([
  new Field('process_id', dictUtf8(), false),
  new Field('stream_id', dictUtf8(), false),
  new Field('span_id', new Int64(), false),
  new Field('parent_span_id', new Int64(), false),
  new Field('depth', new Uint32(), false),
  new Field('kind', dictUtf8(), false),
  new Field('name', dictUtf8(), false),
  new Field('connection_name', dictUtf8(), false),
  new Field('is_outgoing', new Bool(), false),
  new Field('begin_bits', new Int64(), false),
  new Field('end_bits', new Int64(), false),
  new Field('bit_size', new Int64(), false),
  new Field('begin_time', timestampNs(), false),
  new Field('end_time', timestampNs(), false),
]);

const Kind = { Connection: 0, Object: 1, Property: 2, Rpc: 3 } as const;
type Kind = (typeof Kind)[keyof typeof Kind];
const KIND_NAMES = ['connection', 'object', 'property', 'rpc'];

interface OpenSpan {
  spanId: number;
  parentSpanId: number;
  depth: number;
  kind: Kind;
  name: number;
  connectionName: number;
  isOutgoing: boolean;
  beginNs: number;
  /** Bits consumed by this span's already-closed children. */
  childBits: number;
}

class NetRows {
  readonly names = new StringDict();
  readonly spanIds = new F64Col();
  readonly parentIds = new F64Col();
  readonly depths = new I32Col();
  readonly kinds = new I32Col();
  readonly nameIdx = new I32Col();
  readonly connIdx = new I32Col();
  readonly outgoing = new I32Col();
  readonly beginBits = new F64Col();
  readonly endBits = new F64Col();
  readonly bitSizes = new F64Col();
  readonly begins = new F64Col();
  readonly ends = new F64Col();
  minNs = Infinity;
  maxNs = -Infinity;

  push(spanId: number, parent: number, depth: number, kind: Kind, name: number, conn: number, out: boolean, beginBits: number, bitSize: number, beginNs: number, endNs: number): void {
    this.spanIds.push(spanId);
    this.parentIds.push(parent);
    this.depths.push(depth);
    this.kinds.push(kind);
    this.nameIdx.push(name);
    this.connIdx.push(conn);
    this.outgoing.push(out ? 1 : 0);
    this.beginBits.push(beginBits);
    this.endBits.push(beginBits + bitSize);
    this.bitSizes.push(bitSize);
    this.begins.push(beginNs);
    this.ends.push(endNs);
    if (beginNs < this.minNs) this.minNs = beginNs;
    if (endNs > this.maxNs) this.maxNs = endNs;
  }
}

/** One chain's open-span stack; times are ns offsets from the process start. */
class NetSpanTreeBuilder {
  private readonly stack: OpenSpan[] = [];
  private readonly emptyName: number;

  constructor(private readonly rows: NetRows) {
    this.emptyName = rows.names.id('');
  }

  private push(eventId: number, kind: Kind, name: number, timeNs: number): void {
    const s = this.stack;
    const top = s[s.length - 1];
    const root = s[0];
    s.push({
      spanId: eventId,
      parentSpanId: top === undefined ? ROOT_PARENT_SPAN_ID : top.spanId,
      depth: top === undefined ? 0 : top.depth + 1,
      kind,
      name,
      connectionName: root === undefined ? this.emptyName : root.connectionName,
      isOutgoing: root === undefined ? false : root.isOutgoing,
      beginNs: timeNs,
      childBits: 0,
    });
  }

  connectionBegin(eventId: number, timeNs: number, connectionName: string, isOutgoing: boolean): void {
    const name = this.rows.names.id(connectionName);
    this.stack.push({ spanId: eventId, parentSpanId: ROOT_PARENT_SPAN_ID, depth: 0, kind: Kind.Connection, name, connectionName: name, isOutgoing, beginNs: timeNs, childBits: 0 });
  }

  objectBegin(eventId: number, timeNs: number, objectName: string): void {
    this.push(eventId, Kind.Object, this.rows.names.id(objectName), timeNs);
  }

  rpcBegin(eventId: number, timeNs: number, functionName: string): void {
    this.push(eventId, Kind.Rpc, this.rows.names.id(functionName), timeNs);
  }

  property(eventId: number, timeNs: number, propertyName: string, bitSize: number): void {
    const s = this.stack;
    const top = s[s.length - 1];
    const root = s[0];
    this.rows.push(
      eventId,
      top === undefined ? ROOT_PARENT_SPAN_ID : top.spanId,
      top === undefined ? 0 : top.depth + 1,
      Kind.Property,
      this.rows.names.id(propertyName),
      root === undefined ? this.emptyName : root.connectionName,
      root === undefined ? false : root.isOutgoing,
      top === undefined ? 0 : top.childBits,
      bitSize,
      timeNs,
      timeNs,
    );
    if (top !== undefined) top.childBits += bitSize;
  }

  /** Ends the top span if it is of the expected kind; otherwise the end is skipped (bits unattributable). */
  close(kind: Kind, timeNs: number, bitSize: number): void {
    const s = this.stack;
    const top = s[s.length - 1];
    if (top === undefined || top.kind !== kind) return;
    s.pop();
    const parent = s[s.length - 1];
    const root = s.length > 0 ? s[0]! : top;
    this.rows.push(top.spanId, top.parentSpanId, top.depth, top.kind, top.name, root.connectionName, root.isOutgoing, parent === undefined ? 0 : parent.childBits, bitSize, top.beginNs, timeNs);
    if (parent !== undefined) parent.childBits += bitSize;
  }
}

export interface NetSpansInput {
  processId: string;
  stream: Pick<StreamMeta, 'streamId'>;
  convert: ConvertTicks;
  /** Blocks of one net stream in event order, with their decoded objects. */
  blocks: { block: BlockMeta; objects: TransitValue[] }[];
}

export interface NetSpansOutput {
  batch: RecordBatch;
  /** Rows' min begin_time / max end_time, or the blocks' converted tick range without rows. */
  minTimeNs: Nanos;
  maxTimeNs: Nanos;
}

function get(o: TransitObject, member: string, type: 'bigint' | 'number' | 'string'): never {
  const v = o.members.get(member);
  if (typeof v !== type) throw new Error(`${o.typeName}.${member}: expected a ${type}`);
  return v as never;
}

export function buildNetSpans(input: NetSpansInput): NetSpansOutput {
  const { convert, blocks } = input;
  const rows = new NetRows();
  const tickOffset = convert.tickOffset;
  const tickOffsetNumber = Number(tickOffset);
  const timeOf = (o: TransitObject) => convert.deltaNumberToOffsetNs(tickDelta(get(o, 'time', 'bigint'), tickOffset, tickOffsetNumber));
  for (const chain of groupContiguousBlockChains(blocks)) {
    const builder = new NetSpanTreeBuilder(rows);
    for (const { block, objects } of chain) {
      const base = Number(block.objectOffset);
      for (let i = 0; i < objects.length; i++) {
        const o = objects[i];
        if (!(o instanceof TransitObject)) continue;
        const id = base + i;
        switch (o.typeName) {
          case 'NetConnectionBeginEvent':
            builder.connectionBegin(id, timeOf(o), get(o, 'connection_name', 'string'), get(o, 'is_outgoing', 'number') !== 0);
            break;
          case 'NetConnectionEndEvent':
            builder.close(Kind.Connection, timeOf(o), get(o, 'bit_size', 'number'));
            break;
          case 'NetObjectBeginEvent':
            builder.objectBegin(id, timeOf(o), get(o, 'object_name', 'string'));
            break;
          case 'NetObjectEndEvent':
            builder.close(Kind.Object, timeOf(o), get(o, 'bit_size', 'number'));
            break;
          case 'NetPropertyEvent':
            builder.property(id, timeOf(o), get(o, 'property_name', 'string'), get(o, 'bit_size', 'number'));
            break;
          case 'NetRPCBeginEvent':
            builder.rpcBegin(id, timeOf(o), get(o, 'function_name', 'string'));
            break;
          case 'NetRPCEndEvent':
            builder.close(Kind.Rpc, timeOf(o), get(o, 'bit_size', 'number'));
            break;
          default:
            break;
        }
      }
    }
  }

  const n = rows.spanIds.n;
  const base = convert.processStartNs;
  let minTimeNs: Nanos;
  let maxTimeNs: Nanos;
  if (n > 0) {
    minTimeNs = base + BigInt(rows.minNs);
    maxTimeNs = base + BigInt(rows.maxNs);
  } else {
    let lo: bigint | undefined;
    let hi: bigint | undefined;
    for (const { block } of blocks) {
      if (lo === undefined || block.beginTicks < lo) lo = block.beginTicks;
      if (hi === undefined || block.endTicks > hi) hi = block.endTicks;
    }
    minTimeNs = convert.deltaTicksToNanos(lo ?? 0n);
    maxTimeNs = convert.deltaTicksToNanos(hi ?? 0n);
  }

  const processDict = new StringDict();
  processDict.id(input.processId);
  const streamDict = new StringDict();
  streamDict.id(input.stream.streamId);
  const kindDict = new StringDict();
  for (const k of KIND_NAMES) kindDict.id(k);
  const zeros = new Int32Array(n);
  const outgoing = new Uint8Array(n);
  for (let i = 0; i < n; i++) outgoing[i] = rows.outgoing.a[i]!;
  const f = netSpansSchema.fields;
  const batch = makeBatch(
    netSpansSchema,
    [
      dictData(f[0]!.type, processDict, zeros, n),
      dictData(f[1]!.type, streamDict, zeros, n),
      primData(f[2]!.type, toI64(rows.spanIds.a, n), n),
      primData(f[3]!.type, toI64(rows.parentIds.a, n), n),
      primData(f[4]!.type, new Uint32Array(rows.depths.a.buffer, 0, n), n),
      dictData(f[5]!.type, kindDict, rows.kinds.a, n),
      dictData(f[6]!.type, rows.names, rows.nameIdx.a, n),
      dictData(f[7]!.type, rows.names, rows.connIdx.a, n),
      boolData(f[8]!.type, outgoing, n),
      primData(f[9]!.type, toI64(rows.beginBits.a, n), n),
      primData(f[10]!.type, toI64(rows.endBits.a, n), n),
      primData(f[11]!.type, toI64(rows.bitSizes.a, n), n),
      primData(f[12]!.type, toI64(rows.begins.a, n, base), n),
      primData(f[13]!.type, toI64(rows.ends.a, n, base), n),
    ],
    n,
  );
  return { batch, minTimeNs, maxTimeNs };
}
