// Finding one trace's spans across every service fast. The global otel_spans view (daemon) is cut by
// insert time like log_entries; a trace's spans land in whichever partitions cover the seconds its
// blocks were inserted in. Two things keep a lookup by trace id from reading everything:
//
// 1. otel_trace_index (PostgreSQL, next to the lakehouse catalog): for every daemon build of an insert
//    bucket [begin, end), one row per distinct trace id in it, with the trace's time bounds there.
//    It names insert ranges, not files, so merges and rebuilds of partitions never make it stale:
//    the partition currently covering a range holds that range's spans. A bucket rebuilt from source
//    replaces its rows; retention deletes rows older than the horizon.
// 2. Global otel_spans files are sorted by (trace_id, start_time) — built and merged — so Parquet
//    row-group statistics on trace_id let DuckDB skip the row groups of other traces in large files.
//
// trace_spans('<32 hex digits>') (query/plan.ts) looks the trace up here, reads only the matching
// partitions and filters them by trace id.
import type { Database, SqlExecutor } from '@micromegas/lake';
import { formatTimestampNanos, type Nanos } from '../time.ts';
import { hex } from './attrs.ts';
import type { DecodedSpan } from './spans.ts';

export const TRACE_INDEX_DDL = [
  `CREATE TABLE IF NOT EXISTS otel_trace_index(
     trace_id BYTEA NOT NULL,
     begin_insert_time TIMESTAMPTZ NOT NULL,
     end_insert_time TIMESTAMPTZ NOT NULL,
     min_start_time TIMESTAMPTZ NOT NULL,
     max_end_time TIMESTAMPTZ NOT NULL)`,
  'CREATE INDEX IF NOT EXISTS otel_trace_index_trace ON otel_trace_index(trace_id)',
  'CREATE INDEX IF NOT EXISTS otel_trace_index_end_insert ON otel_trace_index(end_insert_time)',
];

/** Creates the index table (idempotent; run under the lakehouse migration lock). */
export async function ensureTraceIndex(tx: SqlExecutor): Promise<void> {
  for (const sql of TRACE_INDEX_DDL) await tx.query(sql);
}

/** Replaces the index rows of the insert bucket [begin, end) with those of `spans`. */
export async function indexTraces(db: Database, begin: Nanos, end: Nanos, spans: readonly DecodedSpan[]): Promise<void> {
  const byTrace = new Map<string, { min: Nanos; max: Nanos }>();
  for (const s of spans) {
    const key = hex(s.traceId);
    const t = byTrace.get(key);
    if (!t) byTrace.set(key, { min: s.start, max: s.end });
    else {
      if (s.start < t.min) t.min = s.start;
      if (s.end > t.max) t.max = s.end;
    }
  }
  const ids = [...byTrace.keys()];
  const fmt = formatTimestampNanos;
  await db.transaction(async (tx) => {
    await tx.query('DELETE FROM otel_trace_index WHERE begin_insert_time >= $1 AND end_insert_time <= $2', [fmt(begin), fmt(end)]);
    if (ids.length === 0) return;
    await tx.query(
      `INSERT INTO otel_trace_index(trace_id, begin_insert_time, end_insert_time, min_start_time, max_end_time)
       SELECT decode(t.id, 'hex'), $2::timestamptz, $3::timestamptz, t.lo::timestamptz, t.hi::timestamptz
         FROM unnest($1::text[], $4::text[], $5::text[]) AS t(id, lo, hi)`,
      [ids, fmt(begin), fmt(end), ids.map((k) => fmt(byTrace.get(k)!.min)), ids.map((k) => fmt(byTrace.get(k)!.max))],
    );
  });
}

/** Deletes index rows of insert ranges ended before `horizon` (retention). */
export async function deleteExpiredTraceIndex(db: SqlExecutor, horizon: Nanos): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    'WITH d AS (DELETE FROM otel_trace_index WHERE end_insert_time < $1 RETURNING 1) SELECT count(*)::text AS n FROM d',
    [formatTimestampNanos(horizon)],
  );
  return Number(rows[0]?.n ?? 0);
}

export const TRACE_ID = /^[0-9a-f]{32}$/i;

/**
 * The SQL predicate selecting one trace's rows. A range, not `trace_id = unhex(…)`: DuckDB 1.5.6
 * probes the Bloom filters it writes for dictionary-encoded BLOB columns (merged partitions) with
 * the wrong hash, so an equality misses every row of such files (duckdb/duckdb#24994). The range is
 * pushed down as min/max bounds, which still skip the row groups of other traces.
 */
export function traceIdPredicate(traceId: string): string {
  const id = `unhex('${traceId.toLowerCase()}')`;
  return `trace_id BETWEEN ${id} AND ${id}`;
}

/**
 * Object keys of the current global otel_spans partitions that hold spans of `traceId`, optionally
 * only where the trace has spans overlapping the event range.
 */
export async function tracePartitionKeys(db: SqlExecutor, traceId: string, schemaHash: Uint8Array, range?: { begin: Nanos; end: Nanos }): Promise<string[]> {
  const params: unknown[] = [traceId.toLowerCase(), schemaHash];
  let inRange = '';
  if (range) {
    params.push(formatTimestampNanos(range.end), formatTimestampNanos(range.begin));
    inRange = 'AND t.min_start_time <= $3 AND t.max_end_time >= $4';
  }
  const { rows } = await db.query<{ file_path: string }>(
    `SELECT DISTINCT p.file_path FROM lakehouse_partitions p
       JOIN (SELECT DISTINCT begin_insert_time, end_insert_time FROM otel_trace_index t WHERE t.trace_id = decode($1, 'hex') ${inRange}) r
         ON p.begin_insert_time < r.end_insert_time AND p.end_insert_time > r.begin_insert_time
      WHERE p.view_set_name = 'otel_spans' AND p.view_instance_id = 'global' AND p.file_schema_hash = $2
        AND p.file_path IS NOT NULL AND p.num_rows > 0
      ORDER BY p.file_path`,
    params,
  );
  return rows.map((r) => r.file_path);
}
