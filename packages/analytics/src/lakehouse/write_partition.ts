// Writing one partition: its Parquet file into the object store under views/{set}/{instance}/…,
// then its catalog row, replacing what it supersedes. A file whose row could not be inserted is
// deleted again unless some row references it.
import { randomUUID } from 'node:crypto';
import { encodeParquet } from '../parquet.ts';
import type { Schema } from 'apache-arrow';
import type { Nanos } from '../time.ts';
import { insertPartition, nowNanos, objectCountHash, type Partition, type RetireMatch, type TimeRange } from './catalog/index.ts';
import type { LakehouseContext, PartitionRows } from './view.ts';

export interface PartitionTarget {
  setName: string;
  instanceId: string;
  schema: Schema;
  schemaHash: Uint8Array;
}

const pad = (n: number) => String(n).padStart(2, '0');

// The catalog keeps µs: widen event bounds outward so that rounding never hides a row from a range.
const floorMicros = (t: Nanos) => t - (((t % 1000n) + 1000n) % 1000n);
const ceilMicros = (t: Nanos) => -floorMicros(-t);

/** views/{set}/{instance}/{YYYY-MM-DD}/{HH-MM-SS}_{uuid}.parquet, dated by the insert range's start. */
export function partitionFilePath(setName: string, instanceId: string, beginInsert: Nanos): string {
  const d = new Date(Number(beginInsert / 1_000_000n));
  const day = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  const time = `${pad(d.getUTCHours())}-${pad(d.getUTCMinutes())}-${pad(d.getUTCSeconds())}`;
  return `views/${setName}/${instanceId}/${day}/${time}_${randomUUID()}.parquet`;
}

export interface WritePartitionOptions {
  retire?: RetireMatch;
  sameRunRanges?: TimeRange[];
}

export async function writePartition(
  ctx: LakehouseContext,
  view: PartitionTarget,
  insertRange: TimeRange,
  sourceCount: bigint,
  rows: PartitionRows,
  opts: WritePartitionOptions = {},
): Promise<Partition> {
  let filePath: string | null = null;
  let fileSize = 0n;
  if (rows.numRows > 0) {
    let bytes: Uint8Array;
    try {
      bytes = rows.parquet ?? encodeParquet(view.schema, rows.batches ?? []);
    } finally {
      rows.release?.();
    }
    filePath = partitionFilePath(view.setName, view.instanceId, insertRange.begin);
    await ctx.lake.blobs.putIfAbsent(filePath, bytes);
    fileSize = BigInt(bytes.length);
  }
  else rows.release?.();
  const empty = rows.numRows === 0;
  const partition: Partition = {
    viewSetName: view.setName,
    viewInstanceId: view.instanceId,
    beginInsertTime: insertRange.begin,
    endInsertTime: insertRange.end,
    minEventTime: empty || rows.minEventTime === undefined ? null : floorMicros(rows.minEventTime),
    maxEventTime: empty || rows.maxEventTime === undefined ? null : ceilMicros(rows.maxEventTime),
    updated: nowNanos(),
    filePath,
    fileSize,
    fileSchemaHash: view.schemaHash,
    sourceDataHash: objectCountHash(sourceCount),
    numRows: BigInt(rows.numRows),
    sortOrder: rows.sortOrder ?? null,
    maxSortKeyTime: rows.maxSortKeyTime ?? null,
  };
  await insertPartition(ctx.lake.db, partition, opts.retire ?? 'containment', { store: ctx.lake.blobs, sameRunRanges: opts.sameRunRanges });
  return partition;
}
