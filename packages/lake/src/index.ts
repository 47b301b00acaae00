// Public API of @micromegas/lake: configuration, database (PostgreSQL or PGlite), schema migration,
// object stores and the Lake handle that ties them together.
export type { LakeConfig, LakeFlags } from './config.ts';
export {
  checkConnectionString,
  checkObjectStoreUri,
  DEFAULT_DATA_DIR,
  ENV_OBJECT_STORE_URI,
  ENV_SQL_CONNECTION_STRING,
  IN_MEMORY_DATA_DIR,
  lakeConfigFrom,
} from './config.ts';
export {
  ConfigError,
  InvalidObjectKeyError,
  isTransient,
  isTransientDatabaseError,
  LakeUnavailableError,
  ObjectStoreError,
} from './errors.ts';
export type { Database, DatabaseOptions, QueryResult, SqlExecutor } from './database.ts';
export { DEFAULT_POOL_SIZE, openDatabase } from './database.ts';
export {
  normalizeTimestamptz,
  parseArrayLiteral,
  parsePropertiesLiteral,
  parseRecordLiteral,
} from './sql_types.ts';
export { DATA_LAKE_SCHEMA_VERSION, migrateDataLake, readDataLakeSchemaVersion } from './migration.ts';
export type { ObjectStore } from './object_store.ts';
export { blockObjectKey, openObjectStore, validateListPrefix, validateObjectKey } from './object_store.ts';
export type { S3StoreOptions } from './s3_store.ts';
export { openS3Store, s3ClientConfigFrom } from './s3_store.ts';
export { openFileStore } from './file_store.ts';
export { openMemoryStore } from './memory_store.ts';
export type { Lake, OpenLakeOptions } from './lake.ts';
export { checkReady, NotReadyError, openLake, READY_TIMEOUT_MS } from './lake.ts';
