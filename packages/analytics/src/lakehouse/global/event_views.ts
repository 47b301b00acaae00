// The global log_entries and measures views (reference analytics.md §1.4.4–§1.4.5, §1.4.6): decoded
// from the blocks of `log` / `metrics` streams inserted in each range; log_stats aggregates
// log_entries per minute, process, level and target.
import { Schema } from 'apache-arrow';
import { dictUtf8, field, int32, int64, timestampNs } from '../../arrow/types.ts';
import { fetchBlocksWithContext } from '../../metadata_cache.ts';
import { formatTimestampNanos, type Nanos } from '../../time.ts';
import { LOG_ENTRIES_SCHEMA_HASH, logEntriesSchema } from '../../views/log_entries.ts';
import { MEASURES_SCHEMA_HASH, measuresSchema } from '../../views/measures.ts';
import { listPartitions } from '../catalog/index.ts';
import { localObjectPaths, parquetList } from '../duck.ts';
import { buildEventRows, type EventViewKind } from '../event_rows.ts';
import type { GlobalView, LakehouseContext } from '../view.ts';
import { NS_PER_DAY, NS_PER_HOUR } from '../view.ts';

const range = (begin: Nanos, end: Nanos) => [formatTimestampNanos(begin), formatTimestampNanos(end)];

/** Σ nb_objects of the blocks of streams tagged `tag` inserted in [begin, end). */
export async function taggedObjectCount(ctx: LakehouseContext, tag: string, begin: Nanos, end: Nanos): Promise<bigint> {
  const { rows } = await ctx.lake.db.query<{ n: string }>(
    `SELECT coalesce(sum(b.nb_objects), 0)::text AS n FROM blocks b JOIN streams s ON s.stream_id = b.stream_id
     JOIN processes p ON p.process_id = b.process_id
     WHERE $1 = ANY(s.tags) AND b.insert_time >= $2 AND b.insert_time < $3`,
    [tag, ...range(begin, end)],
  );
  return BigInt(rows[0]!.n);
}

function eventView(kind: EventViewKind, tag: string, schema: Schema, schemaHash: Uint8Array): GlobalView {
  return {
    setName: kind,
    instanceId: 'global',
    schema,
    schemaHash,
    updateGroup: 2000,
    eventTimeColumns: ['time', 'time'],
    maxPartitionDelta: () => NS_PER_HOUR,
    sourceCount: (ctx, b, e) => taggedObjectCount(ctx, tag, b, e),
    async build(ctx, begin, end) {
      const blocks = await fetchBlocksWithContext(ctx.lake.db, '$1 = ANY(s.tags) AND b.insert_time >= $2 AND b.insert_time < $3', [tag, ...range(begin, end)]);
      return buildEventRows(ctx, kind, blocks);
    },
  };
}

export const logEntriesView = eventView('log_entries', 'log', logEntriesSchema, LOG_ENTRIES_SCHEMA_HASH);
export const measuresView = eventView('measures', 'metrics', measuresSchema, MEASURES_SCHEMA_HASH);

export const logStatsSchema = new Schema([
  field('time_bin', timestampNs()),
  field('process_id', dictUtf8()),
  field('level', int32()),
  field('target', dictUtf8()),
  field('count', int64()),
]);

const nsLiteral = (ns: Nanos) => `make_timestamp_ns(${ns}::BIGINT)`;

export const logStatsView: GlobalView = {
  setName: 'log_stats',
  instanceId: 'global',
  schema: logStatsSchema,
  schemaHash: Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 3),
  updateGroup: 3000,
  eventTimeColumns: ['time_bin', 'time_bin'],
  mergeSortOrder: ['time_bin', 'process_id', 'level', 'target'],
  maxPartitionDelta: () => NS_PER_DAY,
  sourceCount: (ctx, b, e) => taggedObjectCount(ctx, 'log', b, e),
  mergeQuery: (source) => `SELECT time_bin, process_id, level, target, sum(count)::BIGINT AS count FROM ${source}
    GROUP BY process_id, level, target, time_bin ORDER BY time_bin, process_id, level, target`,
  async build(ctx, begin, end) {
    const parts = (await listPartitions(ctx.lake.db, 'log_entries', 'global', { insertRange: { begin, end }, schemaHash: LOG_ENTRIES_SCHEMA_HASH })).filter((p) => p.filePath);
    if (parts.length === 0) return { numRows: 0, minEventTime: undefined, maxEventTime: undefined };
    const files = await localObjectPaths(ctx.lake.blobs, parts.map((p) => p.filePath!));
    try {
      const source = `read_parquet(${parquetList(files.paths)})`;
      const sql = `SELECT time_bucket(INTERVAL 1 minute, time) AS time_bin, process_id, level, target, count(*)::BIGINT AS count
        FROM ${source} WHERE insert_time >= ${nsLiteral(begin)} AND insert_time < ${nsLiteral(end)}
        GROUP BY process_id, level, target, time_bin ORDER BY time_bin, process_id, level, target`;
      const [stats] = await ctx.duck.rows(`SELECT count(*)::BIGINT AS n, epoch_ns(min(time_bin))::BIGINT AS lo, epoch_ns(max(time_bin))::BIGINT AS hi FROM (${sql})`);
      const numRows = Number(stats!.n);
      if (numRows === 0) return { numRows: 0, minEventTime: undefined, maxEventTime: undefined };
      return { parquet: await ctx.duck.queryToParquet(sql), numRows, minEventTime: stats!.lo as bigint, maxEventTime: stats!.hi as bigint, sortOrder: logStatsView.mergeSortOrder };
    } finally {
      await files.release();
    }
  },
};
