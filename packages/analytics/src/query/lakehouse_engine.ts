// The SQL engine over the lakehouse: global views are views over their current Parquet partitions,
// view_instance calls are materialized just in time, and DataFusion-isms have DuckDB equivalents
// (reference analytics.md §1, §8.2). Queries run on a pool of long-lived sandboxed DuckDB instances
// (instance_pool.ts), one query per instance at a time, each on a connection of its own. The sandbox
// lets DuckDB read the lake's partition files and nothing else, and the user's SQL cannot change its
// configuration. Results go out as Arrow record batches, chunk by chunk.
import { join, sep } from 'node:path';
import { StatementType, type DuckDBConnection, type DuckDBResult } from '@duckdb/node-api';
import type { RecordBatch, Schema } from 'apache-arrow';
import type { ObjectStore } from '@micromegas/lake';
import { DEFAULT_GLOBAL_VIEWS } from '../lakehouse/global/index.ts';
import { localObjectPaths, localStoreRoot } from '../lakehouse/duck.ts';
import type { GlobalView, LakehouseContext } from '../lakehouse/view.ts';
import type { QueryDenials } from './admin_functions.ts';
import { ChunkConverter } from './arrow_chunks.ts';
import { QueryError, type QueryEngine, type QueryErrorKind, type QueryRequest, type QueryResult, type TableInfo } from './engine.ts';
import { InstancePool, type Lease, type SandboxInstance } from './instance_pool.ts';
import { PlanError, globalViewStatements, planKeys, planQuery, renderSql, type QueryPlan } from './plan.ts';
import { SqlSyntaxError } from './sql_tokens.ts';
import { evaluateTableFunctions } from './table_functions.ts';
import type { QueryRange } from './views_sql.ts';

export interface LakehouseEngineOptions {
  /** DuckDB memory_limit of each query (of each pooled instance, which runs one query at a time), e.g. '1GB'. */
  memoryLimit?: string;
  /** DuckDB worker threads of each query. */
  threads?: number;
  /** A query running longer is interrupted (deadline_exceeded). */
  timeoutMs?: number;
  /** Queries running at once (= DuckDB instances at most); the others wait. */
  maxConcurrentQueries?: number;
  /** Rows per Arrow record batch (DuckDB produces chunks of 2048). */
  batchRows?: number;
  globalViews?: readonly GlobalView[];
  /** DuckDB instances prepared before the first query (creating one takes tens of ms); default 1. */
  prewarm?: number;
  /**
   * Whether some caller can be an admin (upstream's admin_principal_possible). When false (the
   * default: API keys only), admin functions are open to every caller, as upstream registers them;
   * when true, only callers with `admin` may use them.
   */
  adminPossible?: boolean;
  /** The query deny list behind deny_queries / list_query_denials / remove_query_denial (the FlightSQL service's). */
  queryDenials?: QueryDenials;
}

/** Statements a query may be once DuckDB has parsed it (SHOW/DESCRIBE/VALUES are SELECTs to DuckDB). */
const QUERY_STATEMENTS = new Set<number>([StatementType.SELECT, StatementType.EXPLAIN]);

/**
 * The directory under which the store's partition files have local paths (see localObjectPaths):
 * the store's own `views/` for a file:// store, else that of its copies in the partition cache.
 */
export function partitionRoot(store: ObjectStore): string {
  return join(localStoreRoot(store.uri), 'views') + sep;
}

function classify(err: unknown, queryId: string, timedOut: boolean): QueryError {
  if (err instanceof QueryError) return err;
  const message = err instanceof Error ? err.message : String(err);
  let kind: QueryErrorKind = 'internal';
  if (timedOut || /^INTERRUPT Error|Interrupted/i.test(message)) kind = timedOut ? 'deadline_exceeded' : 'internal';
  else if (err instanceof PlanError || err instanceof SqlSyntaxError) kind = 'invalid_argument';
  else if (/^Out of Memory Error|could not allocate|memory limit/i.test(message)) kind = 'resource_exhausted';
  else if (/^Permission Error/.test(message)) kind = 'permission_denied';
  // DuckDB reports a syntax error found while splitting statements as "Failed to extract statements: Parser Error: …".
  else if (/^(Failed to extract statements: )?(Parser|Binder|Catalog|Conversion|Invalid Input|Syntax|Constraint|Not implemented|Invalid type|Out of Range|Dependency|Invalid) Error/.test(message)) kind = 'invalid_argument';
  const text = kind === 'deadline_exceeded' ? 'query timed out' : message.replace(/\s+$/, '');
  return new QueryError(kind, `${text} (query_id=${queryId})`, { cause: err });
}

