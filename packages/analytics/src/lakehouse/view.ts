// A view of the lakehouse: what it is called, the schema of its Parquet files, where its rows come
// from and how its partitions are cut. Global views are kept by the daemon; per-instance views are
// materialized just in time (jit.ts).
import type { RecordBatch, Schema } from 'apache-arrow';
import type { Lake } from '@micromegas/lake';
import type { DuckEngine } from './duck.ts';
import type { Nanos } from '../time.ts';
import type { RetireMatch } from './catalog/index.ts';

export interface LakehouseContext {
  lake: Pick<Lake, 'db' | 'blobs'>;
  duck: DuckEngine;
  log: (level: 'info' | 'warn' | 'error', message: string) => void;
}

/** Rows of one partition, ready to be written. */
export interface PartitionRows {
  /** Arrow batches in the view's schema, or a Parquet file already encoded (merges, SQL views). */
  batches?: RecordBatch[];
  parquet?: Uint8Array;
  numRows: number;
  minEventTime: Nanos | undefined;
  maxEventTime: Nanos | undefined;
  sortOrder?: string[] | null;
  maxSortKeyTime?: Nanos | null;
  /** Recycles the batches' buffers once the file is written. */
  release?: () => void;
}

export type Strategy = 'source' | 'merge';

export interface GlobalView {
  readonly setName: string;
  readonly instanceId: 'global';
  readonly schema: Schema;
  readonly schemaHash: Uint8Array;
  /** Views are materialized in ascending update group (blocks 1000 → 2000 → 3000). */
  readonly updateGroup: number;
  /** Largest partition the view keeps, in ns, when built from source or merged. */
  maxPartitionDelta(strategy: Strategy): Nanos;
  /** Object count of the source in the insert range [begin, end). */
  sourceCount(ctx: LakehouseContext, begin: Nanos, end: Nanos): Promise<bigint>;
  /** The rows of [begin, end) built from the source. */
  build(ctx: LakehouseContext, begin: Nanos, end: Nanos): Promise<PartitionRows>;
  /** SQL merging partitions (read through `source`), default `SELECT * FROM source`. */
  mergeQuery?(source: string): string;
  /** Sort order the merged file certifies. */
  readonly mergeSortOrder?: string[];
  /** Columns of the rows' event time bounds, for merges done in SQL. */
  readonly eventTimeColumns: [min: string, max: string];
}

export const NS_PER_SECOND = 1_000_000_000n;
export const NS_PER_MINUTE = 60n * NS_PER_SECOND;
export const NS_PER_HOUR = 60n * NS_PER_MINUTE;
export const NS_PER_DAY = 24n * NS_PER_HOUR;

export type { RetireMatch };
