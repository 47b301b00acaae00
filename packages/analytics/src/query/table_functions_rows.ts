// Output schemas and rows of the read-only lake table functions: list_partitions, list_view_sets and
// parse_block (reference analytics.md §2.1). Timestamps are TIMESTAMP_NS without zone, as the views'.
import { TransitObject, decodeTransitPayload, type TransitValue } from '@micromegas/transit';
import { fetchBlockPayload } from '../block_source.ts';
import { encodeJsonb } from '../jsonb.ts';
import { fetchBlocksWithContext } from '../metadata_cache.ts';
import type { GlobalView, LakehouseContext } from '../lakehouse/view.ts';
import { listAllPartitions, PARTITION_FORMAT_VERSION } from '../lakehouse/catalog/index.ts';
import { ASYNC_EVENTS_SCHEMA_HASH, NET_SPANS_SCHEMA_HASH, THREAD_SPANS_SCHEMA_HASH, asyncEventsSchema, netSpansSchema, threadSpansSchema } from '../spans/index.ts';
import { formatTimestampNanos, type Nanos } from '../time.ts';
import { IMAGES_SCHEMA_HASH, imagesSchema } from '../views/images.ts';
import { PlanError } from './plan.ts';
import { OTLP_FORMATS } from '../otel/blocks.ts';
import { isOtlpFormat, parseOtlpObjects } from '../otel/parse_block.ts';
import type { QueryRange } from './views_sql.ts';

export type Row = unknown[];

const LOG: [string, string][] = [['time', 'TIMESTAMP_NS'], ['msg', 'VARCHAR']];

/** Column names and DuckDB types of each table function's output. */
export const OUTPUTS: Readonly<Record<string, readonly (readonly [string, string])[]>> = {
  list_partitions: [
    ['view_set_name', 'VARCHAR'], ['view_instance_id', 'VARCHAR'], ['begin_insert_time', 'TIMESTAMP_NS'], ['end_insert_time', 'TIMESTAMP_NS'],
    ['min_event_time', 'TIMESTAMP_NS'], ['max_event_time', 'TIMESTAMP_NS'], ['updated', 'TIMESTAMP_NS'], ['file_path', 'VARCHAR'],
    ['file_size', 'BIGINT'], ['file_schema_hash', 'BLOB'], ['source_data_hash', 'BLOB'], ['num_rows', 'BIGINT'],
    ['partition_format_version', 'INTEGER'], ['sort_order', 'VARCHAR[]'], ['max_sort_key_time', 'TIMESTAMP_NS'],
  ],
  list_view_sets: [['view_set_name', 'VARCHAR'], ['current_schema_hash', 'BLOB'], ['schema', 'VARCHAR'], ['has_view_maker', 'BOOLEAN'], ['global_instance_available', 'BOOLEAN']],
  parse_block: [['object_index', 'BIGINT'], ['type_name', 'VARCHAR'], ['value', 'BLOB']],
  jsonb_each: [['key', 'VARCHAR'], ['value', 'BLOB']],
  jsonb_array_elements: [['value', 'BLOB']],
  expand_histogram: [['bin_center', 'DOUBLE'], ['count', 'UBIGINT']],
  perfetto_trace_chunks: [['chunk_id', 'INTEGER'], ['chunk_data', 'BLOB']],
  materialize_partitions: LOG,
  regenerate_partitions: LOG,
  retire_partitions: LOG,
  deny_queries: LOG,
  list_query_denials: [
    ['rule_id', 'VARCHAR'], ['created_at', 'TIMESTAMP_NS'], ['created_by', 'VARCHAR'], ['reason', 'VARCHAR'], ['match_expr', 'VARCHAR'], ['last_hit_at', 'TIMESTAMP_NS'],
  ],
};

export async function listPartitionRows(ctx: LakehouseContext): Promise<Row[]> {
  return (await listAllPartitions(ctx.lake.db)).map((p) => [
    p.viewSetName, p.viewInstanceId, p.beginInsertTime, p.endInsertTime, p.minEventTime, p.maxEventTime, p.updated,
    p.filePath, p.fileSize, p.fileSchemaHash, p.sourceDataHash, p.numRows, p.partitionFormatVersion ?? PARTITION_FORMAT_VERSION, p.sortOrder, p.maxSortKeyTime,
  ]);
}

