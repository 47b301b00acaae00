// Fast path of thread_spans and async_events: events are read straight from a block's decompressed
// objects buffer at the member offsets the stream's metadata declares, references resolve through
// per-block memos to scope indices, and the builders get numbers, not decoded objects. Output is the
// same as the TransitObject path's; a stream whose span types have a layout this reader does not
// know falls back to decoding its blocks generically.
import { parseObjects, type DependencyMap, type TransitValue, type UserDefinedType } from '@micromegas/transit';
import type { RecordBatch } from 'apache-arrow';
import type { BlockMeta, StreamMeta } from '../metadata.ts';
import type { ConvertTicks } from '../time.ts';
import { ObjectFrames } from '../views/event_time.ts';
import { DependencyIndex, asObject, fail, i32At, u32At } from '../views/transit_reader.ts';
import { AsyncRows, BEGIN, END, parseAsyncBlock } from './async_events.ts';
import type { CallTreeBuilder } from './call_tree.ts';
import { EventScopeResolver, type ScopeTable } from './scope_hash.ts';
import { assembleThreadSpans, parseThreadBlock, type ThreadSpansOutput } from './thread_spans.ts';

/** One block as the fast path takes it: its decompressed objects buffer and parsed dependencies. */
export interface SpanBlockBuffers {
  block: BlockMeta;
  /** decompressed objects buffer */
  objects: Uint8Array;
  /** parseDependencies(stream.dependenciesMetadata, decompressed dependencies buffer) */
  dependencies: DependencyMap;
}

export interface ThreadSpansBuffersInput {
  stream: StreamMeta;
  convert: ConvertTicks;
  /** Blocks of the stream in event order (begin_ticks, end_ticks). */
  blocks: SpanBlockBuffers[];
}

export interface AsyncEventsBuffersInput {
  convert: ConvertTicks;
  blocks: (SpanBlockBuffers & { stream: Pick<StreamMeta, 'streamId' | 'objectsMetadata'> })[];
}

const enum Kind {
  Skip,
  ThreadDesc,
  ThreadNamed,
  AsyncDesc,
  AsyncNamed,
}

/** Where an event type's members live; offsets are relative to the object's first byte. */
interface EventPlan {
  kind: Kind;
  begin: boolean;
  /** descriptor or location reference */
  ref: number;
  /** id of the name's StringId (named events) */
  name: number;
  time: number;
  timeSigned: boolean;
  spanId: number;
  parentId: number;
  depth: number;
  depthSize: number;
}

interface StreamPlan {
  /** per type index: fixed size, 0 when size-prefixed */
  sizes: number[];
  events: EventPlan[];
  /** a span type's layout is not one the fast reader knows: decode generically */
  generic: boolean;
}

const EVENT_TYPES: Record<string, [Kind, boolean, string]> = {
  BeginThreadSpanEvent: [Kind.ThreadDesc, true, 'thread_span_desc'],
  EndThreadSpanEvent: [Kind.ThreadDesc, false, 'thread_span_desc'],
  BeginThreadNamedSpanEvent: [Kind.ThreadNamed, true, 'thread_span_location'],
  EndThreadNamedSpanEvent: [Kind.ThreadNamed, false, 'thread_span_location'],
  BeginAsyncSpanEvent: [Kind.AsyncDesc, true, 'span_desc'],
  EndAsyncSpanEvent: [Kind.AsyncDesc, false, 'span_desc'],
  BeginAsyncNamedSpanEvent: [Kind.AsyncNamed, true, 'span_location'],
  EndAsyncNamedSpanEvent: [Kind.AsyncNamed, false, 'span_location'],
};

class UnsupportedLayout extends Error {}

function unsupported(): never {
  throw new UnsupportedLayout();
}

/** Offset of a member that fits inside the object, of one of `types` (or a reference, for 'ref'). */
function member(u: UserDefinedType, name: string, size: number, types: readonly string[] | 'ref'): { offset: number; typeName: string } {
  const m = u.members.find((x) => x.name === name);
  if (!m || m.offset < 0 || m.offset + size > u.size) unsupported();
  if (types === 'ref' ? !(m.isReference && m.size >= 8) : m.isReference || m.size !== size || !types.includes(m.typeName)) unsupported();
  return { offset: m.offset, typeName: m.typeName };
}

/** The name member: a reference, or an in-place reference type (StringId) whose id member is one. */
function nameIdOffset(udts: readonly UserDefinedType[], u: UserDefinedType): number {
  const m = u.members.find((x) => x.name === 'name');
  if (!m) unsupported();
  if (m.isReference) return member(u, 'name', 8, 'ref').offset;
  // the generic parser reads the first type of that name, over its declared size
  const nested = udts.find((x) => x.name === m.typeName);
  if (!nested || !nested.isReference || m.offset < 0 || m.offset + nested.size > u.size) unsupported();
  return m.offset + member(nested, 'id', 8, 'ref').offset;
}

