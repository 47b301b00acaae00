// The OTLP-fed views besides log_entries/measures: otel_spans (upstream: per process only; here also
// global, for cross-service trace lookups — trace_index.ts) and histograms (ours), each global (daemon,
// update group 2000, one-hour partitions like log_entries) and per process (JIT).
import type { RecordBatch } from 'apache-arrow';
import type { BlockWithContext, ProcessMeta } from '../metadata.ts';
import { fetchBlocksWithContext } from '../metadata_cache.ts';
import { formatTimestampNanos, type Nanos } from '../time.ts';
import { taggedObjectCount } from '../lakehouse/global/event_views.ts';
import type { JitView } from '../lakehouse/jit_views.ts';
import type { GlobalView, LakehouseContext, PartitionRows } from '../lakehouse/view.ts';
import { NS_PER_HOUR } from '../lakehouse/view.ts';
import { FORMAT_OTLP_METRICS, FORMAT_OTLP_TRACES, forEachOtlpBlock } from './blocks.ts';
import { buildHistogramsBatch, HISTOGRAMS_SCHEMA_HASH, histogramsSchema } from './histograms.ts';
import { otelMetricRows, type DecodedHistogramRow } from './metrics.ts';
import { buildOtelSpansBatch, compareSpans, OTEL_SPANS_SCHEMA_HASH, otelSpanRows, otelSpansSchema, type DecodedSpan } from './spans.ts';
import { indexTraces } from './trace_index.ts';

type Rows = PartitionRows & { failedBlocks: number };

const rowsOf = (batch: RecordBatch, min: Nanos | undefined, max: Nanos | undefined, failedBlocks: number, sortOrder?: string[]): Rows => ({
  batches: batch.numRows ? [batch] : [],
  numRows: batch.numRows,
  minEventTime: min,
  maxEventTime: max,
  sortOrder: batch.numRows ? sortOrder : undefined,
  failedBlocks,
});

async function spanRows(ctx: LakehouseContext, setName: string, blocks: readonly BlockWithContext[]) {
  const rows: { ctx: BlockWithContext; span: DecodedSpan }[] = [];
  const failed = await forEachOtlpBlock(ctx, setName, FORMAT_OTLP_TRACES, blocks, (b, rs) => {
    for (const span of otelSpanRows(rs)) rows.push({ ctx: b, span });
  });
  return { rows, failed };
}

async function histogramRows(ctx: LakehouseContext, setName: string, blocks: readonly BlockWithContext[]): Promise<Rows> {
  const out: { ctx: BlockWithContext; rows: DecodedHistogramRow[] }[] = [];
  const failed = await forEachOtlpBlock(ctx, setName, FORMAT_OTLP_METRICS, blocks, (b, m) => {
    const rows = otelMetricRows(m, { measures: false, histograms: true }).histograms;
    if (rows.length) out.push({ ctx: b, rows });
  });
  const { batch, min, max } = buildHistogramsBatch(out);
  return rowsOf(batch, min, max, failed);
}

const range = (begin: Nanos, end: Nanos) => [formatTimestampNanos(begin), formatTimestampNanos(end)];

export const SPANS_SORT_ORDER = ['trace_id', 'start_time'];

export const otelSpansView: GlobalView = {
  setName: 'otel_spans',
  instanceId: 'global',
  schema: otelSpansSchema,
  schemaHash: OTEL_SPANS_SCHEMA_HASH,
  updateGroup: 2000,
  eventTimeColumns: ['start_time', 'end_time'],
  mergeSortOrder: SPANS_SORT_ORDER,
  maxPartitionDelta: () => NS_PER_HOUR,
  sourceCount: (ctx, b, e) => taggedObjectCount(ctx, 'trace', b, e),
  // Merged files stay sorted by trace id, for row-group pruning on trace_id.
  mergeQuery: (source) => `SELECT * FROM ${source} ORDER BY trace_id, start_time`,
  async build(ctx, begin, end) {
    const blocks = await fetchBlocksWithContext(ctx.lake.db, `'trace' = ANY(s.tags) AND b.insert_time >= $1 AND b.insert_time < $2`, range(begin, end));
    const { rows, failed } = await spanRows(ctx, 'otel_spans', blocks);
    rows.sort((a, b) => compareSpans(a.span, b.span));
    await indexTraces(ctx.lake.db, begin, end, rows.map((r) => r.span));
    const { batch, min, max } = buildOtelSpansBatch(rows);
    return rowsOf(batch, min, max, failed, SPANS_SORT_ORDER);
  },
};

/** Σ nb_objects of OTLP metrics blocks inserted in [begin, end) (transit metrics have no histograms). */
async function otlpMetricsCount(ctx: LakehouseContext, begin: Nanos, end: Nanos): Promise<bigint> {
  const { rows } = await ctx.lake.db.query<{ n: string }>(
    `SELECT coalesce(sum(b.nb_objects), 0)::text AS n FROM blocks b JOIN streams s ON s.stream_id = b.stream_id
     JOIN processes p ON p.process_id = b.process_id
     WHERE 'metrics' = ANY(s.tags) AND s.format = $1 AND b.insert_time >= $2 AND b.insert_time < $3`,
    [FORMAT_OTLP_METRICS, ...range(begin, end)],
  );
  return BigInt(rows[0]!.n);
}

export const histogramsView: GlobalView = {
  setName: 'histograms',
  instanceId: 'global',
  schema: histogramsSchema,
  schemaHash: HISTOGRAMS_SCHEMA_HASH,
  updateGroup: 2000,
  eventTimeColumns: ['time', 'time'],
  maxPartitionDelta: () => NS_PER_HOUR,
  sourceCount: otlpMetricsCount,
  async build(ctx, begin, end) {
    const blocks = await fetchBlocksWithContext(
      ctx.lake.db,
      `'metrics' = ANY(s.tags) AND s.format = $1 AND b.insert_time >= $2 AND b.insert_time < $3`,
      [FORMAT_OTLP_METRICS, ...range(begin, end)],
    );
    return histogramRows(ctx, 'histograms', blocks);
  },
};

export const OTEL_JIT_SETS = ['otel_spans', 'histograms'];

/** view_instance('otel_spans' | 'histograms', process_id). */
export function makeOtelJitView(setName: string, process: ProcessMeta): JitView {
  const spans = setName === 'otel_spans';
  return {
    setName,
    instanceId: process.processId,
    schema: spans ? otelSpansSchema : histogramsSchema,
    schemaHash: spans ? OTEL_SPANS_SCHEMA_HASH : HISTOGRAMS_SCHEMA_HASH,
    scope: 'process',
    tag: spans ? 'trace' : 'metrics',
    blockOrder: 'insert',
    retire: 'containment',
    async build(ctx, blocks) {
      if (!spans) return histogramRows(ctx, setName, blocks);
      const { rows, failed } = await spanRows(ctx, setName, blocks);
      const { batch, min, max } = buildOtelSpansBatch(rows);
      return rowsOf(batch, min, max, failed);
    },
    async defaultRange() {
      return { begin: process.startTimeNs, end: BigInt(Date.now()) * 1_000_000n };
    },
  };
}
