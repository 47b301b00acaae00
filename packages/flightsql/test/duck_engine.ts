// A test-only QueryEngine: SQL on an in-memory DuckDB, result chunks converted to Arrow batches
// value by value (simple, not fast). The query range is visible to SQL as getvariable('range_begin')
// / getvariable('range_end') and the limit wraps the statement, so tests can see both arrive.
import { DuckDBInstance, DuckDBTypeId, type DuckDBConnection, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import {
  Bool, Field, Float64, Int32, Int64, RecordBatch, Schema, Struct, TimeUnit, Timestamp, Utf8,
  makeData, vectorFromArray, type Data, type DataType,
} from 'apache-arrow';
import type { QueryEngine, QueryRequest, QueryResult, TableInfo } from '../src/index.ts';

/** Same shape as the engine's QueryError: the server maps `kind` to a gRPC status. */
export class TestQueryError extends Error {
  constructor(
    readonly kind: 'invalid_argument' | 'internal' | 'permission_denied' | 'resource_exhausted',
    message: string,
  ) {
    super(message);
  }
}

function arrowType(t: DuckDBType): DataType {
  switch (t.typeId) {
    case DuckDBTypeId.INTEGER:
      return new Int32();
    case DuckDBTypeId.BIGINT:
      return new Int64();
    case DuckDBTypeId.DOUBLE:
      return new Float64();
    case DuckDBTypeId.BOOLEAN:
      return new Bool();
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_NS:
    case DuckDBTypeId.TIMESTAMP_TZ:
      return new Timestamp(TimeUnit.NANOSECOND, '+00:00');
    default:
      return new Utf8();
  }
}

function arrowValue(v: DuckDBValue, type: DataType): unknown {
  if (v === null) return null;
  if (type instanceof Timestamp) {
    const o = v as { micros?: bigint; nanos?: bigint };
    return o.nanos ?? (o.micros as bigint) * 1000n;
  }
  if (type instanceof Int64) return v as bigint;
  if (type instanceof Int32 || type instanceof Float64 || type instanceof Bool) return v;
  return typeof v === 'string' ? v : String(v);
}

/** apache-arrow's builders take timestamps as milliseconds: 64-bit columns are laid out by hand. */
function column(values: unknown[], type: DataType): Data {
  if (!(type instanceof Timestamp) && !(type instanceof Int64)) return vectorFromArray(values, type).data[0]!;
  const data = new BigInt64Array(values.length);
  const nullBitmap = new Uint8Array((values.length + 7) >> 3);
  let nullCount = 0;
  values.forEach((v, i) => {
    if (v === null) nullCount++;
    else {
      data[i] = v as bigint;
      nullBitmap[i >> 3]! |= 1 << (i & 7);
    }
  });
  return makeData({ type: type as Int64, length: values.length, nullCount, nullBitmap: nullCount ? nullBitmap : undefined, data } as never);
}

export interface DuckTestEngine extends QueryEngine {
  readonly requests: QueryRequest[];
  /** Chunks DuckDB has produced so far for the running queries (to observe streaming). */
  chunksRead: number;
  connection: DuckDBConnection;
  close(): void;
}

/**
 * `failAfterRows`: the batch iterator throws a resource_exhausted error once that many rows were
 * yielded. DuckDB cannot be made to fail mid-stream here: @duckdb/node-api's fetchChunk returns
 * null on an execution error (the C API's result error is not bound), so its results just end.
 */
export async function createDuckTestEngine(options: { rowsPerBatch?: number; failAfterRows?: number } = {}): Promise<DuckTestEngine> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const connection = await instance.connect();
  const rowsPerBatch = options.rowsPerBatch ?? 8192;

  const wrap = (r: QueryRequest): string => (r.limit === undefined ? r.sql : `SELECT * FROM (${r.sql}) LIMIT ${r.limit}`);
  const setRange = async (c: DuckDBConnection, r: QueryRequest) => {
    const ts = (n: bigint | undefined) => (n === undefined ? 'NULL::TIMESTAMP_NS' : `make_timestamp_ns(${n})`);
    await c.run(`SET VARIABLE range_begin = ${ts(r.begin)}; SET VARIABLE range_end = ${ts(r.end)};`);
  };

  async function start(r: QueryRequest) {
    // Each query on its own connection so a cancelled stream does not block the next one.
    const c = await instance.connect();
    try {
      await setRange(c, r);
      const result = await c.stream(wrap(r));
      return { c, result };
    } catch (e) {
      c.closeSync();
      throw new TestQueryError('invalid_argument', `error building dataframe: ${(e as Error).message} (query_id=${r.queryId})`);
    }
  }

  const engine: DuckTestEngine = {
    requests: [],
    chunksRead: 0,
    connection,
    async execute(r) {
      engine.requests.push(r);
      const { c, result } = await start(r);
      const names = result.columnNames();
      const types = result.columnTypes().map(arrowType);
      const schema = new Schema(names.map((n, i) => new Field(n, types[i]!, true)));
      const toBatch = (cols: unknown[][], length: number) =>
        new RecordBatch(schema, makeData({
          type: new Struct(schema.fields),
          length,
          nullCount: 0,
          children: cols.map((values, i) => column(values, types[i]!)),
        }));
      async function* batches(): AsyncGenerator<RecordBatch> {
        try {
          let cols: unknown[][] = names.map(() => []);
          let rows = 0;
          let yielded = 0;
          for (;;) {
            const chunk = await result.fetchChunk();
            if (!chunk || chunk.rowCount === 0) break;
            engine.chunksRead++;
            for (let i = 0; i < names.length; i++) {
              for (const v of chunk.getColumnValues(i)) cols[i]!.push(arrowValue(v, types[i]!));
            }
            rows += chunk.rowCount;
            if (rows >= rowsPerBatch) {
              yielded += rows;
              yield toBatch(cols, rows);
              if (options.failAfterRows !== undefined && yielded >= options.failAfterRows) {
                throw new TestQueryError('resource_exhausted', `memory budget exceeded (query_id=${r.queryId})`);
              }
              cols = names.map(() => []);
              rows = 0;
            }
          }
          if (rows > 0) yield toBatch(cols, rows);
        } finally {
          c.closeSync();
        }
      }
      return { schema, batches: batches() };
    },
    async schemaOf(r) {
      const c = await instance.connect();
      try {
        await setRange(c, r);
        const prepared = await c.prepare(wrap(r)).catch((e: Error) => {
          throw new TestQueryError('invalid_argument', `error building dataframe: ${e.message} (query_id=${r.queryId})`);
        });
        const names = Array.from({ length: prepared.columnCount }, (_, i) => prepared.columnName(i));
        return new Schema(names.map((n, i) => new Field(n, arrowType(prepared.columnType(i)), true)));
      } finally {
        c.closeSync();
      }
    },
    async tables(): Promise<TableInfo[]> {
      const reader = await connection.runAndReadAll(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1`);
      const out: TableInfo[] = [];
      for (const [name] of reader.getRows()) {
        out.push({ name: String(name), schema: await engine.schemaOf({ sql: `SELECT * FROM "${String(name)}"`, caller: { name: 't', admin: true }, queryId: 'tables' }) });
      }
      return out;
    },
    close() {
      connection.closeSync();
      instance.closeSync();
    },
  };
  return engine;
}
