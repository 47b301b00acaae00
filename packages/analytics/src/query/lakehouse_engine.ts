// The SQL engine over the lakehouse: each query gets its own DuckDB instance where the global views
// are tables over their current Parquet partitions, view_instance calls are materialized just in
// time, and DataFusion-isms have DuckDB equivalents (reference analytics.md §1, §8.2). The instance
// is sandboxed: it may read exactly the partition files of the query, nothing else, and the user's
// SQL cannot change its configuration. Results go out as Arrow record batches, chunk by chunk.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, StatementType, type DuckDBConnection, type DuckDBResult } from '@duckdb/node-api';
import type { RecordBatch, Schema } from 'apache-arrow';
import { DEFAULT_GLOBAL_VIEWS } from '../lakehouse/global/index.ts';
import { localObjectPaths } from '../lakehouse/duck.ts';
import type { GlobalView, LakehouseContext } from '../lakehouse/view.ts';
import { ChunkConverter } from './arrow_chunks.ts';
import { QueryError, type QueryEngine, type QueryErrorKind, type QueryRequest, type QueryResult, type TableInfo } from './engine.ts';
import { MACROS, registerFunctions } from './functions.ts';
import { PlanError, globalViewStatements, planKeys, planQuery, renderSql, type QueryPlan } from './plan.ts';
import { SqlSyntaxError } from './sql_tokens.ts';
import { evaluateTableFunctions } from './table_functions.ts';
import { sqlString, type QueryRange } from './views_sql.ts';

export interface LakehouseEngineOptions {
  /** DuckDB memory_limit of each query, e.g. '1GB'. */
  memoryLimit?: string;
  /** DuckDB worker threads of each query. */
  threads?: number;
  /** A query running longer is interrupted (deadline_exceeded). */
  timeoutMs?: number;
  /** Queries running at once; the others wait. */
  maxConcurrentQueries?: number;
  /** Rows per Arrow record batch (DuckDB produces chunks of 2048). */
  batchRows?: number;
  globalViews?: readonly GlobalView[];
  /** DuckDB instances prepared ahead of queries (creating one takes tens of ms). */
  prewarm?: number;
  /**
   * Whether some caller can be an admin (upstream's admin_principal_possible). When false (the
   * default: API keys only), admin functions are open to every caller, as upstream registers them;
   * when true, only callers with `admin` may use them.
   */
  adminPossible?: boolean;
}

/** A fresh DuckDB instance with the session functions defined, not yet sandboxed. */
interface Fresh {
  instance: DuckDBInstance;
  connection: DuckDBConnection;
}

/** Statements a query may be once DuckDB has parsed it (SHOW/DESCRIBE/VALUES are SELECTs to DuckDB). */
const QUERY_STATEMENTS = new Set<number>([StatementType.SELECT, StatementType.EXPLAIN]);

/** Waiting line for query slots. */
class Semaphore {
  private waiting: (() => void)[] = [];
  constructor(private available: number) {}
  async acquire(): Promise<() => void> {
    if (this.available > 0) this.available--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.available++;
    };
  }
}

function classify(err: unknown, queryId: string, timedOut: boolean): QueryError {
  if (err instanceof QueryError) return err;
  const message = err instanceof Error ? err.message : String(err);
  let kind: QueryErrorKind = 'internal';
  if (timedOut || /^INTERRUPT Error|Interrupted/i.test(message)) kind = timedOut ? 'deadline_exceeded' : 'internal';
  else if (err instanceof PlanError || err instanceof SqlSyntaxError) kind = 'invalid_argument';
  else if (/^Out of Memory Error|could not allocate|memory limit/i.test(message)) kind = 'resource_exhausted';
  else if (/^Permission Error/.test(message)) kind = 'permission_denied';
  else if (/^(Parser|Binder|Catalog|Conversion|Invalid Input|Syntax|Constraint|Not implemented|Invalid type|Out of Range|Dependency|Invalid) Error/.test(message)) kind = 'invalid_argument';
  const text = kind === 'deadline_exceeded' ? 'query timed out' : message.replace(/\s+$/, '');
  return new QueryError(kind, `${text} (query_id=${queryId})`, { cause: err });
}

