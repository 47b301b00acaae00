// Shared by the spans_* tests: a recorded process through our tracing package, turned into the
// metadata and decoded objects the span builders take, and hand-made events.
import { randomUUID } from 'node:crypto';
import { TransitObject, decodeBlockPayload, decodeTransitPayload, encodeBlockPayload, xxh32, type ProcessInfo, type TransitValue } from '@micromegas/transit';
import { MemorySink, TSC_FREQUENCY, flushAllStreams, initDispatch, ticksNow, type FinishedBlock } from '@micromegas/tracing';
import type { BlockMeta, StreamMeta } from '../src/metadata.ts';
import { ConvertTicks, makeTimeConverter, parseTimestampNanos } from '../src/time.ts';

/** The scope hash formula, written out independently of src/spans/scope_hash.ts. */
export function expectedHash(name: string, filename: string, target: string, line: number): number {
  const line4 = Buffer.alloc(4);
  line4.writeUInt32LE(line);
  let h = xxh32(Buffer.from(name, 'utf8'), 0);
  h = xxh32(Buffer.from(filename, 'utf8'), h);
  h = xxh32(Buffer.from(target, 'utf8'), h);
  return xxh32(line4, h);
}

export function testProcess(): ProcessInfo {
  return {
    processId: randomUUID(),
    exe: 'spans-test',
    username: 'u',
    realname: 'u',
    computer: 'c',
    distro: 'd',
    cpuBrand: 'cpu',
    tscFrequency: TSC_FREQUENCY,
    startTime: new Date().toISOString(),
    startTicks: BigInt(ticksNow()),
    parentProcessId: null,
    properties: new Map(),
  };
}

export function startRecording(options: { threadBufferBytes?: number } = {}): { sink: MemorySink; process: ProcessInfo } {
  const sink = new MemorySink();
  const process = testProcess();
  initDispatch({ sink, process, backgroundCompression: false, ...options });
  return { sink, process };
}

export interface Recorded {
  process: ProcessInfo;
  convert: ConvertTicks;
  stream: StreamMeta;
  blocks: { block: BlockMeta; stream: StreamMeta; objects: TransitValue[] }[];
}

/** Flushes, then decodes the cpu blocks as analytics would read them back from the lake. */
export function recordedCpu(sink: MemorySink, process: ProcessInfo): Recorded {
  flushAllStreams();
  const cpu = sink.blocksOf('cpu');
  if (cpu.length === 0) throw new Error('no cpu blocks');
  const info = cpu[0]!.stream;
  const stream: StreamMeta = {
    streamId: info.streamId,
    processId: info.processId,
    dependenciesMetadata: info.dependenciesMetadata,
    objectsMetadata: info.objectsMetadata,
    dependenciesMetadataBytes: new Uint8Array(),
    objectsMetadataBytes: new Uint8Array(),
    tags: info.tags,
    properties: info.properties,
    format: 'micromegas-transit',
    insertTimeNs: 0n,
  };
  const blocks = cpu.map((b: FinishedBlock) => ({
    block: blockMeta(b),
    stream,
    // through the stored CBOR form, as the lake holds it
    objects: decodeTransitPayload(stream, decodeBlockPayload(encodeBlockPayload(b.block.payload))).objects,
  }));
  const last = blocks[blocks.length - 1]!.block;
  const convert = makeTimeConverter(
    { tscFrequency: process.tscFrequency, startTicks: process.startTicks, startTimeNs: parseTimestampNanos(process.startTime) },
    last.endTicks,
    last.endTimeNs,
  );
  return { process, convert, stream, blocks };
}

function blockMeta(b: FinishedBlock): BlockMeta {
  const e = b.block;
  return {
    blockId: e.blockId,
    streamId: e.streamId,
    processId: e.processId,
    beginTimeNs: parseTimestampNanos(e.beginTime),
    beginTicks: e.beginTicks,
    endTimeNs: parseTimestampNanos(e.endTime),
    endTicks: e.endTicks,
    nbObjects: e.nbObjects,
    objectOffset: e.objectOffset,
    payloadSize: 0n,
    insertTimeNs: 0n,
  };
}

/** Independent tick conversion: exact rational arithmetic, rounded half away from zero. */
export function expectedNs(process: ProcessInfo, ticks: bigint): bigint {
  const num = (ticks - process.startTicks) * 1_000_000_000n;
  const f = process.tscFrequency;
  const q = num / f;
  const r = num % f;
  const rounded = 2n * (r < 0n ? -r : r) >= f ? q + (num < 0n ? -1n : 1n) : q;
  return parseTimestampNanos(process.startTime) + rounded;
}

// --- hand-made events ------------------------------------------------------------------------------

export function desc(name: string, file = 'f.ts', target = 't', line = 1): TransitObject {
  return new TransitObject('SpanDesc', new Map<string, TransitValue>([['name', name], ['file', file], ['target', target], ['line', line]]));
}

export function begin(d: TransitObject, time: number): TransitObject {
  return new TransitObject('BeginThreadSpanEvent', new Map<string, TransitValue>([['thread_span_desc', d], ['time', BigInt(time)]]));
}

export function end(d: TransitObject, time: number): TransitObject {
  return new TransitObject('EndThreadSpanEvent', new Map<string, TransitValue>([['thread_span_desc', d], ['time', BigInt(time)]]));
}

export function block(id: string, beginTicks: number, endTicks: number, objectOffset: number, nbObjects = 0): BlockMeta {
  return {
    blockId: id,
    streamId: 'stream-1',
    processId: 'process-1',
    beginTimeNs: 0n,
    beginTicks: BigInt(beginTicks),
    endTimeNs: 0n,
    endTicks: BigInt(endTicks),
    nbObjects,
    objectOffset: BigInt(objectOffset),
    payloadSize: 0n,
    insertTimeNs: 0n,
  };
}

export const START_NS = 1_700_000_000_000_000_000n;
/** 1 tick = 1 ns, ticks counted from 0 at the process start. */
export const unitConvert = new ConvertTicks(0n, START_NS, 1_000_000_000n);

export function handStream(properties: [string, string][] = [['thread-name', 'main'], ['thread-id', '7']]): StreamMeta {
  return {
    streamId: 'stream-1',
    processId: 'process-1',
    dependenciesMetadata: [],
    objectsMetadata: [],
    dependenciesMetadataBytes: new Uint8Array(),
    objectsMetadataBytes: new Uint8Array(),
    tags: ['cpu'],
    properties: new Map(properties),
    format: 'micromegas-transit',
    insertTimeNs: 0n,
  };
}
