// The per-instance views materialized just in time (reference analytics.md §1.2, §3.0): which
// blocks feed each, how partitions are cut, and how rows are built. `makeJitView` is the view
// factory behind view_instance(set, id).
import type { RecordBatch, Schema } from 'apache-arrow';
import { bigintRange } from '../arrow/builders.ts';
import type { BlockWithContext, ProcessMeta, StreamMeta } from '../metadata.ts';
import { metadataCache } from '../metadata_cache.ts';
import { makeTimeConverter, parseTimestampNanos, type Nanos } from '../time.ts';
import {
  ASYNC_EVENTS_SCHEMA_HASH, NET_SPANS_SCHEMA_HASH, THREAD_SPANS_SCHEMA_HASH, asyncEventsSchema, buildAsyncEventsFromBuffers, buildNetSpans,
  buildThreadSpansFromBuffers, netSpansSchema, threadSpansSchema,
} from '../spans/index.ts';
import { LOG_ENTRIES_SCHEMA_HASH, logEntriesSchema } from '../views/log_entries.ts';
import { MEASURES_SCHEMA_HASH, measuresSchema } from '../views/measures.ts';
import { IMAGES_SCHEMA_HASH, ImagesBuilder, imagesSchema } from '../views/images.ts';
import type { RetireMatch, TimeRange } from './catalog/index.ts';
import { buildEventRows } from './event_rows.ts';
import { makeOtelJitView, OTEL_JIT_SETS } from '../otel/views.ts';
import { decodeBlocks, decompressBlocks } from './jit.ts';
import type { LakehouseContext, PartitionRows } from './view.ts';

export class ViewError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ViewError';
  }
}

