// The lakehouse_partitions catalog: which Parquet file holds which insert-time range of which view
// instance. Writers replace partitions atomically (retire + insert in one transaction); replaced
// files go to temporary_files so in-flight readers can still open them for an hour.
import { createHash } from 'node:crypto';
import type { Database, ObjectStore, SqlExecutor } from '@micromegas/lake';
import { formatTimestampNanos, parseTimestampNanos, type Nanos } from '../../time.ts';
import { cleanupExpiration } from './temporary_files.ts';

export interface Partition {
  viewSetName: string;
  viewInstanceId: string;
  /** Inclusive insert-time range of the source data this partition was built from. */
  beginInsertTime: Nanos;
  endInsertTime: Nanos;
  /** Event-time range of the rows; null for empty partitions. */
  minEventTime: Nanos | null;
  maxEventTime: Nanos | null;
  updated: Nanos;
  /** Object key relative to the store root; null for empty partitions. */
  filePath: string | null;
  fileSize: bigint;
  /** The view's schema version bytes. */
  fileSchemaHash: Uint8Array;
  /** 8-byte little-endian object count of the source (see objectCountHash). */
  sourceDataHash: Uint8Array;
  numRows: bigint;
  /** Sort guarantee of the rows (e.g. ['insert_time']); null = none recorded. */
  sortOrder: string[] | null;
  /** True max of the view's leading sort column; null = not recorded. */
  maxSortKeyTime: Nanos | null;
  /** As read from the catalog; records written here always get PARTITION_FORMAT_VERSION. */
  partitionFormatVersion?: number;
}

export interface TimeRange {
  begin: Nanos;
  end: Nanos;
}

/**
 * Which existing partitions an insert replaces. 'containment': those inside the new inclusive range
 * (exactly equal when the new range is a single instant). 'overlap': those whose inclusive range
 * intersects it — for views whose cut points can move between runs (thread_spans, net_spans).
 */
export type RetireMatch = 'containment' | 'overlap';

export interface InsertPartitionOptions {
  /** 'overlap' only: ranges written earlier in the same run, never retired by this insert. */
  sameRunRanges?: TimeRange[];
  /** When given, a failed insert deletes the partition's file unless some row references it. */
  store?: ObjectStore;
}

/** The new partition overlaps a partition of the same view instance and schema that it did not replace. */
export class PartitionOverlapError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PartitionOverlapError';
  }
}

export const PARTITION_FORMAT_VERSION = 2;
const NO_OVERLAP_CONSTRAINT = 'lakehouse_partitions_no_overlap';

/** Source data hash of the current producers: the object count as a little-endian i64. */
export function objectCountHash(n: bigint | number): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigInt64(0, BigInt(n), true);
  return bytes;
}

/** Inverse of objectCountHash. Throws on a hash that is not 8 bytes (an older, non-count hash), as upstream. */
export function hashToObjectCount(hash: Uint8Array): bigint {
  if (hash.byteLength !== 8) throw new RangeError(`source data hash of ${hash.byteLength} bytes is not an object count`);
  return new DataView(hash.buffer, hash.byteOffset, 8).getBigInt64(0, true);
}

/** Stable signed 64-bit advisory-lock key for one (view set, instance, insert range). */
export function partitionLockKey(viewSetName: string, viewInstanceId: string, begin: Nanos, end: Nanos): bigint {
  const digest = createHash('sha256').update(`${viewSetName}\0${viewInstanceId}\0${begin}\0${end}`).digest();
  return digest.readBigInt64LE(0);
}

const ts = (ns: Nanos) => formatTimestampNanos(ns);
const tsOrNull = (ns: Nanos | null) => (ns === null ? null : formatTimestampNanos(ns));

const PARTITION_COLUMNS = `view_set_name, view_instance_id, begin_insert_time, end_insert_time, min_event_time,
  max_event_time, updated, file_path, file_size, file_schema_hash, source_data_hash, num_rows, sort_order,
  max_sort_key_time, partition_format_version`;

interface PartitionRow {
  view_set_name: string;
  view_instance_id: string;
  begin_insert_time: string;
  end_insert_time: string;
  min_event_time: string | null;
  max_event_time: string | null;
  updated: string;
  file_path: string | null;
  file_size: string;
  file_schema_hash: Uint8Array;
  source_data_hash: Uint8Array;
  num_rows: string;
  sort_order: string[] | null;
  max_sort_key_time: string | null;
  partition_format_version: number | string;
}

