// Merging a view's partitions into one (reference analytics.md §3.3 "merge"): DuckDB reads the
// partitions' Parquet files and writes the merged (or re-aggregated) rows as one file; the catalog
// then swaps the new partition in for the ones it contains.
import type { Partition, TimeRange } from './catalog/index.ts';
import { hashToObjectCount } from './catalog/index.ts';
import { localObjectPaths, parquetList } from './duck.ts';
import type { GlobalView, LakehouseContext, PartitionRows } from './view.ts';
import { writePartition } from './write_partition.ts';

export async function mergePartitions(ctx: LakehouseContext, view: GlobalView, range: TimeRange, parts: readonly Partition[]): Promise<Partition> {
  const sourceCount = parts.reduce((sum, p) => sum + hashToObjectCount(p.sourceDataHash), 0n);
  const files = parts.filter((p) => p.filePath !== null && p.numRows > 0n);
  let rows: PartitionRows = { numRows: 0, minEventTime: undefined, maxEventTime: undefined };
  if (files.length > 0) {
    const local = await localObjectPaths(ctx.lake.blobs, files.map((p) => p.filePath!));
    try {
      const source = `read_parquet(${parquetList(local.paths)}, union_by_name = true)`;
      const sql = view.mergeQuery ? view.mergeQuery(source) : `SELECT * FROM ${source}`;
      const [stats] = await ctx.duck.rows(`SELECT count(*)::BIGINT AS n FROM (${sql})`);
      const numRows = Number(stats!.n);
      const min = files.reduce<bigint | undefined>((m, p) => (p.minEventTime !== null && (m === undefined || p.minEventTime < m) ? p.minEventTime : m), undefined);
      const max = files.reduce<bigint | undefined>((m, p) => (p.maxEventTime !== null && (m === undefined || p.maxEventTime > m) ? p.maxEventTime : m), undefined);
      const sorted = view.mergeSortOrder && (!view.mergeQuery || files.every((p) => p.sortOrder !== null));
      rows = { parquet: await ctx.duck.queryToParquet(sql), numRows, minEventTime: min, maxEventTime: max, sortOrder: sorted ? view.mergeSortOrder : null };
    } finally {
      await local.release();
    }
  }
  return writePartition(ctx, view, range, sourceCount, rows);
}