export interface JitView {
  readonly setName: string;
  readonly instanceId: string;
  readonly schema: Schema;
  readonly schemaHash: Uint8Array;
  readonly scope: 'process' | 'stream';
  /** Stream tag selecting the source blocks. */
  readonly tag: string;
  readonly blockOrder: 'insert' | 'event';
  readonly retire: RetireMatch;
  build(ctx: LakehouseContext, blocks: BlockWithContext[]): Promise<PartitionRows & { failedBlocks?: number }>;
  /** The event range used when a query gives none (throws when the view requires one). */
  defaultRange(ctx: LakehouseContext): Promise<TimeRange>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The process's latest block end (ticks and time), for converters built from the latest timing. */
async function latestTiming(ctx: LakehouseContext, processId: string): Promise<{ endTicks: bigint; endTime: Nanos } | undefined> {
  const { rows } = await ctx.lake.db.query<{ end_ticks: string; end_time: string }>(
    'SELECT end_ticks, end_time FROM blocks WHERE process_id = $1 ORDER BY end_time DESC LIMIT 1',
    [processId],
  );
  return rows[0] ? { endTicks: BigInt(rows[0].end_ticks), endTime: parseTimestampNanos(rows[0].end_time) } : undefined;
}

async function latestConverter(ctx: LakehouseContext, process: ProcessMeta) {
  const t = await latestTiming(ctx, process.processId);
  return makeTimeConverter(process, t?.endTicks ?? 0n, t?.endTime ?? process.startTimeNs);
}

const nowNs = (): Nanos => BigInt(Date.now()) * 1_000_000n;

function batchRows(batch: RecordBatch, min: Nanos | undefined, max: Nanos | undefined): PartitionRows {
  return { batches: batch.numRows ? [batch] : [], numRows: batch.numRows, minEventTime: min, maxEventTime: max };
}

function timeRange(batch: RecordBatch, column: string): [Nanos | undefined, Nanos | undefined] {
  const { min, max } = bigintRange((batch.getChild(column)?.toArray() as BigInt64Array | undefined) ?? []);
  return [min, max];
}

function processView(setName: string, process: ProcessMeta, spec: Omit<JitView, 'setName' | 'instanceId' | 'scope' | 'defaultRange'> & { rangeEnd: 'now' | 'last-block' }): JitView {
  return {
    ...spec,
    setName,
    instanceId: process.processId,
    scope: 'process',
    async defaultRange(ctx) {
      if (spec.rangeEnd === 'now') return { begin: process.startTimeNs, end: nowNs() };
      const t = await latestTiming(ctx, process.processId);
      return { begin: process.startTimeNs, end: t?.endTime ?? process.startTimeNs };
    },
  };
}

function streamThreadSpansView(stream: StreamMeta, process: ProcessMeta): JitView {
  return {
    setName: 'thread_spans',
    instanceId: stream.streamId,
    schema: threadSpansSchema,
    schemaHash: THREAD_SPANS_SCHEMA_HASH,
    scope: 'stream',
    tag: '',
    blockOrder: 'event',
    retire: 'overlap',
    async build(ctx, blocks) {
      const convert = await latestConverter(ctx, process);
      const decoded = await decompressBlocks(ctx, 'thread_spans', blocks);
      const out = buildThreadSpansFromBuffers({ stream, convert, blocks: decoded.map((d) => ({ block: d.ctx.block, objects: d.objects, dependencies: d.dependencies })) });
      return { ...batchRows(out.batch, out.minBeginNs, out.maxEndNs), maxSortKeyTime: out.maxSortKeyTimeNs, sortOrder: ['begin'], failedBlocks: blocks.length - decoded.length };
    },
    async defaultRange() {
      throw new ViewError('query range mandatory for thread spans view');
    },
  };
}

/** view_instance(set, id): the JIT view of one process or stream. */
export async function makeJitView(ctx: LakehouseContext, setName: string, instanceId: string): Promise<JitView> {
  const known = ['log_entries', 'measures', 'thread_spans', 'async_events', 'net_spans', 'images', ...OTEL_JIT_SETS];
  if (!known.includes(setName)) throw new ViewError(`view set ${JSON.stringify(setName)} not found`);
  if (instanceId === 'global') throw new ViewError(`${setName}: the global instance is maintained by the daemon; query the ${setName} table`);
  if (!UUID.test(instanceId)) throw new ViewError(`${setName}: instance id ${JSON.stringify(instanceId)} is not a UUID`);
  const id = instanceId.toLowerCase();
  const cache = metadataCache(ctx.lake.db);
  if (setName === 'thread_spans') {
    const stream = await cache.stream(id);
    if (!stream) throw new ViewError(`stream ${id} not found`);
    const process = await cache.process(stream.processId);
    if (!process) throw new ViewError(`process ${stream.processId} of stream ${id} not found`);
    return streamThreadSpansView(stream, process);
  }
  const process = await cache.process(id);
  if (!process) throw new ViewError(`process ${id} not found`);
  if (OTEL_JIT_SETS.includes(setName)) return makeOtelJitView(setName, process);
  switch (setName) {
    case 'log_entries':
    case 'measures':
      return processView(setName, process, {
        schema: setName === 'log_entries' ? logEntriesSchema : measuresSchema,
        schemaHash: setName === 'log_entries' ? LOG_ENTRIES_SCHEMA_HASH : MEASURES_SCHEMA_HASH,
        tag: setName === 'log_entries' ? 'log' : 'metrics',
        blockOrder: 'insert',
        retire: 'containment',
        rangeEnd: 'now',
        build: (c, blocks) => buildEventRows(c, setName, blocks),
      });
    case 'async_events':
      return processView(setName, process, {
        schema: asyncEventsSchema,
        schemaHash: ASYNC_EVENTS_SCHEMA_HASH,
        tag: 'cpu',
        blockOrder: 'insert',
        retire: 'containment',
        rangeEnd: 'last-block',
        async build(c, blocks) {
          const convert = await latestConverter(c, process);
          const decoded = await decompressBlocks(c, setName, blocks);
          const batch = buildAsyncEventsFromBuffers({ convert, blocks: decoded.map((d) => ({ block: d.ctx.block, stream: d.ctx.stream, objects: d.objects, dependencies: d.dependencies })) });
          const [min, max] = timeRange(batch, 'time');
          return { ...batchRows(batch, min, max), failedBlocks: blocks.length - decoded.length };
        },
      });
    case 'images':
      return processView(setName, process, {
        schema: imagesSchema,
        schemaHash: IMAGES_SCHEMA_HASH,
        tag: 'image',
        blockOrder: 'insert',
        retire: 'containment',
        rangeEnd: 'now',
        async build(c, blocks) {
          const decoded = await decodeBlocks(c, setName, blocks);
          const builder = new ImagesBuilder();
          for (const d of decoded) builder.addBlock(d.ctx, d.objects, makeTimeConverter(process, d.ctx.block.endTicks, d.ctx.block.endTimeNs));
          const out = builder.finish();
          return { ...batchRows(out.batch, out.minTimeNs, out.maxTimeNs), release: out.release, failedBlocks: blocks.length - decoded.length };
        },
      });
    default: {
      // net_spans: one tree per net stream of the process, concatenated.
      return processView(setName, process, {
        schema: netSpansSchema,
        schemaHash: NET_SPANS_SCHEMA_HASH,
        tag: 'net',
        blockOrder: 'event',
        retire: 'overlap',
        rangeEnd: 'last-block',
        async build(c, blocks) {
          const convert = await latestConverter(c, process);
          const decoded = await decodeBlocks(c, setName, blocks);
          const byStream = new Map<string, typeof decoded>();
          for (const d of decoded) byStream.set(d.ctx.stream.streamId, [...(byStream.get(d.ctx.stream.streamId) ?? []), d]);
          const batches: RecordBatch[] = [];
          let min: Nanos | undefined;
          let max: Nanos | undefined;
          let numRows = 0;
          for (const list of byStream.values()) {
            const out = buildNetSpans({ processId: process.processId, stream: list[0]!.ctx.stream, convert, blocks: list.map((d) => ({ block: d.ctx.block, objects: d.objects })) });
            if (out.batch.numRows === 0) continue;
            batches.push(out.batch);
            numRows += out.batch.numRows;
            if (min === undefined || out.minTimeNs < min) min = out.minTimeNs;
            if (max === undefined || out.maxTimeNs > max) max = out.maxTimeNs;
          }
          return { batches, numRows, minEventTime: min, maxEventTime: max, failedBlocks: blocks.length - decoded.length };
        },
      });
    }
  }
}
