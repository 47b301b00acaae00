// Public API of @micromegas/analytics: block decoding into view rows, the lakehouse (partitions,
// global views and their daemon, just-in-time views) and its catalog.
export * from './time.ts';
export * from './metadata.ts';
export * from './metadata_cache.ts';
export { BlockDecodeError, blobKey, fetchBlockPayload, decompressPayload, decodeDependencies, PayloadScratch } from './block_source.ts';
export { encodeParquet, decodeParquet } from './parquet.ts';
export { LogEntriesBuilder, logEntriesSchema, LOG_ENTRIES_SCHEMA_HASH } from './views/log_entries.ts';
export { MeasuresBuilder, measuresSchema, MEASURES_SCHEMA_HASH } from './views/measures.ts';
export * from './spans/index.ts';
export * from './lakehouse/catalog/index.ts';
export type { GlobalView, LakehouseContext, PartitionRows } from './lakehouse/view.ts';
export { DuckEngine, localObjectPaths, parquetList, sqlString } from './lakehouse/duck.ts';
export { openLakehouse, consoleLogger, type Lakehouse, type LakehouseLogger } from './lakehouse/lakehouse.ts';
export { materializePartitionRange, type MaterializeStats } from './lakehouse/batch_update.ts';
export { MaintenanceDaemon, materializeGlobalViews, DEFAULT_RETENTION_DAYS, type DaemonOptions } from './lakehouse/daemon.ts';
export * from './lakehouse/global/index.ts';
export { jitUpdate, groupBlocksIntoPartitions, DEFAULT_JIT_CONFIG, type JitConfig, type JitStats } from './lakehouse/jit.ts';
export { makeJitView, ViewError, type JitView } from './lakehouse/jit_views.ts';
export { writePartition, partitionFilePath } from './lakehouse/write_partition.ts';
export { currentPartitions, queryView, type ViewInstanceRef } from './lakehouse/partition_reader.ts';
export { ImagesBuilder, imagesSchema, IMAGES_SCHEMA_HASH } from './views/images.ts';
export * from './query/engine.ts';
export { LakehouseQueryEngine, type LakehouseEngineOptions } from './query/lakehouse_engine.ts';
export { SANDBOX_LOCKDOWN } from './query/instance_pool.ts';
export { JsonbError, decodeJsonb, encodeJsonb, encodeJsonbStringMap, jsonbToJson } from './jsonb.ts';
export { tokenize, SqlSyntaxError, type Token, type TokenKind } from './query/sql_tokens.ts';
export { DenyRuleError, type QueryDenials, type QueryDenialRow } from './query/admin_functions.ts';
