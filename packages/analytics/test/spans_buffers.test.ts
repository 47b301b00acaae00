// The buffer fast path of thread_spans / async_events against the TransitObject path: identical
// batches (every column, every row) on recorded telemetry and on hand-encoded blocks, in the
// tracing package's layout and in a shuffled one; and only clean errors on corrupted buffers.
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import type { RecordBatch } from 'apache-arrow';
import {
  TransitFormatError, decompressLz4Frame, parseDependencies, parseObjects, refMember, udt, udtMember,
  type DependencyMap, type ProcessInfo, type UserDefinedType,
} from '@micromegas/transit';
import {
  asyncNamedSpan, asyncSpan, beginSpan, endSpan, namedSpanScope, shutdownDispatch, spanDescriptor, spanScope,
  threadDependenciesMetadata, threadObjectsMetadata, type MemorySink,
} from '@micromegas/tracing';
import { buildAsyncEvents } from '../src/spans/async_events.ts';
import { ScopeMismatchError } from '../src/spans/call_tree.ts';
import { buildAsyncEventsFromBuffers, buildThreadSpansFromBuffers, type SpanBlockBuffers } from '../src/spans/span_buffers.ts';
import { BeginRegressionError, buildThreadSpans, type ThreadSpansOutput } from '../src/spans/thread_spans.ts';
import type { BlockMeta, StreamMeta } from '../src/metadata.ts';
import { block, handStream, recordedCpu, startRecording, unitConvert, type Recorded } from './spans_helpers.ts';
import { seededRandom } from '@micromegas/lake/testing';

afterEach(async () => {
  await shutdownDispatch();
});

// --- comparing batches ---------------------------------------------------------------------------

function columnDump(batch: RecordBatch, c: number): unknown {
  const v = batch.getChildAt(c)!;
  return v.data.map((d) => ({
    length: d.length,
    nullCount: d.nullCount,
    values: Array.from((d.values as ArrayLike<unknown> & { subarray(a: number, b: number): ArrayLike<unknown> }).subarray(d.offset, d.offset + d.length)),
    dictionary: d.dictionary ? [...d.dictionary] : undefined,
    rows: [...v],
  }));
}

function assertSameBatch(fast: RecordBatch, generic: RecordBatch): void {
  const shape = (b: RecordBatch) => b.schema.fields.map((f) => `${f.name}:${f.type}:${f.nullable}`);
  assert.deepEqual(shape(fast), shape(generic));
  assert.equal(fast.numRows, generic.numRows);
  for (let c = 0; c < generic.numCols; c++) assert.deepEqual(columnDump(fast, c), columnDump(generic, c), `column ${generic.schema.fields[c]!.name}`);
}

function assertSameThreadSpans(fast: ThreadSpansOutput, generic: ThreadSpansOutput): void {
  assertSameBatch(fast.batch, generic.batch);
  assert.deepEqual([fast.minBeginNs, fast.maxEndNs, fast.maxSortKeyTimeNs], [generic.minBeginNs, generic.maxEndNs, generic.maxSortKeyTimeNs]);
}

/** Same output, or the same error class and message from both. */
function assertSameResult<T>(fast: () => T, generic: () => T, same: (a: T, b: T) => void): void {
  let expected: T;
  try {
    expected = generic();
  } catch (err) {
    assert.throws(fast, (e: unknown) => e instanceof Error && e.constructor === (err as Error).constructor && e.message === (err as Error).message);
    return;
  }
  same(fast(), expected);
}

// --- recorded telemetry --------------------------------------------------------------------------

interface RecordedBuffers {
  rec: Recorded;
  buffers: SpanBlockBuffers[];
  /** decompressed dependencies buffers */
  rawDeps: Uint8Array[];
}

