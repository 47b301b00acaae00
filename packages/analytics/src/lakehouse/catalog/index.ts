// The lakehouse catalog in PostgreSQL (or PGlite): schema migration, partition records, files
// awaiting deletion and retention.
export {
  LAKEHOUSE_MIGRATION_LOCK,
  LAKEHOUSE_SCHEMA_VERSION,
  LakehouseMigrationError,
  migrateLakehouse,
  readLakehouseSchemaVersion,
} from './migration.ts';
export type {
  InsertPartitionOptions,
  ListPartitionsOptions,
  OverlapOptions,
  Partition,
  RetiredPartition,
  RetireMatch,
  TimeRange,
} from './partitions.ts';
export {
  deleteIfOrphan,
  hashToObjectCount,
  insertPartition,
  listAllPartitions,
  listOverlappingPartitions,
  listPartitions,
  listPartitionsInInsertRange,
  objectCountHash,
  PARTITION_FORMAT_VERSION,
  partitionLockKey,
  PartitionOverlapError,
  retireExpiredPartitionsBatch,
  retireIncompatiblePartitions,
  retirePartitionByFile,
  retirePartitions,
  validatePartition,
} from './partitions.ts';
export {
  addTemporaryFile,
  CLEANUP_BATCH_SIZE,
  cleanupExpiration,
  deleteExpiredTemporaryFiles,
  deleteObjects,
  nowNanos,
  TEMPORARY_FILE_GRACE_NS,
} from './temporary_files.ts';
export type { RetentionCounts } from './retention.ts';
export {
  deleteEmptyProcesses,
  deleteEmptyStreams,
  deleteExpiredBlocks,
  deleteOldData,
  NANOS_PER_DAY,
  retireExpiredPartitions,
} from './retention.ts';
