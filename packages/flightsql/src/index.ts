// Public API of @micromegas/flightsql: an Arrow Flight SQL server over a QueryEngine.
export { startFlightSqlServer, DEFAULT_FLIGHTSQL_PORT, MAX_RECEIVE_MESSAGE_BYTES } from './server.ts';
export type { FlightSqlServer, FlightSqlServerOptions } from './server.ts';
export type { Caller, QueryEngine, QueryRequest, QueryResult, TableInfo } from './contract.ts';
export { FlightSqlError, toServiceError, type ErrorKind } from './errors.ts';
export { parseRfc3339Nanos } from './headers.ts';
export { TARGET_FLIGHT_DATA_BYTES, splitIpcStream, schemaToIpcStream, schemaToIpcMessage } from './ipc.ts';
export { packAny, unpackAny, SQL_TYPE_URL_PREFIX } from './proto/index.ts';
export { makeBulkIngest, flightDataToBatches, type BulkIngest, type BulkIngestLake } from './bulk_ingest.ts';
export { fingerprintOf } from './fingerprint.ts';
export { QueryDenyList, namesDenyListFunction, DEFAULT_MAX_RULES, DEFAULT_REFRESH_SECONDS, type QueryDenyListOptions, type DenyRule } from './deny_list.ts';
export { MATCH_COLUMNS, type MatchContext } from './deny_expr.ts';
