// Retention (upstream delete.rs): forgets raw telemetry and partitions older than N days. Each kind
// goes in batches of 1000 so one pass never holds a huge transaction or a long list of blobs.
import { deleteExpiredTraceIndex } from '../../otel/trace_index.ts';
import { blockObjectKey, type Database, type ObjectStore } from '@micromegas/lake';
import { formatTimestampNanos, type Nanos } from '../../time.ts';
import { CLEANUP_BATCH_SIZE, deleteObjects, nowNanos } from './temporary_files.ts';
import { retireExpiredPartitionsBatch } from './partitions.ts';

export const NANOS_PER_DAY = 86_400n * 1_000_000_000n;

export interface RetentionCounts {
  blocks: number;
  streams: number;
  processes: number;
  partitions: number;
}

async function repeat(batch: () => Promise<number>): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await batch();
    total += n;
    if (n < CLEANUP_BATCH_SIZE) return total;
  }
}

/**
 * Deletes blocks inserted at or before the horizon and their payloads. A batch's rows are deleted
 * only if all its blobs could be deleted (a missing blob counts as deleted).
 */
export function deleteExpiredBlocks(db: Database, store: ObjectStore, horizon: Nanos): Promise<number> {
  const cutoff = formatTimestampNanos(horizon);
  return repeat(() =>
    db.transaction(async (tx) => {
      const res = await tx.query<{ process_id: string; stream_id: string; block_id: string }>(
        `DELETE FROM blocks
          WHERE block_id IN (SELECT block_id FROM blocks WHERE insert_time <= $1 LIMIT $2)
          RETURNING process_id, stream_id, block_id`,
        [cutoff, CLEANUP_BATCH_SIZE],
      );
      await deleteObjects(
        store,
        res.rows.map((r) => blockObjectKey({ processId: r.process_id, streamId: r.stream_id, blockId: r.block_id })),
      );
      return res.rows.length;
    }),
  );
}

/** Deletes streams inserted at or before the horizon that have no blocks left. */
export function deleteEmptyStreams(db: Database, horizon: Nanos): Promise<number> {
  const cutoff = formatTimestampNanos(horizon);
  return repeat(async () => {
    const res = await db.query(
      `WITH batch AS (
         SELECT stream_id FROM streams
          WHERE insert_time <= $1
            AND NOT EXISTS (SELECT 1 FROM blocks WHERE blocks.stream_id = streams.stream_id)
          LIMIT $2)
       DELETE FROM streams WHERE stream_id IN (SELECT stream_id FROM batch) RETURNING stream_id`,
      [cutoff, CLEANUP_BATCH_SIZE],
    );
    return res.rows.length;
  });
}

/** Deletes processes inserted at or before the horizon that have no streams left. */
export function deleteEmptyProcesses(db: Database, horizon: Nanos): Promise<number> {
  const cutoff = formatTimestampNanos(horizon);
  return repeat(async () => {
    const res = await db.query(
      `WITH batch AS (
         SELECT process_id FROM processes
          WHERE insert_time <= $1
            AND NOT EXISTS (SELECT 1 FROM streams WHERE streams.process_id = processes.process_id)
          LIMIT $2)
       DELETE FROM processes WHERE process_id IN (SELECT process_id FROM batch) RETURNING process_id`,
      [cutoff, CLEANUP_BATCH_SIZE],
    );
    return res.rows.length;
  });
}

/** Retires partitions whose insert range ended before the horizon; their files go to temporary_files. */
export function retireExpiredPartitions(db: Database, horizon: Nanos): Promise<number> {
  return repeat(() => db.transaction((tx) => retireExpiredPartitionsBatch(tx, horizon, CLEANUP_BATCH_SIZE)));
}

/**
 * Deletes everything older than `retentionDays` days before `now`: blocks and their blobs, then
 * streams and processes left empty, then expired partitions (whose files are deleted later by
 * deleteExpiredTemporaryFiles, once their grace period is over).
 */
export async function deleteOldData(
  db: Database,
  store: ObjectStore,
  retentionDays: number,
  now: Nanos = nowNanos(),
): Promise<RetentionCounts> {
  if (!Number.isInteger(retentionDays) || retentionDays < 0) {
    throw new RangeError(`retention days must be a non-negative integer, got ${retentionDays}`);
  }
  const horizon = now - BigInt(retentionDays) * NANOS_PER_DAY;
  const blocks = await deleteExpiredBlocks(db, store, horizon);
  const streams = await deleteEmptyStreams(db, horizon);
  const processes = await deleteEmptyProcesses(db, horizon);
  const partitions = await retireExpiredPartitions(db, horizon);
  await deleteExpiredTraceIndex(db, horizon);
  return { blocks, streams, processes, partitions };
}
