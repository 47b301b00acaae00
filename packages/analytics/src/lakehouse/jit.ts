// Just-in-time partitions of per-process and per-stream views (reference analytics.md §3.5): asking
// for an instance over an event range materializes exactly the partitions that are missing or stale,
// inside the query. Two servers doing it at once write the same insert ranges, and the catalog's
// per-range lock plus containment retirement keeps one partition per range.
import { decodeTransitPayload, type BlockPayload, type DependencyMap, type TransitValue } from '@micromegas/transit';
import { asBlockError, decodeDependencies, decompressPayload, fetchBlockPayload } from '../block_source.ts';
import type { BlockWithContext } from '../metadata.ts';
import { metadataCache } from '../metadata_cache.ts';
import { formatTimestampNanos, type Nanos } from '../time.ts';
import { hashToObjectCount, listOverlappingPartitions, type Partition, type TimeRange } from './catalog/index.ts';
import type { JitView } from './jit_views.ts';
import type { LakehouseContext } from './view.ts';
import { NS_PER_HOUR } from './view.ts';
import { writePartition } from './write_partition.ts';

export interface JitConfig {
  /** Most objects per partition (whole blocks); upstream uses 20 Mi, we keep partitions smaller so one fits in memory. */
  maxObjects: number;
  maxInsertSlice: Nanos;
}

export const DEFAULT_JIT_CONFIG: JitConfig = { maxObjects: 4 * 1024 * 1024, maxInsertSlice: NS_PER_HOUR };

export interface PartitionSpec {
  blocks: BlockWithContext[];
  insertRange: TimeRange;
  objectCount: bigint;
}

export interface JitStats {
  upToDate: number;
  written: number;
  failedBlocks: number;
}

const trunc = (t: Nanos, d: Nanos) => t - (((t % d) + d) % d);

function instanceFilter(view: JitView): string {
  return view.scope === 'stream' ? 'b.stream_id = $1' : 'b.process_id = $1';
}

/** Cuts the blocks of one insert bucket into partitions of at most maxObjects (whole blocks). */
export function groupBlocksIntoPartitions(blocks: BlockWithContext[], order: 'insert' | 'event', maxObjects: number): PartitionSpec[] {
  const sorted = [...blocks];
  if (order === 'event') {
    sorted.sort((a, b) => (a.block.beginTicks < b.block.beginTicks ? -1 : a.block.beginTicks > b.block.beginTicks ? 1 : a.block.endTicks < b.block.endTicks ? -1 : a.block.endTicks > b.block.endTicks ? 1 : 0));
  }
  // With event order, only cut where every earlier block was inserted no later than every later one,
  // so that partitions' insert ranges never overlap.
  const suffixMin: Nanos[] = new Array(sorted.length + 1);
  suffixMin[sorted.length] = BigInt(Number.MAX_SAFE_INTEGER) * 1_000_000_000n;
  for (let i = sorted.length - 1; i >= 0; i--) {
    const t = sorted[i]!.block.insertTimeNs;
    suffixMin[i] = t < suffixMin[i + 1]! ? t : suffixMin[i + 1]!;
  }
  const specs: PartitionSpec[] = [];
  let current: BlockWithContext[] = [];
  let objects = 0;
  let prefixMax: Nanos | undefined;
  const flush = () => {
    if (current.length === 0) return;
    const count = current.reduce((s, b) => s + BigInt(b.block.nbObjects), 0n);
    if (count > 0n) {
      let begin = current[0]!.block.insertTimeNs;
      let end = begin;
      for (const b of current) {
        if (b.block.insertTimeNs < begin) begin = b.block.insertTimeNs;
        if (b.block.insertTimeNs > end) end = b.block.insertTimeNs;
      }
      specs.push({ blocks: current, insertRange: { begin, end }, objectCount: count });
    }
    current = [];
    objects = 0;
  };
  sorted.forEach((b, i) => {
    const canCut = order === 'insert' || prefixMax === undefined || prefixMax <= suffixMin[i]!;
    if (current.length > 0 && objects + b.block.nbObjects > maxObjects && canCut) flush();
    current.push(b);
    objects += b.block.nbObjects;
    if (prefixMax === undefined || b.block.insertTimeNs > prefixMax) prefixMax = b.block.insertTimeNs;
  });
  flush();
  return specs;
}