interface Session {
  connection: DuckDBConnection;
  sql: string;
  /** Work that needs the final SQL before it runs (per-row lake functions). */
  beforeRun?: (sql: string) => Promise<void>;
  close(): Promise<void>;
}

export class LakehouseQueryEngine implements QueryEngine {
  private readonly slots: Semaphore;
  private readonly globalViews: readonly GlobalView[];
  private readonly warm: Promise<Fresh>[] = [];
  private closed = false;

  constructor(
    private readonly ctx: LakehouseContext,
    private readonly options: LakehouseEngineOptions = {},
  ) {
    this.slots = new Semaphore(options.maxConcurrentQueries ?? 4);
    this.globalViews = options.globalViews ?? DEFAULT_GLOBAL_VIEWS;
  }

  private async createFresh(): Promise<Fresh> {
    const instance = await DuckDBInstance.create(':memory:', {
      threads: String(this.options.threads ?? 2),
      memory_limit: this.options.memoryLimit ?? '1GB',
    });
    try {
      const connection = await instance.connect();
      for (const m of MACROS) await connection.run(m);
      registerFunctions(connection);
      return { instance, connection };
    } catch (err) {
      instance.closeSync();
      throw err;
    }
  }

  /** A prepared instance if one is ready, else a new one; refills the pool either way. */
  private takeFresh(): Promise<Fresh> {
    const ready = this.warm.shift();
    const want = this.options.prewarm ?? 1;
    while (!this.closed && this.warm.length < want) {
      const p = this.createFresh();
      p.catch(() => {}); // a failed warm-up surfaces when taken
      this.warm.push(p);
    }
    return ready ?? this.createFresh();
  }

  /** Disposes of the prepared instances; running queries finish normally. */
  async close(): Promise<void> {
    this.closed = true;
    const warm = this.warm.splice(0);
    for (const p of warm) {
      const fresh = await p.catch(() => undefined);
      if (fresh) {
        fresh.connection.closeSync();
        fresh.instance.closeSync();
      }
    }
  }

  async tables(): Promise<TableInfo[]> {
    return this.globalViews.map((v) => ({ name: v.setName, schema: v.schema }));
  }

  private static range(request: QueryRequest): QueryRange | undefined {
    return request.begin !== undefined && request.end !== undefined ? { begin: request.begin, end: request.end } : undefined;
  }

  /** A sandboxed DuckDB instance with the plan's views, ready to run its SQL. */
  private adminAllowed(request: QueryRequest): boolean {
    return !this.options.adminPossible || request.caller.admin;
  }

  private async openSession(plan: QueryPlan, limit: number | undefined, dryRun: boolean): Promise<Session> {
    const cleanups: (() => Promise<void> | void)[] = [];
    const close = async () => {
      for (const c of cleanups.reverse()) await c();
      cleanups.length = 0;
    };
    try {
      const files = await localObjectPaths(this.ctx.lake.blobs, planKeys(plan));
      cleanups.push(files.release);
      const pathOf = new Map(planKeys(plan).map((k, i) => [k, files.paths[i]!]));
      const path = (key: string) => pathOf.get(key)!;
      const tempDir = await mkdtemp(join(tmpdir(), 'mm-query-'));
      cleanups.push(() => rm(tempDir, { recursive: true, force: true }));
      const { instance, connection } = await this.takeFresh();
      cleanups.push(() => instance.closeSync());
      cleanups.push(() => connection.closeSync());
      for (const s of globalViewStatements(plan, path)) await connection.run(s);
      // The sandbox: only the query's partition files are readable, nothing is writable (the temp
      // directory aside, which DuckDB needs to spill), no extension loads, and no setting changes.
      const allowed = [...pathOf.values()];
      await connection.run(`SET TimeZone = 'UTC'`);
      await connection.run(`SET allowed_paths = [${allowed.map(sqlString).join(', ')}]`);
      await connection.run(`SET temp_directory = ${sqlString(tempDir)}`);
      await connection.run(`SET autoinstall_known_extensions = false`);
      await connection.run(`SET autoload_known_extensions = false`);
      await connection.run(`SET enable_external_access = false`);
      await connection.run(`SET lock_configuration = true`);
      // Table functions run now, sandboxed: their argument subqueries are the user's SQL.
      const evaluated = await evaluateTableFunctions({ ctx: this.ctx, connection, plan, pathOf: path, globalViews: this.globalViews, dryRun });
      let sql = renderSql(plan, path, evaluated.replacements);
      if (limit !== undefined && ['select', 'with', 'values', 'from', 'table'].includes(plan.keyword)) {
        sql = `SELECT * FROM (${sql}) LIMIT ${Math.max(0, Math.floor(limit))}`;
      }
      return { connection, sql, close, beforeRun: evaluated.beforeRun };
    } catch (err) {
      await close();
      throw err;
    }
  }