/** Errors after which the instance is known to be as it was: the query was refused, nothing broke. */
const HARMLESS: ReadonlySet<QueryErrorKind> = new Set(['invalid_argument', 'permission_denied', 'not_found', 'unimplemented']);

interface Session {
  connection: DuckDBConnection;
  sql: string;
  /** Work that needs the final SQL before it runs (per-row lake functions). */
  beforeRun?: (sql: string) => Promise<void>;
  close(): void;
}

export class LakehouseQueryEngine implements QueryEngine {
  private readonly pool: InstancePool;
  private readonly globalViews: readonly GlobalView[];
  private readonly root: string;
  /** The views' definitions when no query has changed them: every view empty. */
  private readonly baseline: Map<string, string>;
  /** Per instance, the views' current definitions (absent: as in `baseline`; '' unknown). */
  private readonly defined = new WeakMap<SandboxInstance, Map<string, string>>();

  constructor(
    private readonly ctx: LakehouseContext,
    private readonly options: LakehouseEngineOptions = {},
  ) {
    this.globalViews = options.globalViews ?? DEFAULT_GLOBAL_VIEWS;
    this.root = partitionRoot(ctx.lake.blobs);
    const baseline = globalViewStatements(this.globalViews.map((view) => ({ view })), undefined, (k) => k, false);
    this.baseline = new Map(baseline.map((s) => [s.name, s.sql]));
    this.pool = new InstancePool({
      setup: baseline.map((s) => s.sql),
      size: Math.max(1, options.maxConcurrentQueries ?? 4),
      prewarm: options.prewarm ?? 1,
      threads: options.threads ?? 2,
      memoryLimit: options.memoryLimit ?? '1GB',
      readable: [this.root],
    });
  }

  /** Disposes of the DuckDB instances (busy ones once their query is over); later queries fail. */
  async close(): Promise<void> {
    await this.pool.close();
  }

  async tables(): Promise<TableInfo[]> {
    return this.globalViews.map((v) => ({ name: v.setName, schema: v.schema }));
  }

  private static range(request: QueryRequest): QueryRange | undefined {
    return request.begin !== undefined && request.end !== undefined ? { begin: request.begin, end: request.end } : undefined;
  }

  private adminAllowed(request: QueryRequest): boolean {
    return !this.options.adminPossible || request.caller.admin;
  }

  /**
   * A new connection of the leased instance, its global views pointing at the plan's partitions and
   * its table-function results in temporary tables (they go with the connection), ready to run.
   */
  private async openSession(lease: Lease, plan: QueryPlan, request: QueryRequest, dryRun: boolean, unclean: () => void): Promise<Session> {
    const limit = request.limit;
    const keys = planKeys(plan);
    const files = await localObjectPaths(this.ctx.lake.blobs, keys);
    const pathOf = new Map(keys.map((k, i) => [k, files.paths[i]!]));
    // The sandbox lets the instance read the partition root only; a path elsewhere would be refused.
    const outside = files.paths.find((p) => !p.startsWith(this.root));
    if (outside !== undefined) throw new Error(`partition file ${outside} is outside the lake's partition root ${this.root}`);
    const path = (key: string) => pathOf.get(key)!;
    const connection = await lease.instance.connect();
    const close = () => {
      connection.closeSync();
      void files.release();
    };
    try {
      await this.defineViews(lease.instance, connection, plan, path);
      // Table functions run now, in the sandbox: their argument subqueries are the user's SQL.
      const evaluated = await evaluateTableFunctions({
        ctx: this.ctx, connection, plan, pathOf: path, globalViews: this.globalViews, dryRun, denials: this.options.queryDenials, identity: request.caller.name,
      });
      // Per-row lake functions are registered instance-wide and can't be dropped: the instance is
      // not reused after this query.
      if (evaluated.beforeRun) unclean();
      let sql = renderSql(plan, path, evaluated.replacements);
      if (limit !== undefined && ['select', 'with', 'values', 'from', 'table'].includes(plan.keyword)) {
        sql = `SELECT * FROM (${sql}) LIMIT ${Math.max(0, Math.floor(limit))}`;
      }
      return { connection, sql, close, beforeRun: evaluated.beforeRun };
    } catch (err) {
      close();
      throw err;
    }
  }