function recordedBuffers(sink: MemorySink, process: ProcessInfo): RecordedBuffers {
  const rec = recordedCpu(sink, process);
  const cpu = sink.blocksOf('cpu');
  const rawDeps = cpu.map((b) => decompressLz4Frame(b.block.payload.dependencies));
  const buffers = cpu.map((b, i) => ({
    block: rec.blocks[i]!.block,
    objects: decompressLz4Frame(b.block.payload.objects),
    dependencies: parseDependencies(rec.stream.dependenciesMetadata, rawDeps[i]!),
  }));
  return { rec, buffers, rawDeps };
}

const tick = () => new Promise<void>((r) => setImmediate(r));

async function recordMix(threadBufferBytes: number): Promise<RecordedBuffers> {
  const { sink, process } = startRecording({ threadBufferBytes });
  const outer = spanDescriptor('outer');
  for (let k = 0; k < 40; k++) {
    beginSpan(outer);
    spanScope('inner', () => namedSpanScope(`job-${k % 5}`, () => undefined));
    if (k % 7 === 0) await asyncSpan('async-a', async () => asyncNamedSpan(`async-n-${k % 3}`, tick));
    endSpan(outer);
  }
  spanScope('last', () => undefined);
  return recordedBuffers(sink, process);
}

test('recorded spans: fast and generic thread_spans / async_events batches are identical', async () => {
  for (const bytes of [64 * 1024, 300]) {
    const { rec, buffers } = await recordMix(bytes);
    if (bytes === 300) assert.ok(buffers.length > 3, `expected several blocks, got ${buffers.length}`);
    const generic = buildThreadSpans({ stream: rec.stream, convert: rec.convert, blocks: rec.blocks });
    assert.ok(generic.batch.numRows > 120, `rows: ${generic.batch.numRows}`);
    assertSameThreadSpans(buildThreadSpansFromBuffers({ stream: rec.stream, convert: rec.convert, blocks: buffers }), generic);

    const asyncGeneric = buildAsyncEvents({ convert: rec.convert, blocks: rec.blocks });
    assert.equal(asyncGeneric.numRows, 6 * 4); // 6 awaited pairs of async spans, begin + end each
    const asyncFast = buildAsyncEventsFromBuffers({ convert: rec.convert, blocks: buffers.map((b) => ({ ...b, stream: rec.stream })) });
    assertSameBatch(asyncFast, asyncGeneric);
    await shutdownDispatch();
  }
});

// --- hand-encoded blocks -------------------------------------------------------------------------

/** The thread stream layout with members moved around, a padded StringId and unknown types. */
function shuffledObjectsMetadata(): UserDefinedType[] {
  const time = (offset: number, type = 'i64') => udtMember('time', type, offset, 8);
  const threadSpan = (name: string) => udt(name, 24, [time(0), udtMember('pad', 'u32', 8, 4), refMember('thread_span_desc', 16)]);
  const namedThreadSpan = (name: string) => udt(name, 40, [udtMember('name', 'StringId', 0, 16), time(16), refMember('thread_span_location', 32)]);
  const asyncSpan = (name: string) =>
    udt(name, 34, [udtMember('depth', 'u8', 0, 1), udtMember('parent_span_id', 'u64', 1, 8), udtMember('span_id', 'u64', 9, 8), time(17, 'u64'), refMember('span_desc', 25)]);
  const namedAsync = (name: string) =>
    udt(name, 60, [time(0), udtMember('depth', 'u32', 8, 4), udtMember('name', 'StringId', 12, 16), refMember('span_location', 28), udtMember('span_id', 'u64', 36, 8), udtMember('parent_span_id', 'u64', 44, 8)]);
  return [
    udt('Marker', 3),
    udt('Blob', 0),
    udt('StringId', 16, [refMember('id', 8, 8)], true), // the id after 8 bytes of padding
    namedThreadSpan('EndThreadNamedSpanEvent'),
    threadSpan('EndThreadSpanEvent'),
    threadSpan('BeginThreadSpanEvent'),
    namedThreadSpan('BeginThreadNamedSpanEvent'),
    asyncSpan('BeginAsyncSpanEvent'),
    asyncSpan('EndAsyncSpanEvent'),
    namedAsync('BeginAsyncNamedSpanEvent'),
    namedAsync('EndAsyncNamedSpanEvent'),
  ];
}