  /** Parses the final SQL with DuckDB: exactly one statement, and a query. */
  private static async prepare(session: Session) {
    const statements = await session.connection.extractStatements(session.sql);
    if (statements.count !== 1) throw new PlanError('only one statement per query is allowed');
    const prepared = await statements.prepare(0);
    if (!QUERY_STATEMENTS.has(prepared.statementType)) throw new PlanError('only queries are allowed');
    return prepared;
  }

  async schemaOf(request: QueryRequest): Promise<Schema> {
    const release = await this.slots.acquire();
    let session: Session | undefined;
    try {
      const plan = await planQuery(this.ctx, request.sql, LakehouseQueryEngine.range(request), { globalViews: this.globalViews, materialize: false, adminAllowed: this.adminAllowed(request) });
      session = await this.openSession(plan, request.limit, true);
      const prepared = await LakehouseQueryEngine.prepare(session);
      const names = Array.from({ length: prepared.columnCount }, (_, i) => prepared.columnName(i));
      const types = Array.from({ length: prepared.columnCount }, (_, i) => prepared.columnType(i));
      return new ChunkConverter(names, types).schema;
    } catch (err) {
      throw classify(err, request.queryId, false);
    } finally {
      await session?.close();
      release();
    }
  }

  async execute(request: QueryRequest): Promise<QueryResult> {
    const release = await this.slots.acquire();
    const timeoutMs = this.options.timeoutMs;
    let timedOut = false;
    let session: Session | undefined;
    let busy = false;
    let closed = false;
    const finish = async () => {
      if (closed) return;
      closed = true;
      clearTimeout(timer);
      try {
        await session?.close();
      } finally {
        release();
      }
    };
    // The deadline covers planning (JIT materialization) too; DuckDB work is interrupted, and a
    // result left unread past it is closed.
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
      timedOut = true;
      if (session && busy) session.connection.interrupt();
      else if (session) void finish();
    }, timeoutMs);
    let result: DuckDBResult;
    let converter: ChunkConverter;
    try {
      const plan = await planQuery(this.ctx, request.sql, LakehouseQueryEngine.range(request), { globalViews: this.globalViews, materialize: true, adminAllowed: this.adminAllowed(request) });
      if (timedOut) throw new Error('timeout');
      session = await this.openSession(plan, request.limit, false);
      const prepared = await LakehouseQueryEngine.prepare(session);
      busy = true;
      await session.beforeRun?.(session.sql);
      // Materialized, not streamed: @duckdb/node-api cannot report an error raised while a streaming
      // result is fetched (the chunk is just missing), which would silently truncate results. The
      // result is held in DuckDB's memory (bounded by the query's memory_limit) and converted to
      // Arrow chunk by chunk.
      result = await prepared.run();
      busy = false;
      if (timedOut) throw new Error('timeout');
      converter = new ChunkConverter(result.columnNames(), result.columnTypes());
    } catch (err) {
      await finish();
      throw classify(err, request.queryId, timedOut);
    }
    const batchRows = this.options.batchRows ?? 65536;
    const queryId = request.queryId;
    async function* batches(): AsyncGenerator<RecordBatch> {
      try {
        for (;;) {
          if (closed) throw new Error('timeout');
          busy = true;
          const chunk = await result.fetchChunk();
          busy = false;
          if (!chunk || chunk.rowCount === 0) break;
          converter.append(chunk);
          if (converter.pendingRows >= batchRows) yield converter.flush();
        }
        if (converter.pendingRows > 0) yield converter.flush();
      } catch (err) {
        throw classify(err, queryId, timedOut);
      } finally {
        busy = false;
        await finish();
      }
    }
    return { schema: converter.schema, batches: batches() };
  }
}