  /**
   * Points the instance's global views at the plan's partitions. The views live in the instance's
   * catalog (defining them all for each query costs more than many queries do): only those the
   * query names are redefined, and those an earlier query redefined go back to empty. Redefining a
   * view to what it already is, as repeated queries do, is skipped.
   */
  private async defineViews(instance: SandboxInstance, connection: DuckDBConnection, plan: QueryPlan, pathOf: (key: string) => string): Promise<void> {
    let current = this.defined.get(instance);
    if (!current) this.defined.set(instance, (current = new Map()));
    const wanted = new Map<string, string>([...current.keys()].map((name) => [name, this.baseline.get(name)!]));
    for (const s of globalViewStatements(plan.globals, plan.range, pathOf, true)) wanted.set(s.name, s.sql);
    for (const [name, sql] of wanted) {
      if ((current.get(name) ?? this.baseline.get(name)) === sql) continue;
      current.set(name, ''); // unknown until the statement succeeds
      await connection.run(sql);
      if (sql === this.baseline.get(name)) current.delete(name);
      else current.set(name, sql);
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
    const lease = await this.pool.acquire();
    let session: Session | undefined;
    let healthy = true;
    try {
      const plan = await planQuery(this.ctx, request.sql, LakehouseQueryEngine.range(request), { globalViews: this.globalViews, materialize: false, adminAllowed: this.adminAllowed(request) });
      session = await this.openSession(lease, plan, request, true, () => (healthy = false));
      const prepared = await LakehouseQueryEngine.prepare(session);
      const names = Array.from({ length: prepared.columnCount }, (_, i) => prepared.columnName(i));
      const types = Array.from({ length: prepared.columnCount }, (_, i) => prepared.columnType(i));
      return new ChunkConverter(names, types).schema;
    } catch (err) {
      const error = classify(err, request.queryId, false);
      if (!HARMLESS.has(error.kind)) healthy = false;
      throw error;
    } finally {
      try {
        session?.close();
      } catch {
        healthy = false;
      }
      lease.release(healthy);
    }
  }

  async execute(request: QueryRequest): Promise<QueryResult> {
    const lease = await this.pool.acquire();
    const timeoutMs = this.options.timeoutMs;
    let timedOut = false;
    let interrupted = false;
    let healthy = true;
    let session: Session | undefined;
    let busy = false;
    let closed = false;
    const finish = () => {
      if (closed) return;
      closed = true;
      clearTimeout(timer);
      try {
        session?.close();
      } catch {
        healthy = false;
      } finally {
        // An interrupted instance is not trusted again.
        lease.release(healthy && !interrupted);
      }
    };
    const fail = (err: unknown) => {
      const error = classify(err, request.queryId, timedOut);
      if (!HARMLESS.has(error.kind)) healthy = false;
      finish();
      return error;
    };
    // The deadline covers planning (JIT materialization) too; DuckDB work is interrupted, and a
    // result left unread past it is closed.
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
      timedOut = true;
      if (session && busy) {
        interrupted = true;
        session.connection.interrupt();
      } else if (session) finish();
    }, timeoutMs);
    let result: DuckDBResult;
    let converter: ChunkConverter;
    try {
      const plan = await planQuery(this.ctx, request.sql, LakehouseQueryEngine.range(request), { globalViews: this.globalViews, materialize: true, adminAllowed: this.adminAllowed(request) });
      if (timedOut) throw new Error('timeout');
      session = await this.openSession(lease, plan, request, false, () => (healthy = false));
      if (timedOut) throw new Error('timeout');
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
      throw fail(err);
    }
    const batchRows = this.options.batchRows ?? 65536;
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
        throw fail(err);
      } finally {
        busy = false;
        finish();
      }
    }
    return { schema: converter.schema, batches: batches() };
  }
}