/** Upstream's Unreal thread layout (ingestion-protocol §4): u64 times, the name a 16-byte reference member. */
function unrealObjectsMetadata(): UserDefinedType[] {
  const time = udtMember('time', 'uint64', 8, 8);
  const span = (name: string) => udt(name, 16, [udtMember('thread_span_desc', 'SpanMetadata*', 0, 8, true), time]);
  const named = (name: string) =>
    udt(name, 32, [udtMember('thread_span_location', 'NamedSpanLocation*', 0, 8, true), udtMember('name', 'StaticStringRef', 16, 16, true), time]);
  return [span('BeginThreadSpanEvent'), span('EndThreadSpanEvent'), named('BeginThreadNamedSpanEvent'), named('EndThreadNamedSpanEvent')];
}

/** Descriptors inline (not references): a layout the fast reader leaves to the generic decoder. */
function inlineDescObjectsMetadata(): UserDefinedType[] {
  const deps = threadDependenciesMetadata();
  const threadSpan = (name: string) => udt(name, 56, [udtMember('thread_span_desc', 'SpanRecord', 0, 48), udtMember('time', 'i64', 48, 8)]);
  return [threadSpan('BeginThreadSpanEvent'), threadSpan('EndThreadSpanEvent'), deps[0]!];
}

class Bytes {
  readonly out: number[] = [];
  u32(v: number): void {
    for (let i = 0; i < 4; i++) this.out.push((v >>> (8 * i)) & 0xff);
  }
  u64(v: bigint): void {
    for (let i = 0n; i < 8n; i++) this.out.push(Number((BigInt.asUintN(64, v) >> (8n * i)) & 0xffn));
  }
  frame(udts: readonly UserDefinedType[], typeName: string, body: Uint8Array): void {
    const type = udts.findIndex((u) => u.name === typeName);
    assert.ok(type >= 0, typeName);
    this.out.push(type);
    if (udts[type]!.size === 0) this.u32(body.length);
    this.out.push(...body);
  }
  get bytes(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

/** A fixed-size object body with member values put where the metadata says. */
function body(udts: readonly UserDefinedType[], u: UserDefinedType, values: Record<string, bigint | number>, base = new Uint8Array(u.size), at = 0): Uint8Array {
  const view = new DataView(base.buffer);
  for (const m of u.members) {
    const v = values[m.name];
    if (v === undefined) continue;
    const off = at + m.offset;
    if (m.isReference || m.size === 8) view.setBigUint64(off, BigInt.asUintN(64, BigInt(v)), true);
    else if (m.size === 4) view.setUint32(off, Number(v), true);
    else if (m.size === 1) view.setUint8(off, Number(v));
    else body(udts, udts.find((x) => x.name === m.typeName)!, m.typeName === 'SpanRecord' ? spanRecord(BigInt(v)) : { id: v }, base, off);
  }
  return base;
}

const STRINGS = ['A', 'B', 'C', 'f.ts', 't', 'mod', 'job-1', 'job-2'];
const stringId = (s: string) => 1000n + BigInt(STRINGS.indexOf(s));
const DESC = { A: 1n, B: 2n, C: 3n } as const;
const LOCATION = 77n;

function spanRecord(id: bigint): Record<string, bigint | number> {
  const name = Object.entries(DESC).find((e) => e[1] === id)![0];
  return { id, name: stringId(name), target: stringId('t'), module_path: stringId('mod'), file: stringId('f.ts'), line: 1, lod: 0 };
}

function dependencies(): DependencyMap {
  const meta = threadDependenciesMetadata();
  const b = new Bytes();
  for (const s of STRINGS) b.frame(meta, 'StaticString', Uint8Array.from([...u64Bytes(stringId(s)), ...new TextEncoder().encode(s)]));
  for (const id of Object.values(DESC)) {
    b.frame(meta, 'SpanRecord', body(meta, meta[0]!, spanRecord(id)));
  }
  b.frame(meta, 'SpanLocationRecord', body(meta, meta[1]!, { id: LOCATION, target: stringId('t'), module_path: stringId('mod'), file: stringId('f.ts'), line: 9, lod: 0 }));
  return parseDependencies(meta, b.bytes);
}

function u64Bytes(v: bigint): number[] {
  const b = new Bytes();
  b.u64(v);
  return b.out;
}

/** `B:A:10` begin A at 10; `E:A:5` end; `BN:job-1:3` named begin; `X` / `Z` unknown types; `BA:…`/`EA:…` async. */
function encodeEvents(udts: readonly UserDefinedType[], events: string[]): Uint8Array {
  const b = new Bytes();
  const put = (typeName: string, values: Record<string, bigint | number>) => {
    const u = udts.find((x) => x.name === typeName);
    if (u) b.frame(udts, typeName, body(udts, u, values));
  };
  for (const e of events) {
    const [op, scope, t] = e.split(':') as [string, string, string];
    if (op === 'X') { if (udts.some((u) => u.name === 'Marker')) b.frame(udts, 'Marker', new Uint8Array(3)); continue; }
    if (op === 'Z') { if (udts.some((u) => u.name === 'Blob')) b.frame(udts, 'Blob', Uint8Array.of(1, 2, 3, 4, 5)); continue; }
    const time = BigInt(t);
    const desc = DESC[scope as keyof typeof DESC];
    switch (op) {
      case 'B': put('BeginThreadSpanEvent', { thread_span_desc: desc, time }); break;
      case 'E': put('EndThreadSpanEvent', { thread_span_desc: desc, time }); break;
      case 'BN': put('BeginThreadNamedSpanEvent', { thread_span_location: LOCATION, name: stringId(scope), time }); break;
      case 'EN': put('EndThreadNamedSpanEvent', { thread_span_location: LOCATION, name: stringId(scope), time }); break;
      case 'BA': case 'EA': {
        const v = { span_desc: desc, span_id: 2n ** 64n - 1n - time, parent_span_id: 2n ** 63n + time, depth: Number(time % 200n), time };
        put(op === 'BA' ? 'BeginAsyncSpanEvent' : 'EndAsyncSpanEvent', v);
        break;
      }
      case 'BAN': case 'EAN': {
        const v = { span_location: LOCATION, name: stringId(scope), span_id: time, parent_span_id: 0n, depth: 70000, time };
        put(op === 'BAN' ? 'BeginAsyncNamedSpanEvent' : 'EndAsyncNamedSpanEvent', v);
        break;
      }
      default: throw new Error(op);
    }
  }
  return b.bytes;
}

interface HandBlock { block: BlockMeta; events: string[] }

const CASES: Record<string, HandBlock[]> = {
  'end with an empty stack': [{ block: block('b1', 0, 100, 50), events: ['E:A:5'] }],
  'closing a span opened before the chain': [{ block: block('b1', 0, 100, 10), events: ['B:B:10', 'X', 'E:B:20', 'E:A:30', 'Z', 'B:C:40', 'E:C:50'] }],
  'scope mismatch': [{ block: block('blk-9', 0, 100, 0), events: ['B:A:1', 'B:B:2', 'E:A:3'] }],
  'unclosed spans': [{ block: block('b1', 0, 100, 100), events: ['B:A:10', 'BN:job-1:20', 'EN:job-1:30', 'BN:job-2:31'] }],
  'range skip and stop': [{ block: block('b1', 10, 50, 0), events: ['B:A:5', 'E:A:15', 'B:B:60', 'B:C:20', 'E:C:25'] }],
  'chains and a gap': [
    { block: block('b1', 0, 50, 0), events: ['B:A:10', 'BA:A:11', 'B:B:20', 'BN:job-1:21', 'EN:job-1:22'] },
    { block: block('b2', 50, 100, 5), events: ['E:B:60', 'Z', 'EA:A:65', 'E:A:70'] },
    { block: block('b3', 200, 300, 9), events: ['E:C:210', 'BAN:job-2:215', 'B:A:220', 'EAN:job-2:225', 'X', 'E:A:230'] },
  ],
  'begin regression': [
    { block: block('a', 0, 100, 0), events: ['B:A:50', 'E:A:60'] },
    { block: block('b', 10, 100, 2), events: ['B:C:20', 'E:C:30'] },
  ],
  // i64 or u64 depending on the layout: before the range or past it; async rows take them as they are
  'extreme times': [{ block: block('b1', 0, 100, 0), events: ['B:A:5', 'BA:A:18446744073709551615', 'EA:B:9223372036854788353', 'B:C:18446744073709551615', 'E:C:20', 'E:A:30'] }],
  'no thread events': [{ block: block('b1', 0, 100, 0), events: ['X', 'BA:A:5', 'Z', 'EA:A:7'] }],
};

const LAYOUTS: Record<string, UserDefinedType[]> = {
  tracing: threadObjectsMetadata(),
  shuffled: shuffledObjectsMetadata(),
  unreal: unrealObjectsMetadata(),
  'inline descriptors (generic fallback)': inlineDescObjectsMetadata(),
};

function handInputs(objectsMetadata: UserDefinedType[], blocks: HandBlock[]) {
  const stream: StreamMeta = { ...handStream(), objectsMetadata, dependenciesMetadata: threadDependenciesMetadata() };
  const deps = dependencies();
  const buffers = blocks.map((b) => ({ block: b.block, objects: encodeEvents(objectsMetadata, b.events), dependencies: deps }));
  const decoded = buffers.map((b) => ({ block: b.block, stream, objects: parseObjects(objectsMetadata, deps, b.objects) }));
  return { stream, buffers, decoded };
}

test('hand-encoded blocks in four layouts: same thread_spans and async_events as the generic path', () => {
  for (const [layout, meta] of Object.entries(LAYOUTS)) {
    for (const [name, blocks] of Object.entries(CASES)) {
      const { stream, buffers, decoded } = handInputs(meta, blocks);
      assertSameResult(
        () => buildThreadSpansFromBuffers({ stream, convert: unitConvert, blocks: buffers }),
        () => buildThreadSpans({ stream, convert: unitConvert, blocks: decoded }),
        (a, b) => assertSameThreadSpans(a, b),
      );
      assertSameResult(
        () => buildAsyncEventsFromBuffers({ convert: unitConvert, blocks: buffers.map((b) => ({ ...b, stream })) }),
        () => buildAsyncEvents({ convert: unitConvert, blocks: decoded }),
        (a, b) => assertSameBatch(a, b),
      );
    }
  }
  // the cases do exercise both outcomes and every event kind
  const { stream, buffers } = handInputs(shuffledObjectsMetadata(), CASES['chains and a gap']!);
  const out = buildThreadSpansFromBuffers({ stream, convert: unitConvert, blocks: buffers });
  assert.deepEqual([...out.batch.getChild('name')!], ['main-7', 'A', 'B', 'job-1', 'main-7', 'C', 'A']);
  assert.deepEqual([...out.batch.getChild('id')!], [-1n, 0n, 2n, 3n, -1n, 9n, 11n]);
  assert.deepEqual([...out.batch.getChild('line')!], [0, 1, 1, 9, 0, 1, 1]);
  const asyncBatch = buildAsyncEventsFromBuffers({ convert: unitConvert, blocks: buffers.map((b) => ({ ...b, stream })) });
  assert.deepEqual([...asyncBatch.getChild('span_id')!], [-12n, -66n, 215n, 225n]);
  assert.deepEqual([...asyncBatch.getChild('depth')!], [11, 65, 70000, 70000]);
  assert.throws(() => buildThreadSpansFromBuffers({ stream, convert: unitConvert, blocks: handInputs(shuffledObjectsMetadata(), CASES['scope mismatch']!).buffers }), ScopeMismatchError);
});

// --- corrupted buffers ---------------------------------------------------------------------------


function mutate(src: Uint8Array, rnd: () => number): Uint8Array {
  const int = (n: number) => Math.floor(rnd() * n);
  let b = src.slice();
  switch (int(5)) {
    case 0: // a few random bytes
      for (let k = 1 + int(4); k > 0 && b.length > 0; k--) b[int(b.length)] = int(256);
      break;
    case 1: // truncated
      b = b.subarray(0, int(b.length));
      break;
    case 2: { // bytes inserted
      const at = int(b.length + 1);
      const extra = Array.from({ length: 1 + int(20) }, () => int(256));
      b = Uint8Array.from([...b.subarray(0, at), ...extra, ...b.subarray(at)]);
      break;
    }
    case 3: // a u64 (reference, time or id) overwritten with an extreme value
      if (b.length >= 8) b.set([[255, 255, 255, 255, 255, 255, 255, 255], [0, 0, 0, 0, 0, 0, 0, 128], [1, 0, 0, 0, 0, 0, 0, 0]][int(3)]!, int(b.length - 7));
      break;
    default: // a range shifted
      if (b.length > 2) b.copyWithin(int(b.length), int(b.length), int(b.length));
  }
  return b;
}

test('corrupted objects and dependency buffers: only clean errors escape', { timeout: 30_000 }, async () => {
  const { rec, buffers, rawDeps } = await recordMix(400);
  const hand = handInputs(shuffledObjectsMetadata(), CASES['chains and a gap']!);
  const depsMeta = threadDependenciesMetadata();
  const corpora = [
    { stream: rec.stream, buffers, convert: rec.convert },
    { stream: hand.stream, buffers: hand.buffers, convert: unitConvert },
    { ...handInputs(unrealObjectsMetadata(), CASES['chains and a gap']!), convert: unitConvert },
  ];
  const rnd = seededRandom(0x5eed);
  const clean = (e: unknown) => e instanceof TransitFormatError || e instanceof ScopeMismatchError || e instanceof BeginRegressionError;
  let errors = 0;
  let ok = 0;
  const run = (stream: StreamMeta, convert: typeof unitConvert, bs: SpanBlockBuffers[]) => {
    for (const f of [
      () => buildThreadSpansFromBuffers({ stream, convert, blocks: bs }),
      () => buildAsyncEventsFromBuffers({ convert, blocks: bs.map((b) => ({ ...b, stream })) }),
    ]) {
      try {
        f();
        ok++;
      } catch (e) {
        if (!clean(e)) assert.fail(`unclean error: ${(e as Error)?.stack ?? e}`);
        errors++;
      }
    }
  };
  for (let iter = 0; iter < 600; iter++) {
    const { stream, buffers: bs, convert } = corpora[iter % corpora.length]!;
    const victim = Math.floor(rnd() * bs.length);
    const mutated = bs.map((b, i) => (i === victim ? { ...b, objects: mutate(b.objects, rnd) } : b));
    run(stream, convert, mutated);
  }
  // dependencies that still parse but say something else (a descriptor's strings, a location's line)
  for (let iter = 0; iter < 300; iter++) {
    const victim = Math.floor(rnd() * buffers.length);
    let deps: DependencyMap;
    try {
      deps = parseDependencies(depsMeta, mutate(rawDeps[victim]!, rnd));
    } catch {
      continue; // the transit parser's own business
    }
    run(rec.stream, rec.convert, [{ ...buffers[victim]!, dependencies: deps }]);
  }
  assert.ok(errors > 100 && ok > 100, `errors ${errors}, successes ${ok}`);
});
