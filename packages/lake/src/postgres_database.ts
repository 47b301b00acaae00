// Database backed by a real PostgreSQL server through a node-postgres pool.
import pg from 'pg';
import type { Database, DatabaseOptions, QueryResult, SqlExecutor } from './database.ts';
import { DEFAULT_POOL_SIZE } from './database.ts';
import { classifyDatabaseError } from './errors.ts';
import { normalizeParam, RESULT_PARSERS } from './sql_types.ts';

const typeParsers = {
  getTypeParser(oid: number, format?: string): (value: string) => unknown {
    const custom = RESULT_PARSERS[oid];
    if (custom && format !== 'binary') return custom;
    return (pg.types.getTypeParser as (oid: number, format?: string) => (value: string) => unknown)(oid, format);
  },
};

function toDriverParams(params: unknown[] | undefined): unknown[] | undefined {
  return params?.map((p) => {
    const v = normalizeParam(p);
    // node-postgres binds Buffers as bytea; wrap plain Uint8Arrays without copying.
    if (v instanceof Uint8Array && !Buffer.isBuffer(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    return v;
  });
}

async function run<R>(client: pg.Pool | pg.PoolClient, sql: string, params?: unknown[]): Promise<QueryResult<R>> {
  try {
    const res = await client.query(sql, toDriverParams(params));
    // A multi-statement string yields an array of results; report the last one.
    const last = (Array.isArray(res) ? res[res.length - 1] : res) as pg.QueryResult;
    return { rows: last.rows as R[], rowCount: last.rowCount ?? last.rows.length };
  } catch (err) {
    throw classifyDatabaseError(err, 'query');
  }
}

export function openPostgresDatabase(connectionString: string, options: DatabaseOptions = {}): Database {
  const pool = new pg.Pool({
    connectionString,
    max: options.poolSize ?? DEFAULT_POOL_SIZE,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    idleTimeoutMillis: 30_000,
    types: typeParsers,
  });
  // An idle client losing its connection emits 'error' on the pool; without a listener that would
  // crash the process. The next query simply gets a fresh connection.
  pool.on('error', () => {});
  let closed: Promise<void> | undefined;

  return {
    kind: 'postgres',
    query<R = Record<string, unknown>>(sql: string, params?: unknown[]) {
      return run<R>(pool, sql, params);
    },
    async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        throw classifyDatabaseError(err, 'connect');
      }
      let broken: Error | undefined;
      // A checked-out client whose connection dies emits 'error'; unhandled, that would crash the
      // process. The failing query rejects anyway, so the event only needs to mark the client broken.
      const onError = (err: Error) => {
        broken = err;
      };
      client.on('error', onError);
      try {
        await run(client, 'BEGIN');
        const tx: SqlExecutor = { query: (sql, params) => run(client, sql, params) };
        const result = await fn(tx);
        await run(client, 'COMMIT');
        return result;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackErr) {
          // The connection is in an unknown state: drop it instead of returning it to the pool.
          broken = rollbackErr as Error;
        }
        throw err;
      } finally {
        client.off('error', onError);
        client.release(broken);
      }
    },
    close() {
      closed ??= pool.end();
      return closed;
    },
  };
}
