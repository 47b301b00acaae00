// Reading a view instance's current partitions with DuckDB: the files of every non-empty partition
// with the view's schema hash, optionally only those whose event range meets a time range.
import { listPartitions, type Partition, type TimeRange } from './catalog/index.ts';
import { localObjectPaths, parquetList } from './duck.ts';
import type { LakehouseContext } from './view.ts';

export interface ViewInstanceRef {
  setName: string;
  instanceId: string;
  schemaHash: Uint8Array;
}

export async function currentPartitions(ctx: LakehouseContext, view: ViewInstanceRef, eventRange?: TimeRange): Promise<Partition[]> {
  const parts = await listPartitions(ctx.lake.db, view.setName, view.instanceId, { schemaHash: view.schemaHash, eventRange });
  return parts.filter((p) => p.filePath !== null && p.numRows > 0n);
}

/** Runs `sql(source)` where source reads the view's partitions; no partition → no rows. */
export async function queryView(
  ctx: LakehouseContext,
  view: ViewInstanceRef,
  sql: (source: string) => string,
  eventRange?: TimeRange,
): Promise<Record<string, unknown>[]> {
  const parts = await currentPartitions(ctx, view, eventRange);
  if (parts.length === 0) return [];
  const files = await localObjectPaths(ctx.lake.blobs, parts.map((p) => p.filePath!));
  try {
    return await ctx.duck.rows(sql(`read_parquet(${parquetList(files.paths)}, union_by_name = true)`));
  } finally {
    await files.release();
  }
}