function planEvent(udts: readonly UserDefinedType[], u: UserDefinedType): EventPlan {
  const plan: EventPlan = { kind: Kind.Skip, begin: false, ref: 0, name: 0, time: 0, timeSigned: true, spanId: 0, parentId: 0, depth: 0, depthSize: 4 };
  const known = EVENT_TYPES[u.name];
  if (!known) return plan;
  const [kind, begin, refName] = known;
  if (u.size === 0) unsupported();
  plan.kind = kind;
  plan.begin = begin;
  plan.ref = member(u, refName, 8, 'ref').offset;
  if (kind === Kind.ThreadNamed || kind === Kind.AsyncNamed) plan.name = nameIdOffset(udts, u);
  const time = member(u, 'time', 8, ['i64', 'int64', 'u64', 'uint64']);
  plan.time = time.offset;
  plan.timeSigned = time.typeName === 'i64' || time.typeName === 'int64';
  if (kind === Kind.AsyncDesc || kind === Kind.AsyncNamed) {
    const id64 = ['u64', 'uint64', 'i64', 'int64'];
    plan.spanId = member(u, 'span_id', 8, id64).offset;
    plan.parentId = member(u, 'parent_span_id', 8, id64).offset;
    const d = u.members.find((x) => x.name === 'depth');
    plan.depthSize = d?.size === 1 ? 1 : 4;
    plan.depth = member(u, 'depth', plan.depthSize, plan.depthSize === 1 ? ['u8', 'uint8'] : ['u32', 'uint32']).offset;
  }
  return plan;
}

const plans = new WeakMap<readonly UserDefinedType[], StreamPlan>();

function streamPlan(udts: readonly UserDefinedType[]): StreamPlan {
  let p = plans.get(udts);
  if (p === undefined) {
    const sizes = udts.map((u) => u.size);
    try {
      p = { sizes, events: udts.map((u) => planEvent(udts, u)), generic: false };
    } catch (err) {
      if (!(err instanceof UnsupportedLayout)) throw err;
      p = { sizes, events: [], generic: true };
    }
    plans.set(udts, p);
  }
  return p;
}

const TWO_32 = 4294967296;

/** Event ticks → ns since the process start, rounded exactly as the generic path (see tickDelta). */
class EventNs {
  private readonly offHi: number;
  private readonly offLo: number;
  constructor(private readonly convert: ConvertTicks) {
    this.offHi = Number(BigInt.asIntN(32, convert.tickOffset >> 32n));
    this.offLo = Number(BigInt.asUintN(32, convert.tickOffset));
  }

  at(b: Uint8Array, at: number, signed: boolean): number {
    const hi = signed ? i32At(b, at + 4) : u32At(b, at + 4);
    // both products and differences are exact; the sum rounds once, like Number(ticks - offset)
    return this.convert.deltaNumberToOffsetNs((hi - this.offHi) * TWO_32 + (u32At(b, at) - this.offLo));
  }
}

function str(o: { typeName: string; members: Map<string, TransitValue> }, name: string): string {
  const v = o.members.get(name);
  if (typeof v !== 'string') fail(`${o.typeName}.${name} is not a string`);
  return v;
}

function line(o: { typeName: string; members: Map<string, TransitValue> }): number {
  const v = o.members.get('line');
  if (typeof v !== 'number') fail(`${o.typeName}.line is not an integer`);
  return v;
}

interface Location {
  file: string;
  target: string;
  line: number;
  /** scope index per run-time name */
  names: Map<string, number>;
}

/** Scope references of a block's events → ScopeTable indices, memoized per dependency id. */
class BufferScopeResolver {
  private descs!: DependencyIndex<number>;
  private locations!: DependencyIndex<Location>;
  private names!: DependencyIndex<string>;

  constructor(private readonly table: ScopeTable) {}

  nextBlock(deps: DependencyMap): void {
    const table = this.table;
    this.descs = new DependencyIndex(deps, (v) => {
      const d = asObject(v, 'span descriptor');
      return table.intern(str(d, 'name'), str(d, 'file'), str(d, 'target'), line(d));
    });
    this.locations = new DependencyIndex(deps, (v) => {
      const l = asObject(v, 'span location');
      return { file: str(l, 'file'), target: str(l, 'target'), line: line(l), names: new Map() };
    });
    this.names = new DependencyIndex(deps, (v) => (typeof v === 'string' ? v : fail('span name does not refer to a string')));
  }

  desc(b: Uint8Array, at: number): number {
    return this.descs.at(b, at, 'span descriptor');
  }

  named(b: Uint8Array, locationAt: number, nameAt: number): number {
    const loc = this.locations.at(b, locationAt, 'span location');
    const name = this.names.at(b, nameAt, 'span name');
    let scope = loc.names.get(name);
    if (scope === undefined) {
      scope = this.table.intern(name, loc.file, loc.target, loc.line);
      loc.names.set(name, scope);
    }
    return scope;
  }
}

