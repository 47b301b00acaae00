// The engine contract this server serves. It mirrors packages/analytics/src/query/engine.ts, which
// @micromegas/analytics does not export yet; TypeScript's structural typing makes the real engine
// fit. Errors are matched by their `kind` field, so the engine's QueryError maps without importing it.
import type { RecordBatch, Schema } from 'apache-arrow';

export interface Caller {
  name: string;
  admin: boolean;
}

export interface QueryRequest {
  sql: string;
  begin?: bigint;
  end?: bigint;
  limit?: number;
  caller: Caller;
  queryId: string;
}

export interface QueryResult {
  schema: Schema;
  batches: AsyncIterable<RecordBatch>;
}

export interface TableInfo {
  name: string;
  schema: Schema;
}

export interface QueryEngine {
  execute(request: QueryRequest): Promise<QueryResult>;
  schemaOf(request: QueryRequest): Promise<Schema>;
  tables(): Promise<TableInfo[]>;
}
