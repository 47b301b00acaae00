// thread_spans rows of one cpu stream (reference analytics.md §1.4.7): one call tree per contiguous
// chain of blocks, emitted depth-first pre-order.
import { Dictionary, Field, Int32, Int64, Schema, TimeUnit, Timestamp, Uint32, Utf8, type RecordBatch } from 'apache-arrow';
import { TransitObject, type TransitValue } from '@micromegas/transit';
import type { BlockMeta, StreamMeta } from '../metadata.ts';
import type { ConvertTicks, Nanos } from '../time.ts';
import { CallTreeBuilder, SpanRows, groupContiguousBlockChains, threadNameFromStream } from './call_tree.ts';
import { StringDict, dictData, makeBatch, primData, tickDelta, toI64 } from './columns.ts';
import { EventScopeResolver, ScopeTable, spanEventScope } from './scope_hash.ts';

const dictUtf8 = () => new Dictionary(new Utf8(), new Int32());
const timestampNs = () => new Timestamp(TimeUnit.NANOSECOND);

/** Version of the thread_spans file schema, recorded with every partition. */
export const THREAD_SPANS_SCHEMA_HASH = Uint8Array.of(3);

export const threadSpansSchema = new Schema([
  new Field('id', new Int64(), false),
  new Field('parent', new Int64(), false),
  new Field('depth', new Uint32(), false),
  new Field('hash', new Uint32(), false),
  new Field('begin', timestampNs(), false),
  new Field('end', timestampNs(), false),
  new Field('duration', new Int64(), false),
  new Field('name', dictUtf8(), false),
  new Field('target', dictUtf8(), false),
  new Field('filename', dictUtf8(), false),
  new Field('line', new Uint32(), false),
]);

export interface ThreadSpansInput {
  stream: StreamMeta;
  convert: ConvertTicks;
  /** Blocks of the stream in event order (begin_ticks, end_ticks), with their decoded objects. */
  blocks: { block: BlockMeta; objects: TransitValue[] }[];
}

export interface ThreadSpansOutput {
  batch: RecordBatch;
  /** Converted min(begin_ticks) / max(end_ticks) of the blocks: the partition's event range. */
  minBeginNs: Nanos;
  maxEndNs: Nanos;
  /** `begin` of the last row (rows are non-decreasing in begin), null without rows. */
  maxSortKeyTimeNs: Nanos | null;
}

export class BeginRegressionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BeginRegressionError';
  }
}

function eventTime(o: TransitObject, what: string): bigint {
  const t = o.members.get('time');
  if (typeof t !== 'bigint') throw new Error(`reading ${what}: member time is not a 64-bit integer`);
  return t;
}

/** Feeds one block's thread span events to the builder; stops at the first event past the range. */
export function parseThreadBlock(builder: CallTreeBuilder, resolver: EventScopeResolver, convert: ConvertTicks, block: BlockMeta, objects: TransitValue[]): void {
  resolver.nextBlock();
  const base = Number(block.objectOffset);
  const tickOffset = convert.tickOffset;
  const tickOffsetNumber = Number(tickOffset);
  const n = objects.length;
  for (let i = 0; i < n; i++) {
    const o = objects[i];
    if (!(o instanceof TransitObject)) continue;
    // Async span events and anything else are not part of the thread's call tree.
    const event = spanEventScope(o, resolver, 'thread');
    if (!event) continue;
    const { scope, begin } = event;
    const time = convert.deltaNumberToOffsetNs(tickDelta(eventTime(o, o.typeName), tickOffset, tickOffsetNumber));
    const more = begin ? builder.onBegin(base + i, scope, time) : builder.onEnd(block.blockId, base + i, scope, time);
    if (!more) return;
  }
}

export function buildThreadSpans(input: ThreadSpansInput): ThreadSpansOutput {
  const { stream, convert, blocks } = input;
  return assembleThreadSpans(stream, convert, blocks, (b) => b.objects.length, (scopes) => {
    const resolver = new EventScopeResolver(scopes);
    return (builder, { block, objects }) => parseThreadBlock(builder, resolver, convert, block, objects);
  });
}

/**
 * The call trees and batch of one stream, whatever the events' source: `feeder` makes the function
 * that feeds one block's thread span events to a chain's builder (stopping where it returns false);
 * `events` bounds a block's event count, to size the arrays.
 */
