// The functions a query session adds to DuckDB (reference analytics.md §2.2–2.4, §8.2): macros giving
// DataFusion names and semantics to DuckDB built-ins, and upstream's extension functions — JSONB and
// properties (functions_jsonb.ts), histograms (functions_histogram.ts), colors and math
// (functions_color.ts).
import { ANY, BIGINT, DuckDBDecimalValue, DuckDBIntervalValue, DuckDBScalarFunction, type DuckDBConnection } from '@duckdb/node-api';
import { MATH_MACROS, colorFunctions } from './functions_color.ts';
import { HISTOGRAM_MACROS, histogramFunctions } from './functions_histogram.ts';
import { JSONB_MACROS, jsonbFunctions } from './functions_jsonb.ts';

/** DataFusion built-ins that DuckDB spells differently, as macros defined in each session. */
const COMPAT_MACROS: readonly string[] = [
  // DataFusion bins from the Unix epoch by default (DuckDB's time_bucket from 2000-01-03).
  `CREATE MACRO date_bin(i, t) AS time_bucket(CAST(i AS INTERVAL), t, TIMESTAMP '1970-01-01'),
     (i, t, o) AS time_bucket(CAST(i AS INTERVAL), t, o)`,
  // now() as a UTC timestamp without zone, comparable with the views' TIMESTAMP_NS columns.
  `CREATE MACRO now() AS CAST(get_current_timestamp() AS TIMESTAMP_NS)`,
  `CREATE MACRO approx_percentile_cont(x, p) AS approx_quantile(x, p)`,
  `CREATE MACRO nanvl(x, y) AS CASE WHEN isnan(x) THEN y ELSE x END`,
  `CREATE MACRO regexp_like(s, p) AS regexp_matches(s, p)`,
  `CREATE MACRO to_timestamp_nanos(x) AS CAST(x AS TIMESTAMP_NS)`,
  // DataFusion's arrow_typeof, naming the Arrow type a client receives (timestamps leave as ns UTC).
  `CREATE MACRO arrow_typeof(x) AS CASE typeof(x)
     WHEN 'VARCHAR' THEN 'Utf8' WHEN 'BLOB' THEN 'Binary' WHEN 'BOOLEAN' THEN 'Boolean'
     WHEN 'TINYINT' THEN 'Int8' WHEN 'SMALLINT' THEN 'Int16' WHEN 'INTEGER' THEN 'Int32' WHEN 'BIGINT' THEN 'Int64'
     WHEN 'UTINYINT' THEN 'UInt8' WHEN 'USMALLINT' THEN 'UInt16' WHEN 'UINTEGER' THEN 'UInt32' WHEN 'UBIGINT' THEN 'UInt64'
     WHEN 'FLOAT' THEN 'Float32' WHEN 'DOUBLE' THEN 'Float64' WHEN 'DATE' THEN 'Date32' WHEN 'NULL' THEN 'Null'
     WHEN 'INTERVAL' THEN 'Interval(MonthDayNano)'
     ELSE CASE WHEN typeof(x) LIKE 'TIMESTAMP%' THEN 'Timestamp(Nanosecond, Some("+00:00"))' ELSE typeof(x) END END`,
];

/** DataFusion arrow_cast type names → DuckDB types (arrow_cast(x, 'T') is rewritten to CAST). */
export function duckTypeForArrowName(name: string): string | undefined {
  const n = name.trim();
  const simple: Record<string, string> = {
    Utf8: 'VARCHAR', LargeUtf8: 'VARCHAR', Utf8View: 'VARCHAR',
    Binary: 'BLOB', LargeBinary: 'BLOB', BinaryView: 'BLOB',
    Int8: 'TINYINT', Int16: 'SMALLINT', Int32: 'INTEGER', Int64: 'BIGINT',
    UInt8: 'UTINYINT', UInt16: 'USMALLINT', UInt32: 'UINTEGER', UInt64: 'UBIGINT',
    Float32: 'FLOAT', Float64: 'DOUBLE', Boolean: 'BOOLEAN', Date32: 'DATE', Date64: 'DATE',
  };
  if (simple[n]) return simple[n];
  const ts = /^Timestamp\(\s*(Nanosecond|Microsecond|Millisecond|Second)\s*(,.*)?\)$/.exec(n);
  if (ts) return { Nanosecond: 'TIMESTAMP_NS', Microsecond: 'TIMESTAMP', Millisecond: 'TIMESTAMP_MS', Second: 'TIMESTAMP_S' }[ts[1]!];
  const dict = /^Dictionary\(\s*\w+\s*,\s*(.+)\)$/.exec(n);
  if (dict) return duckTypeForArrowName(dict[1]!);
  return undefined;
}

/** Every macro a session defines: the DataFusion spellings above, histograms, math and properties. */
export const MACROS: readonly string[] = [...COMPAT_MACROS, ...HISTOGRAM_MACROS, ...MATH_MACROS, ...JSONB_MACROS];

const NS_PER_DAY = 86_400_000_000_000n;

/** A value of any type as Arrow casts it to Int64: durations in nanoseconds, numbers truncated. */
function toBigint(v: unknown): bigint | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? BigInt(Math.trunc(v)) : null;
  if (typeof v === 'boolean') return v ? 1n : 0n;
  // DuckDB intervals from timestamp differences hold days and microseconds (months: 30 days).
  if (v instanceof DuckDBIntervalValue) return (BigInt(v.months) * 30n + BigInt(v.days)) * NS_PER_DAY + v.micros * 1000n;
  if (v instanceof DuckDBDecimalValue) return BigInt(Math.trunc(v.toDouble()));
  const text = String(v).trim();
  if (/^[+-]?\d+$/.test(text)) return BigInt(text);
  throw new Error(`cannot cast ${JSON.stringify(text)} to Int64`);
}

/** __mm_to_bigint(any): the target of CAST(a - b AS BIGINT) (plan.ts rewriteDifferenceCasts). */
function toBigintFunction(): DuckDBScalarFunction {
  return DuckDBScalarFunction.create({
    name: '__mm_to_bigint',
    returnType: BIGINT,
    parameterTypes: [ANY],
    specialHandling: true,
    mainFunction: (_info, input, output) => {
      const values = input.getColumnVector(0);
      for (let row = 0; row < input.rowCount; row++) output.setItem(row, toBigint(values.getItem(row)) as never);
      output.flush();
    },
  });
}

/** Registers the JavaScript scalar functions (JSONB/properties, histogram quantiles, colors) on a session connection. */
export function registerFunctions(connection: DuckDBConnection): void {
  for (const f of [...jsonbFunctions(), ...histogramFunctions(), ...colorFunctions(), toBigintFunction()]) connection.registerScalarFunction(f);
}