/** Per-instance view sets (makeJitView) with their schemas; log_entries and measures also have a global instance. */
const JIT_SETS = [
  { name: 'thread_spans', schema: threadSpansSchema, hash: THREAD_SPANS_SCHEMA_HASH },
  { name: 'async_events', schema: asyncEventsSchema, hash: ASYNC_EVENTS_SCHEMA_HASH },
  { name: 'net_spans', schema: netSpansSchema, hash: NET_SPANS_SCHEMA_HASH },
  { name: 'images', schema: imagesSchema, hash: IMAGES_SCHEMA_HASH },
];

export function listViewSetRows(globalViews: readonly GlobalView[]): Row[] {
  const withMaker = new Set(['log_entries', 'measures', 'otel_spans', 'histograms']);
  const rows: Row[] = globalViews.map((v) => [v.setName, v.schemaHash, v.schema.toString(), withMaker.has(v.setName), true]);
  for (const s of JIT_SETS) rows.push([s.name, s.hash, s.schema.toString(), true, false]);
  return rows;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const FORMAT_TRANSIT = 'micromegas-transit';

/** A transit value as JSON-like data: objects carry their type in `__type`, bytes are described. */
function transitToJson(v: TransitValue): unknown {
  if (v instanceof TransitObject) {
    const out: Record<string, unknown> = { __type: v.typeName };
    for (const [k, m] of v.members) out[k] = transitToJson(m);
    return out;
  }
  if (v instanceof Uint8Array) return `<binary ${v.length} bytes>`;
  return v;
}

export async function parseBlockRows(ctx: LakehouseContext, blockId: string, range: QueryRange | undefined): Promise<Row[]> {
  if (!UUID.test(blockId)) throw new PlanError(`parse_block: '${blockId}' is not a valid block id`);
  const params: unknown[] = [blockId.toLowerCase()];
  let where = 'b.block_id = $1';
  if (range) {
    // The `blocks` view's reading of the query range (§1.3).
    params.push(formatTimestampNanos(range.end), formatTimestampNanos(range.begin));
    where += ' AND b.begin_time <= $2 AND b.insert_time >= $3';
  }
  const [found] = await fetchBlocksWithContext(ctx.lake.db, where, params);
  if (!found) {
    const iso = (ns: Nanos) => formatTimestampNanos(ns);
    throw new PlanError(range
      ? `parse_block: block '${blockId}' not found in \`blocks\` for the queried range [${iso(range.begin)}, ${iso(range.end)}]. The block may be outside the query's time range — widen the range to include it.`
      : `parse_block: block '${blockId}' not found in \`blocks\`.`);
  }
  const { block, stream } = found;
  if (isOtlpFormat(stream.format)) {
    const payload = await fetchBlockPayload(ctx.lake.blobs, block);
    let parsed;
    try {
      parsed = parseOtlpObjects(stream.format, payload.objects);
    } catch (err) {
      throw new PlanError(`parse_block: block ${block.blockId}: ${(err as Error).message}`);
    }
    // Ordinals are positional over the emitted leaves.
    return parsed.map((o, i) => [block.objectOffset + BigInt(i), o.typeName, o.value]);
  }
  if (stream.format !== FORMAT_TRANSIT) throw new PlanError(`parse_block: no decoder for streams.format='${stream.format}' (known formats: ${FORMAT_TRANSIT}, ${OTLP_FORMATS.join(', ')})`);
  const payload = await fetchBlockPayload(ctx.lake.blobs, block);
  const { objects } = decodeTransitPayload(stream, payload);
  const rows: Row[] = [];
  objects.forEach((o, i) => {
    // Non-object top-level values keep their ordinal but have no row, as upstream.
    if (o instanceof TransitObject) rows.push([block.objectOffset + BigInt(i), o.typeName, encodeJsonb(transitToJson(o))]);
  });
  return rows;
}