function fromRow(r: PartitionRow): Partition {
  const opt = (v: string | null) => (v === null ? null : parseTimestampNanos(v));
  return {
    viewSetName: r.view_set_name,
    viewInstanceId: r.view_instance_id,
    beginInsertTime: parseTimestampNanos(r.begin_insert_time),
    endInsertTime: parseTimestampNanos(r.end_insert_time),
    minEventTime: opt(r.min_event_time),
    maxEventTime: opt(r.max_event_time),
    updated: parseTimestampNanos(r.updated),
    filePath: r.file_path,
    fileSize: BigInt(r.file_size ?? 0),
    fileSchemaHash: r.file_schema_hash,
    sourceDataHash: r.source_data_hash,
    numRows: BigInt(r.num_rows),
    sortOrder: r.sort_order,
    maxSortKeyTime: opt(r.max_sort_key_time),
    partitionFormatVersion: Number(r.partition_format_version),
  };
}

/** Rejects records that readers would reject (upstream Partition::validate), before they are written. */
export function validatePartition(p: Partition): void {
  const where = `partition ${p.viewSetName}/${p.viewInstanceId}`;
  if (p.beginInsertTime > p.endInsertTime) throw new RangeError(`${where}: insert range begins after it ends`);
  if ((p.minEventTime === null) !== (p.maxEventTime === null)) {
    throw new RangeError(`${where}: only one of min/max event time is set`);
  }
  if (p.numRows < 0n) throw new RangeError(`${where}: negative row count`);
  if (p.numRows > 0n && (p.minEventTime === null || p.filePath === null)) {
    throw new RangeError(`${where}: a non-empty partition needs a file and an event range`);
  }
  if (p.numRows === 0n && (p.minEventTime !== null || p.filePath !== null)) {
    throw new RangeError(`${where}: an empty partition has no file and no event range`);
  }
  if (p.minEventTime === null && p.maxSortKeyTime !== null) {
    throw new RangeError(`${where}: max sort key time without an event range`);
  }
  hashToObjectCount(p.sourceDataHash);
}

export interface RetiredPartition {
  filePath: string | null;
  fileSize: bigint;
}

/**
 * Deletes the partition rows selected by `where` (over lakehouse_partitions, params from $2 on) and
 * schedules their files for deletion in the same statement.
 */
async function retireWhere(tx: SqlExecutor, where: string, params: unknown[]): Promise<RetiredPartition[]> {
  const res = await tx.query<{ file_path: string | null; file_size: string | null }>(
    `WITH retired AS (
       DELETE FROM lakehouse_partitions WHERE ${where} RETURNING file_path, file_size
     ), scheduled AS (
       INSERT INTO temporary_files(file_path, file_size, expiration)
       SELECT file_path, file_size, $1::timestamptz FROM retired WHERE file_path IS NOT NULL
     )
     SELECT file_path, file_size FROM retired`,
    [ts(cleanupExpiration()), ...params],
  );
  return res.rows.map((r) => ({ filePath: r.file_path, fileSize: BigInt(r.file_size ?? 0) }));
}

async function retireMatching(
  tx: SqlExecutor,
  viewSetName: string,
  viewInstanceId: string,
  begin: Nanos,
  end: Nanos,
  match: RetireMatch,
  sameRunRanges: TimeRange[] = [],
): Promise<RetiredPartition[]> {
  const key = 'view_set_name = $2 AND view_instance_id = $3';
  if (match === 'overlap') {
    // Inclusive bounds: a block at a shared boundary instant belongs to both ranges, and a degenerate
    // [t, t] range must intersect anything containing t (the default '[)' makes it empty).
    return retireWhere(
      tx,
      `${key} AND tstzrange(begin_insert_time, end_insert_time, '[]') && tstzrange($4, $5, '[]')
       AND NOT EXISTS (SELECT 1 FROM unnest($6::timestamptz[], $7::timestamptz[]) AS same_run(b, e)
                       WHERE same_run.b = begin_insert_time AND same_run.e = end_insert_time)`,
      [viewSetName, viewInstanceId, ts(begin), ts(end), sameRunRanges.map((r) => ts(r.begin)), sameRunRanges.map((r) => ts(r.end))],
    );
  }
  if (begin === end) {
    // A single-instant partition (one JIT block) is only replaced by a partition of that same instant.
    return retireWhere(tx, `${key} AND begin_insert_time = $4 AND end_insert_time = $4`, [
      viewSetName,
      viewInstanceId,
      ts(begin),
    ]);
  }
  return retireWhere(tx, `${key} AND begin_insert_time >= $4 AND end_insert_time <= $5`, [
    viewSetName,
    viewInstanceId,
    ts(begin),
    ts(end),
  ]);
}