export function assembleThreadSpans<B extends { block: BlockMeta }>(
  stream: StreamMeta,
  convert: ConvertTicks,
  blocks: readonly B[],
  events: (b: B) => number,
  feeder: (scopes: ScopeTable) => (builder: CallTreeBuilder, b: B) => void,
): ThreadSpansOutput {
  const scopes = new ScopeTable(true);
  const feed = feeder(scopes);
  const chains = groupContiguousBlockChains(blocks);
  const eventsIn = (bs: readonly B[]) => bs.reduce((sum, b) => sum + events(b), 0);
  // a span takes two events; +1 thread root per chain and slack for spans closed without a begin
  const rows = new SpanRows((eventsIn(blocks) >> 1) + chains.length + 16);
  const threadName = threadNameFromStream(stream);
  for (const chain of chains) {
    // the chain range: first block's begin to the last block's end (not the max end), as upstream
    const beginRange = convert.deltaNumberToOffsetNs(Number(chain[0]!.block.beginTicks));
    const endRange = convert.deltaNumberToOffsetNs(Number(chain[chain.length - 1]!.block.endTicks));
    const builder = new CallTreeBuilder(beginRange, endRange, threadName, scopes, (eventsIn(chain) >> 1) + 16);
    for (const b of chain) feed(builder, b);
    builder.appendRows(builder.finish(), rows);
  }
  const n = rows.length;
  const begins = rows.begins.a;
  for (let i = 1; i < n; i++) {
    if (begins[i]! < begins[i - 1]!) {
      const at = (k: number) => convert.processStartNs + BigInt(begins[k]!);
      throw new BeginRegressionError(`thread_spans stream ${stream.streamId}: begin regressed at row ${i}: ${at(i)} < ${at(i - 1)}`);
    }
  }

  let minTicks: bigint | undefined;
  let maxTicks: bigint | undefined;
  for (const { block } of blocks) {
    if (minTicks === undefined || block.beginTicks < minTicks) minTicks = block.beginTicks;
    if (maxTicks === undefined || block.endTicks > maxTicks) maxTicks = block.endTicks;
  }

  return {
    batch: spanRowsToBatch(rows, scopes, convert.processStartNs),
    minBeginNs: convert.deltaTicksToNanos(minTicks ?? 0n),
    maxEndNs: convert.deltaTicksToNanos(maxTicks ?? 0n),
    maxSortKeyTimeNs: n === 0 ? null : convert.processStartNs + BigInt(begins[n - 1]!),
  };
}

/** Span rows (times as ns offsets from `baseNs`) as a thread_spans batch. */
export function spanRowsToBatch(rows: SpanRows, scopes: ScopeTable, baseNs: bigint): RecordBatch {
  const n = rows.length;
  const table = scopes.scopes;
  const names = new StringDict();
  const targets = new StringDict();
  const filenames = new StringDict();
  // dictionary ids per scope, assigned on first use so dictionaries hold only emitted strings
  const nameOf = new Int32Array(table.length).fill(-1);
  const targetOf = new Int32Array(table.length);
  const fileOf = new Int32Array(table.length);
  const nameIdx = new Int32Array(n);
  const targetIdx = new Int32Array(n);
  const fileIdx = new Int32Array(n);
  const hashes = new Uint32Array(n);
  const lines = new Uint32Array(n);
  const durations = new Float64Array(n);
  const sc = rows.scopes.a;
  const b = rows.begins.a;
  const e = rows.ends.a;
  for (let i = 0; i < n; i++) {
    const s = sc[i]!;
    if (nameOf[s] === -1) {
      const d = table[s]!;
      nameOf[s] = names.id(d.name);
      targetOf[s] = targets.id(d.target);
      fileOf[s] = filenames.id(d.filename);
    }
    nameIdx[i] = nameOf[s]!;
    targetIdx[i] = targetOf[s]!;
    fileIdx[i] = fileOf[s]!;
    hashes[i] = table[s]!.hash;
    lines[i] = table[s]!.line;
    durations[i] = e[i]! - b[i]!;
  }
  const f = threadSpansSchema.fields;
  return makeBatch(
    threadSpansSchema,
    [
      primData(f[0]!.type, toI64(rows.ids.a, n), n),
      primData(f[1]!.type, toI64(rows.parents.a, n), n),
      primData(f[2]!.type, new Uint32Array(rows.depths.a.buffer, 0, n), n),
      primData(f[3]!.type, hashes, n),
      primData(f[4]!.type, toI64(b, n, baseNs), n),
      primData(f[5]!.type, toI64(e, n, baseNs), n),
      primData(f[6]!.type, toI64(durations, n), n),
      dictData(f[7]!.type, names, nameIdx, n),
      dictData(f[8]!.type, targets, targetIdx, n),
      dictData(f[9]!.type, filenames, fileIdx, n),
      primData(f[10]!.type, lines, n),
    ],
    n,
  );
}
