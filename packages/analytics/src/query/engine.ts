// The contract between the SQL engine (DuckDB over the lakehouse) and the servers that expose it
// (FlightSQL, later the web API). A query streams Arrow record batches in one schema.
import type { RecordBatch, Schema } from 'apache-arrow';
import type { Nanos } from '../time.ts';

export interface Caller {
  /** Who asks (API key name, 'anonymous' without auth). */
  name: string;
  /** Admin callers may run admin functions and bulk ingest. */
  admin: boolean;
}

export interface QueryRequest {
  sql: string;
  /** The query time range (FlightSQL headers query_range_begin / query_range_end), both or neither. */
  begin?: Nanos;
  end?: Nanos;
  /** At most this many rows (the `limit` header). */
  limit?: number;
  caller: Caller;
  /** Identifies the query in logs and error messages. */
  queryId: string;
}

export interface QueryResult {
  schema: Schema;
  /** Batches in `schema`, produced as they are read; stop iterating to cancel. */
  batches: AsyncIterable<RecordBatch>;
}

export type QueryErrorKind = 'invalid_argument' | 'permission_denied' | 'resource_exhausted' | 'unimplemented' | 'not_found' | 'internal' | 'deadline_exceeded';

/** A query failure with the gRPC status it maps to; the message already names the query id. */
export class QueryError extends Error {
  constructor(
    readonly kind: QueryErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'QueryError';
  }
}

export interface TableInfo {
  name: string;
  schema: Schema;
}

export interface QueryEngine {
  /** Plans and starts a query; planning errors reject, execution errors surface from `batches`. */
  execute(request: QueryRequest): Promise<QueryResult>;
  /** The result schema of a statement without running it (prepared statements). */
  schemaOf(request: QueryRequest): Promise<Schema>;
  /** The global views, as FlightSQL GetTables lists them. */
  tables(): Promise<TableInfo[]>;
}
