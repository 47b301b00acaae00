// The SQL that exposes lakehouse views to a query session (reference analytics.md §1.1–§1.3): a view
// reads the Parquet files of its current partitions, with the query range's time predicate inside
// its definition so that it applies wherever the view is used, subqueries included.
import { DataType, type Field, type Schema } from 'apache-arrow';
import type { Nanos } from '../time.ts';

export interface QueryRange {
  begin: Nanos;
  end: Nanos;
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;
const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;
const ts = (ns: Nanos) => `make_timestamp_ns(${ns}::BIGINT)`;

/** The row filter the query range implies for a view set (§1.3 table). */
export function timePredicate(setName: string, range: QueryRange): string | undefined {
  const b = ts(range.begin);
  const e = ts(range.end);
  switch (setName) {
    case 'log_entries':
    case 'measures':
    case 'async_events':
    case 'images':
    case 'histograms':
      return `"time" BETWEEN ${b} AND ${e}`;
    case 'thread_spans':
      return `"begin" <= ${e} AND "end" >= ${b}`;
    case 'net_spans':
      return `begin_time <= ${e} AND end_time >= ${b}`;
    case 'otel_spans':
      return `start_time <= ${e} AND end_time >= ${b}`;
    case 'blocks':
      return `begin_time <= ${e} AND insert_time >= ${b}`;
    case 'processes':
    case 'streams':
      return `insert_time <= ${e} AND last_update_time >= ${b}`;
    case 'log_stats':
      return `time_bin <= ${e} AND time_bin >= ${b}`;
    default:
      return undefined;
  }
}

/** DuckDB type of a view column (dictionaries are read back as their values). */
export function duckType(type: DataType): string {
  if (DataType.isDictionary(type)) return duckType(type.dictionary);
  if (DataType.isUtf8(type) || DataType.isLargeUtf8(type)) return 'VARCHAR';
  if (DataType.isBinary(type) || DataType.isLargeBinary(type)) return 'BLOB';
  if (DataType.isBool(type)) return 'BOOLEAN';
  if (DataType.isTimestamp(type)) return 'TIMESTAMP_NS';
  if (DataType.isFloat(type)) return type.precision === 2 ? 'DOUBLE' : 'FLOAT';
  if (DataType.isInt(type)) {
    const names: Record<number, [string, string]> = { 8: ['TINYINT', 'UTINYINT'], 16: ['SMALLINT', 'USMALLINT'], 32: ['INTEGER', 'UINTEGER'], 64: ['BIGINT', 'UBIGINT'] };
    return names[type.bitWidth]![type.isSigned ? 0 : 1];
  }
  if (DataType.isList(type)) return `${duckType((type.children[0] as Field).type)}[]`;
  if (DataType.isFixedSizeBinary(type)) return 'BLOB';
  if (DataType.isStruct(type)) return `STRUCT(${type.children.map((f) => `${quote(f.name)} ${duckType(f.type)}`).join(', ')})`;
  throw new Error(`no DuckDB type for arrow type ${type}`);
}

/** A relation with the schema's columns and no rows. */
export function emptyRelation(schema: Schema): string {
  const cols = schema.fields.map((f) => `CAST(NULL AS ${duckType(f.type)}) AS ${quote(f.name)}`);
  return `SELECT ${cols.join(', ')} WHERE false`;
}

/** The rows of a set of Parquet files, filtered by the view's time predicate when there is a range. */
export function partitionsRelation(setName: string, schema: Schema, paths: readonly string[], range: QueryRange | undefined): string {
  if (paths.length === 0) return emptyRelation(schema);
  const columns = schema.fields.map((f) => quote(f.name)).join(', ');
  const predicate = range ? timePredicate(setName, range) : undefined;
  return `SELECT ${columns} FROM read_parquet([${paths.map(sqlString).join(', ')}], union_by_name = true)${predicate ? ` WHERE ${predicate}` : ''}`;
}

export { quote as quoteIdent, sqlString };
