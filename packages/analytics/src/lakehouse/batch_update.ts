// Keeping a global view's partitions in step with its source (reference analytics.md §3.4): each
// aligned bucket of an insert range is built from source when its partitions' object counts do not
// add up to the source's, merged when they do but are split, and left alone when already whole.
import { hashToObjectCount, listPartitions, type Partition } from './catalog/index.ts';
import { mergePartitions } from './merge.ts';
import type { GlobalView, LakehouseContext, Strategy } from './view.ts';
import { writePartition } from './write_partition.ts';
import type { Nanos } from '../time.ts';

export type PartitionOutcome = 'created' | 'merged' | 'up-to-date' | 'overlap' | 'split';

export interface MaterializeStats {
  created: number;
  merged: number;
  upToDate: number;
  aborted: number;
}

function decide(existing: readonly Partition[], begin: Nanos, end: Nanos, sourceCount: bigint): Strategy | 'up-to-date' | 'overlap' {
  if (existing.length === 0) return 'source';
  if (existing.some((p) => p.beginInsertTime < begin || p.endInsertTime > end)) return 'overlap';
  if (existing.some((p) => p.sourceDataHash.length !== 8)) return 'source';
  const sum = existing.reduce((s, p) => s + hashToObjectCount(p.sourceDataHash), 0n);
  if (sum !== sourceCount) return 'source';
  return existing.length > 1 ? 'merge' : 'up-to-date';
}

/** Brings the bucket [begin, end) of a global view up to date. */
export async function materializePartition(ctx: LakehouseContext, view: GlobalView, begin: Nanos, end: Nanos, stats: MaterializeStats): Promise<void> {
  const sourceCount = await view.sourceCount(ctx, begin, end);
  const existing = await listPartitions(ctx.lake.db, view.setName, view.instanceId, { insertRange: { begin, end }, schemaHash: view.schemaHash });
  const strategy = decide(existing, begin, end, sourceCount);
  if (strategy === 'up-to-date') {
    stats.upToDate++;
    return;
  }
  if (strategy === 'overlap') {
    ctx.log('warn', `${view.setName}: found a partition overlapping [${begin}, ${end}) without being inside it; left alone`);
    stats.aborted++;
    return;
  }
  const maxDelta = view.maxPartitionDelta(strategy);
  if (maxDelta < end - begin) {
    if (strategy === 'merge' && existing.every((p) => p.endInsertTime - p.beginInsertTime === maxDelta)) {
      stats.upToDate++;
      return;
    }
    await materializePartitionRange(ctx, view, begin, end, maxDelta, stats);
    return;
  }
  if (strategy === 'merge') {
    await mergePartitions(ctx, view, { begin, end }, existing);
    stats.merged++;
  } else {
    const rows = await view.build(ctx, begin, end);
    await writePartition(ctx, view, { begin, end }, sourceCount, rows);
    stats.created++;
  }
}

/** Materializes every aligned bucket of `delta` inside [begin, end). */
export async function materializePartitionRange(
  ctx: LakehouseContext,
  view: GlobalView,
  begin: Nanos,
  end: Nanos,
  delta: Nanos,
  stats: MaterializeStats = { created: 0, merged: 0, upToDate: 0, aborted: 0 },
): Promise<MaterializeStats> {
  let b = begin - (((begin % delta) + delta) % delta);
  if (b < begin) b += delta;
  for (; b + delta <= end; b += delta) await materializePartition(ctx, view, b, b + delta, stats);
  return stats;
}