function isOverlapViolation(err: unknown): boolean {
  const e = err as { code?: unknown; constraint?: unknown } | null;
  return e?.code === '23P01' && (e.constraint === undefined || e.constraint === NO_OVERLAP_CONSTRAINT);
}

/**
 * Records a partition, replacing what `retire` selects, in one transaction serialized per
 * (view set, instance, insert range) by an advisory lock. Overlapping writers of different ranges
 * are caught by the catalog's exclusion constraint and reported as PartitionOverlapError.
 * Returns the partitions it replaced.
 */
export async function insertPartition(
  db: Database,
  partition: Partition,
  retire: RetireMatch,
  opts: InsertPartitionOptions = {},
): Promise<RetiredPartition[]> {
  validatePartition(partition);
  const p = partition;
  try {
    return await db.transaction(async (tx) => {
      const lockKey = partitionLockKey(p.viewSetName, p.viewInstanceId, p.beginInsertTime, p.endInsertTime);
      await tx.query('SELECT pg_advisory_xact_lock($1::bigint)', [lockKey]);
      const retired = await retireMatching(
        tx,
        p.viewSetName,
        p.viewInstanceId,
        p.beginInsertTime,
        p.endInsertTime,
        retire,
        retire === 'overlap' ? opts.sameRunRanges : [],
      );
      // Explicit column list: a column added later cannot silently receive a misplaced value.
      await tx.query(
        `INSERT INTO lakehouse_partitions(
           view_set_name, view_instance_id, begin_insert_time, end_insert_time, min_event_time, max_event_time,
           updated, file_path, file_size, file_schema_hash, source_data_hash, num_rows, partition_format_version,
           sort_order, max_sort_key_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, ${PARTITION_FORMAT_VERSION}, $13, $14)`,
        [
          p.viewSetName,
          p.viewInstanceId,
          ts(p.beginInsertTime),
          ts(p.endInsertTime),
          tsOrNull(p.minEventTime),
          tsOrNull(p.maxEventTime),
          ts(p.updated),
          p.filePath,
          p.fileSize,
          p.fileSchemaHash,
          p.sourceDataHash,
          p.numRows,
          p.sortOrder,
          tsOrNull(p.maxSortKeyTime),
        ],
      );
      return retired;
    });
  } catch (err) {
    if (opts.store && p.filePath !== null) {
      // A failed commit may still have been applied: delete the file only if nothing references it.
      await deleteIfOrphan(db, opts.store, p.filePath).catch(() => {});
    }
    if (isOverlapViolation(err)) {
      throw new PartitionOverlapError(
        `new partition ${p.viewSetName}/${p.viewInstanceId} [${ts(p.beginInsertTime)}, ${ts(p.endInsertTime)}] ` +
          `overlaps an existing partition of the same schema that its '${retire}' retire step did not replace ` +
          '(likely a concurrent materialization or merge); retire the conflicting partition or align the range, ' +
          `then retry (${(err as Error).message})`,
        { cause: err },
      );
    }
    throw err;
  }
}

/** Deletes a partition file from the store unless a catalog row references it. Returns whether it deleted. */
export async function deleteIfOrphan(db: SqlExecutor, store: ObjectStore, filePath: string): Promise<boolean> {
  const res = await db.query('SELECT 1 FROM lakehouse_partitions WHERE file_path = $1 LIMIT 1', [filePath]);
  if (res.rows.length > 0) return false;
  await store.delete(filePath);
  return true;
}

export interface ListPartitionsOptions {
  /** Partitions whose insert range overlaps this one: begin_insert_time < end AND end_insert_time > begin. */
  insertRange?: TimeRange;
  /** Non-empty partitions whose event range intersects this one (inclusive). */
  eventRange?: TimeRange;
  /** Only partitions with this file schema hash. */
  schemaHash?: Uint8Array;
}

/** Partitions of one view instance, ordered by begin_insert_time, file_path. */
export async function listPartitions(
  db: SqlExecutor,
  viewSetName: string,
  viewInstanceId: string,
  opts: ListPartitionsOptions = {},
): Promise<Partition[]> {
  const params: unknown[] = [viewSetName, viewInstanceId];
  const conds = ['view_set_name = $1', 'view_instance_id = $2'];
  const add = (cond: (i: number) => string, value: unknown) => {
    params.push(value);
    conds.push(cond(params.length));
  };
  if (opts.insertRange) {
    add((i) => `begin_insert_time < $${i}`, ts(opts.insertRange.end));
    add((i) => `end_insert_time > $${i}`, ts(opts.insertRange.begin));
  }
  if (opts.eventRange) {
    add((i) => `min_event_time <= $${i}`, ts(opts.eventRange.end));
    add((i) => `max_event_time >= $${i}`, ts(opts.eventRange.begin));
  }
  if (opts.schemaHash) add((i) => `file_schema_hash = $${i}`, opts.schemaHash);
  const res = await db.query<PartitionRow>(
    `SELECT ${PARTITION_COLUMNS} FROM lakehouse_partitions WHERE ${conds.join(' AND ')}
     ORDER BY begin_insert_time, file_path`,
    params,
  );
  return res.rows.map(fromRow);
}

