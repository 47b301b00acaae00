// Public API of @micromegas/client: a FlightSQL client for micromegas and other FlightSQL servers.
export { connect, FlightSqlClient, PreparedStatement, type ConnectOptions, type CallControl, type QueryReader } from './client.ts';
export { FlightClientError, FlightConnectionError, FlightAuthError } from './errors.ts';
export { attributionHeaders, CLIENT_TYPE, CLIENT_VERSION, type AttributionOptions } from './headers.ts';
export { toRows, tableRows, batchRows, valueGetter, type Row, type RowOptions } from './rows.ts';
export { formatTime, nanosToRfc3339, type TimeInput } from './time.ts';
export { DEFAULT_URI, parseFlightUri } from './uri.ts';