// a thread span event is at least a type byte, a reference and a time
const MIN_THREAD_EVENT_BYTES = 17;

/** thread_spans of one stream from its blocks' buffers: the same output as buildThreadSpans. */
export function buildThreadSpansFromBuffers(input: ThreadSpansBuffersInput): ThreadSpansOutput {
  const { stream, convert, blocks } = input;
  const plan = streamPlan(stream.objectsMetadata);
  const events = (b: SpanBlockBuffers) => Math.ceil(b.objects.length / MIN_THREAD_EVENT_BYTES);
  if (plan.generic) {
    return assembleThreadSpans(stream, convert, blocks, events, (scopes) => {
      const resolver = new EventScopeResolver(scopes);
      return (builder, b) => parseThreadBlock(builder, resolver, convert, b.block, parseObjects(stream.objectsMetadata, b.dependencies, b.objects));
    });
  }
  return assembleThreadSpans(stream, convert, blocks, events, (scopes) => {
    const resolver = new BufferScopeResolver(scopes);
    const ns = new EventNs(convert);
    return (builder, b) => feedThreadBlock(builder, resolver, ns, plan, b);
  });
}

function feedThreadBlock(builder: CallTreeBuilder, resolver: BufferScopeResolver, ns: EventNs, plan: StreamPlan, { block, objects: b, dependencies }: SpanBlockBuffers): void {
  resolver.nextBlock(dependencies);
  const events = plan.events;
  const frames = new ObjectFrames(b, plan.sizes);
  const base = Number(block.objectOffset);
  let type: number;
  for (let i = 0; (type = frames.next()) >= 0; i++) {
    const p = events[type]!;
    const kind = p.kind;
    if (kind !== Kind.ThreadDesc && kind !== Kind.ThreadNamed) continue; // async and other events
    const start = frames.start;
    const scope = kind === Kind.ThreadDesc ? resolver.desc(b, start + p.ref) : resolver.named(b, start + p.ref, start + p.name);
    const time = ns.at(b, start + p.time, p.timeSigned);
    const more = p.begin ? builder.onBegin(base + i, scope, time) : builder.onEnd(block.blockId, base + i, scope, time);
    if (!more) return;
  }
}

/** async_events rows from blocks' buffers: the same batch as buildAsyncEvents. */
export function buildAsyncEventsFromBuffers(input: AsyncEventsBuffersInput): RecordBatch {
  const { convert, blocks } = input;
  let bytes = 0;
  for (const b of blocks) bytes += b.objects.length;
  // an async span event is at least a type byte and 40 bytes; rows grow past this if needed
  const rows = new AsyncRows(Math.ceil(bytes / 41));
  const resolver = new BufferScopeResolver(rows.scopes);
  const generic = new EventScopeResolver(rows.scopes);
  const ns = new EventNs(convert);
  for (const b of blocks) {
    const streamId = rows.streamDict.id(b.stream.streamId);
    const blockId = rows.blockDict.id(b.block.blockId);
    const plan = streamPlan(b.stream.objectsMetadata);
    if (plan.generic) parseAsyncBlock(rows, generic, convert, streamId, blockId, parseObjects(b.stream.objectsMetadata, b.dependencies, b.objects));
    else feedAsyncBlock(rows, resolver, ns, plan, streamId, blockId, b);
  }
  return rows.toBatch(convert.processStartNs);
}

function feedAsyncBlock(rows: AsyncRows, resolver: BufferScopeResolver, ns: EventNs, plan: StreamPlan, streamId: number, blockId: number, { objects: b, dependencies }: SpanBlockBuffers): void {
  resolver.nextBlock(dependencies);
  const events = plan.events;
  const frames = new ObjectFrames(b, plan.sizes);
  let type: number;
  while ((type = frames.next()) >= 0) {
    const p = events[type]!;
    const kind = p.kind;
    if (kind !== Kind.AsyncDesc && kind !== Kind.AsyncNamed) continue;
    const start = frames.start;
    const scope = kind === Kind.AsyncDesc ? resolver.desc(b, start + p.ref) : resolver.named(b, start + p.ref, start + p.name);
    rows.streams.push(streamId);
    rows.blockIds.push(blockId);
    rows.times.push(ns.at(b, start + p.time, p.timeSigned));
    rows.types.push(p.begin ? BEGIN : END);
    // the id's bytes as an i64: upstream's `as i64` reinterpretation of the u64
    const id = start + p.spanId;
    rows.spanIds.pushWords(u32At(b, id), u32At(b, id + 4));
    const parent = start + p.parentId;
    rows.parentIds.pushWords(u32At(b, parent), u32At(b, parent + 4));
    rows.depths.push(p.depthSize === 1 ? b[start + p.depth]! : u32At(b, start + p.depth));
    rows.scopeIdx.push(scope);
  }
}
