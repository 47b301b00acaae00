// Blocks recorded by our tracing package, held in memory with the metadata analytics needs, so the
// benchmark measures decoding and Parquet writing without PostgreSQL or disk in the way.
import { MemorySink, initDispatch, shutdownDispatch } from '@micromegas/tracing';
import type { ProcessInfo, StreamInfo, BlockEnvelope } from '@micromegas/transit';
import { encodeUdtList } from '@micromegas/transit';
import { parseTimestampNanos, type BlockWithContext, type ProcessMeta, type StreamMeta } from '../src/index.ts';

export function processMeta(p: ProcessInfo): ProcessMeta {
  const start = parseTimestampNanos(p.startTime);
  return {
    processId: p.processId, exe: p.exe, username: p.username, realname: p.realname, computer: p.computer, distro: p.distro,
    cpuBrand: p.cpuBrand, tscFrequency: p.tscFrequency, startTimeNs: start, startTicks: p.startTicks, insertTimeNs: start,
    parentProcessId: p.parentProcessId, properties: p.properties,
  };
}

export function streamMeta(s: StreamInfo, tags: string[]): StreamMeta {
  return {
    streamId: s.streamId, processId: s.processId, dependenciesMetadata: s.dependenciesMetadata, objectsMetadata: s.objectsMetadata,
    dependenciesMetadataBytes: encodeUdtList(s.dependenciesMetadata), objectsMetadataBytes: encodeUdtList(s.objectsMetadata),
    tags, properties: s.properties, format: 'micromegas-transit', insertTimeNs: 0n,
  };
}

export interface RecordedBlock {
  ctx: BlockWithContext;
  envelope: BlockEnvelope;
}

/** Records with `body` and returns each stream kind's blocks with their context. */
export async function recordBlocks(process: ProcessInfo, body: () => void): Promise<Map<string, RecordedBlock[]>> {
  const sink = new MemorySink();
  initDispatch({ sink, process, backgroundCompression: false });
  body();
  await shutdownDispatch();
  const pm = processMeta(process);
  const out = new Map<string, RecordedBlock[]>();
  for (const b of sink.blocks) {
    const e = b.block;
    const list = out.get(b.kind) ?? [];
    list.push({
      envelope: e,
      ctx: {
        process: pm,
        stream: streamMeta(b.stream, b.stream.tags),
        block: {
          blockId: e.blockId, streamId: e.streamId, processId: e.processId,
          beginTimeNs: parseTimestampNanos(e.beginTime), beginTicks: e.beginTicks, endTimeNs: parseTimestampNanos(e.endTime), endTicks: e.endTicks,
          nbObjects: e.nbObjects, objectOffset: e.objectOffset, payloadSize: BigInt(e.payload.dependencies.length + e.payload.objects.length), insertTimeNs: parseTimestampNanos(e.endTime),
        },
      },
    });
    out.set(b.kind, list);
  }
  return out;
}

/** Median time in seconds of `rounds` runs of `fn` after one warm-up (GC between runs when exposed), and its last result. */
export function timeIt(fn: () => number, rounds: number): { seconds: number; result: number } {
  fn(); // warm-up
  const samples: number[] = [];
  let result = 0;
  for (let r = 0; r < rounds; r++) {
    global.gc?.();
    const t0 = performance.now();
    result = fn();
    samples.push((performance.now() - t0) / 1000);
  }
  samples.sort((a, b) => a - b);
  return { seconds: samples[Math.floor(samples.length / 2)]!, result };
}
