// The engine contract this server serves, defined by @micromegas/analytics. Engine errors are
// matched by their `kind` field (QueryError), so the mapping needs no import of the class.
export type { Caller, QueryEngine, QueryRequest, QueryResult, TableInfo } from '@micromegas/analytics';