/** Every partition of every view (list_partitions), in catalog order. */
export async function listAllPartitions(db: SqlExecutor): Promise<Partition[]> {
  const res = await db.query<PartitionRow>(`SELECT ${PARTITION_COLUMNS} FROM lakehouse_partitions`);
  return res.rows.map(fromRow);
}

export interface OverlapOptions {
  schemaHash?: Uint8Array;
  /** Inclusive test (begin_insert_time <= end AND end_insert_time >= begin), as JIT freshness checks use. */
  inclusive?: boolean;
}

/** Partitions of one view instance whose insert range overlaps [begin, end) (or [begin, end] when inclusive). */
export async function listOverlappingPartitions(
  db: SqlExecutor,
  viewSetName: string,
  viewInstanceId: string,
  begin: Nanos,
  end: Nanos,
  opts: OverlapOptions = {},
): Promise<Partition[]> {
  if (!opts.inclusive) {
    return listPartitions(db, viewSetName, viewInstanceId, { insertRange: { begin, end }, schemaHash: opts.schemaHash });
  }
  const params: unknown[] = [viewSetName, viewInstanceId, ts(end), ts(begin)];
  let schemaCond = '';
  if (opts.schemaHash) {
    params.push(opts.schemaHash);
    schemaCond = 'AND file_schema_hash = $5';
  }
  const res = await db.query<PartitionRow>(
    `SELECT ${PARTITION_COLUMNS} FROM lakehouse_partitions
      WHERE view_set_name = $1 AND view_instance_id = $2 AND begin_insert_time <= $3 AND end_insert_time >= $4
      ${schemaCond}
      ORDER BY begin_insert_time, file_path`,
    params,
  );
  return res.rows.map(fromRow);
}

/** Partitions of every view whose insert range overlaps [begin, end) (what the maintenance daemon caches). */
export async function listPartitionsInInsertRange(db: SqlExecutor, begin: Nanos, end: Nanos): Promise<Partition[]> {
  const res = await db.query<PartitionRow>(
    `SELECT ${PARTITION_COLUMNS} FROM lakehouse_partitions
      WHERE begin_insert_time < $1 AND end_insert_time > $2
      ORDER BY begin_insert_time, file_path`,
    [ts(end), ts(begin)],
  );
  return res.rows.map(fromRow);
}

/** Retires (containment rule) the partitions of one view instance inside [begin, end]. */
export async function retirePartitions(
  db: Database,
  viewSetName: string,
  viewInstanceId: string,
  begin: Nanos,
  end: Nanos,
): Promise<RetiredPartition[]> {
  return db.transaction((tx) => retireMatching(tx, viewSetName, viewInstanceId, begin, end, 'containment'));
}

/** Retires the partition stored in filePath; false when no partition references it. */
export async function retirePartitionByFile(db: Database, filePath: string): Promise<boolean> {
  const retired = await db.transaction((tx) => retireWhere(tx, 'file_path = $2', [filePath]));
  return retired.length > 0;
}

/** Retires every partition of a view set (all instances) whose schema hash is not the current one. */
export async function retireIncompatiblePartitions(
  db: Database,
  viewSetName: string,
  currentSchemaHash: Uint8Array,
): Promise<RetiredPartition[]> {
  return db.transaction((tx) =>
    retireWhere(tx, 'view_set_name = $2 AND file_schema_hash IS DISTINCT FROM $3', [viewSetName, currentSchemaHash]),
  );
}

/** Retires up to `limit` partitions (any view) whose insert range ended before `horizon`. Returns how many. */
export async function retireExpiredPartitionsBatch(tx: SqlExecutor, horizon: Nanos, limit: number): Promise<number> {
  const retired = await retireWhere(
    tx,
    'ctid IN (SELECT ctid FROM lakehouse_partitions WHERE end_insert_time < $2 LIMIT $3)',
    [ts(horizon), limit],
  );
  return retired.length;
}
