// One interface over real PostgreSQL (node-postgres pool) and embedded PGlite. Both backends bind the
// same parameter values and return the same JS types (see sql_types.ts for the result conventions).
import type { LakeConfig } from './config.ts';
import { IN_MEMORY_DATA_DIR } from './config.ts';

export interface QueryResult<R> {
  rows: R[];
  /** Rows returned by a SELECT / RETURNING, otherwise rows affected. */
  rowCount: number;
}

export interface SqlExecutor {
  /**
   * Runs one statement. Params: string (also for BIGINT, NUMERIC, TIMESTAMPTZ, UUID), number, boolean,
   * null, string[] for TEXT[], Uint8Array for BYTEA; bigint and Date are accepted and sent as strings.
   */
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<R>>;
}

export interface Database extends SqlExecutor {
  readonly kind: 'postgres' | 'pglite';
  /** Runs fn inside BEGIN/COMMIT (ROLLBACK when it throws). Use `tx`, not the Database, inside fn. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** node-postgres pool size (default 10). Ignored by PGlite, which has a single connection. */
  poolSize?: number;
  /** How long to wait for a PostgreSQL connection before failing with LakeUnavailableError (default 5000 ms). */
  connectTimeoutMs?: number;
}

export const DEFAULT_POOL_SIZE = 10;

/**
 * Opens PostgreSQL when a connection string is given, otherwise PGlite persisted in `<dataDir>/pg`
 * (in memory when dataDir is ':memory:'). Does not create the schema: see migrateDataLake.
 */
export async function openDatabase(
  config: LakeConfig | { connectionString?: string; dataDir: string },
  options: DatabaseOptions = {},
): Promise<Database> {
  if (config.connectionString) {
    const { openPostgresDatabase } = await import('./postgres_database.ts');
    return openPostgresDatabase(config.connectionString, options);
  }
  const { openPgliteDatabase } = await import('./pglite_database.ts');
  return openPgliteDatabase(config.dataDir === IN_MEMORY_DATA_DIR ? undefined : config.dataDir);
}