function isUpToDate(view: JitView, spec: PartitionSpec, existing: readonly Partition[]): boolean {
  const { begin, end } = spec.insertRange;
  const candidates = existing.filter((p) => p.beginInsertTime <= end && p.endInsertTime >= begin);
  if (candidates.length !== 1) return false;
  const p = candidates[0]!;
  if (!sameBytes(p.fileSchemaHash, view.schemaHash)) return false;
  const count = hashToObjectCount(p.sourceDataHash);
  if (view.blockOrder === 'event') return p.beginInsertTime === begin && p.endInsertTime === end && count === spec.objectCount;
  if (begin === end && (p.beginInsertTime !== begin || p.endInsertTime !== end)) return false;
  return count >= spec.objectCount;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Fetches the blocks' payloads at once, then decodes each; a block that fails is reported and left out. */
async function decodeEach<T>(
  ctx: LakehouseContext,
  setName: string,
  blocks: readonly BlockWithContext[],
  decode: (block: BlockWithContext, payload: BlockPayload) => T,
): Promise<T[]> {
  const out: T[] = [];
  const payloads = await Promise.all(blocks.map((b) => fetchBlockPayload(ctx.lake.blobs, b.block).catch((err: Error) => err)));
  blocks.forEach((b, i) => {
    try {
      const p = payloads[i]!;
      if (p instanceof Error) throw p;
      out.push(decode(b, p));
    } catch (err) {
      ctx.log('warn', `${setName}: ${asBlockError(b.block, err).message}`);
    }
  });
  return out;
}

/** Decodes blocks for views built from transit objects (the generic decoder). */
export function decodeBlocks(ctx: LakehouseContext, setName: string, blocks: readonly BlockWithContext[]): Promise<{ ctx: BlockWithContext; objects: TransitValue[] }[]> {
  return decodeEach(ctx, setName, blocks, (b, p) => ({ ctx: b, objects: decodeTransitPayload(b.stream, p).objects }));
}

export interface DecompressedBlock {
  ctx: BlockWithContext;
  objects: Uint8Array;
  dependencies: DependencyMap;
}

/** Decompresses blocks and decodes their dependencies, for the fast span readers. */
export function decompressBlocks(ctx: LakehouseContext, setName: string, blocks: readonly BlockWithContext[]): Promise<DecompressedBlock[]> {
  return decodeEach(ctx, setName, blocks, (b, p) => {
    const buffers = decompressPayload(b.block, p);
    return { ctx: b, objects: buffers.objects, dependencies: decodeDependencies(b.block, b.stream, buffers) };
  });
}

/** Brings the partitions of a JIT view instance covering `eventRange` up to date. */
export async function jitUpdate(ctx: LakehouseContext, view: JitView, eventRange: TimeRange, config: JitConfig = DEFAULT_JIT_CONFIG): Promise<JitStats> {
  const stats: JitStats = { upToDate: 0, written: 0, failedBlocks: 0 };
  const { db } = ctx.lake;
  // One round trip: every block of the insert buckets (of maxInsertSlice) that hold a block meeting
  // the event range. Rows carry block columns only; streams and processes come from the cache.
  const params: unknown[] = [view.instanceId, formatTimestampNanos(eventRange.begin), formatTimestampNanos(eventRange.end), Number(config.maxInsertSlice) / 1e9];
  let instance = instanceFilter(view);
  if (view.tag) {
    params.push(view.tag);
    instance += ' AND $5 = ANY(s.tags)';
  }
  const inRange = (agg: 'min' | 'max') =>
    `(SELECT ${agg}(b.insert_time) FROM blocks b JOIN streams s ON s.stream_id = b.stream_id WHERE ${instance} AND b.begin_time <= $3 AND b.end_time >= $2)`;
  const bucket = (agg: 'min' | 'max', offset: string) => `to_timestamp((floor(extract(epoch FROM ${inRange(agg)})::float8 / $4::float8)${offset}) * $4::float8)`;
  const blocks = await metadataCache(db).blocksWithContext(
    `${instance} AND b.insert_time >= ${bucket('min', '')} AND b.insert_time < ${bucket('max', ' + 1')}`,
    params,
  );
  if (blocks.length === 0) return stats;
  let lo = blocks[0]!.block.insertTimeNs;
  let hi = lo;
  for (const b of blocks) {
    if (b.block.insertTimeNs < lo) lo = b.block.insertTimeNs;
    if (b.block.insertTimeNs > hi) hi = b.block.insertTimeNs;
  }
  const first = trunc(lo, config.maxInsertSlice);
  const last = trunc(hi, config.maxInsertSlice) + config.maxInsertSlice;
  const existing = await listOverlappingPartitions(db, view.setName, view.instanceId, first, last, { inclusive: true });
  const sameRun: TimeRange[] = [];
  for (let bucket = first; bucket < last; bucket += config.maxInsertSlice) {
    const inBucket = blocks.filter((b) => b.block.insertTimeNs >= bucket && b.block.insertTimeNs < bucket + config.maxInsertSlice);
    for (const spec of groupBlocksIntoPartitions(inBucket, view.blockOrder, config.maxObjects)) {
      if (isUpToDate(view, spec, existing)) {
        stats.upToDate++;
        continue;
      }
      const rows = await view.build(ctx, spec.blocks);
      stats.failedBlocks += rows.failedBlocks ?? 0;
      await writePartition(ctx, view, spec.insertRange, spec.objectCount, rows, { retire: view.retire, sameRunRanges: view.retire === 'overlap' ? [...sameRun] : undefined });
      sameRun.push(spec.insertRange);
      stats.written++;
    }
  }
  return stats;
}
