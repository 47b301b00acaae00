// The functions a query session adds to DuckDB (reference analytics.md §2.2, §8.2): macros giving
// DataFusion names and semantics to DuckDB built-ins, and JavaScript scalar functions over the
// Databend-JSONB property columns.
import { BIGINT, BLOB, DOUBLE, DuckDBScalarFunction, blobValue, INTEGER, VARCHAR, type DuckDBConnection, type DuckDBType } from '@duckdb/node-api';
import type { DuckDBBlobVector } from '@duckdb/node-api';
import { decodeJsonb, encodeJsonb, jsonbToJson } from '../jsonb.ts';

/** DataFusion built-ins that DuckDB spells differently, as macros defined in each session. */
export const MACROS: readonly string[] = [
  // DataFusion bins from the Unix epoch by default (DuckDB's time_bucket from 2000-01-03).
  `CREATE MACRO date_bin(i, t) AS time_bucket(CAST(i AS INTERVAL), t, TIMESTAMP '1970-01-01'),
     (i, t, o) AS time_bucket(CAST(i AS INTERVAL), t, o)`,
  // now() as a UTC timestamp without zone, comparable with the views' TIMESTAMP_NS columns.
  `CREATE MACRO now() AS CAST(get_current_timestamp() AS TIMESTAMP_NS)`,
  `CREATE MACRO approx_percentile_cont(x, p) AS approx_quantile(x, p)`,
  `CREATE MACRO nanvl(x, y) AS CASE WHEN isnan(x) THEN y ELSE x END`,
  `CREATE MACRO regexp_like(s, p) AS regexp_matches(s, p)`,
  `CREATE MACRO to_timestamp_nanos(x) AS CAST(x AS TIMESTAMP_NS)`,
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

/** Decoded JSONB values, memoized per distinct byte string (property columns repeat a lot). */
class JsonbCache {
  private readonly map = new Map<string, unknown>();
  get(bytes: Uint8Array): unknown {
    const key = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
    if (this.map.has(key)) return this.map.get(key);
    const value = decodeJsonb(bytes);
    if (this.map.size > 10_000) this.map.clear();
    this.map.set(key, value);
    return value;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Object member by name: exact, else ASCII case-insensitive (RawJsonb::get_by_name(name, true)). */
function member(v: unknown, name: string): unknown {
  if (!isObject(v)) return undefined;
  if (Object.hasOwn(v, name)) return v[name];
  const lower = name.toLowerCase();
  for (const k of Object.keys(v)) if (k.toLowerCase() === lower) return v[k];
  return undefined;
}

function jsonText(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? Number(x) : x));
}

type Unary<T> = (bytes: Uint8Array, cache: JsonbCache) => T | null;

function blobFunction<T>(name: string, returnType: DuckDBType, fn: Unary<T>, extra: DuckDBType[] = [], withArgs?: (bytes: Uint8Array, args: unknown[], cache: JsonbCache) => T | null): DuckDBScalarFunction {
  const cache = new JsonbCache();
  return DuckDBScalarFunction.create({
    name,
    returnType,
    parameterTypes: [BLOB, ...extra],
    mainFunction: (info, input, output) => {
      const blobs = input.getColumnVector(0) as DuckDBBlobVector;
      const others = extra.map((_, i) => input.getColumnVector(i + 1));
      try {
        for (let row = 0; row < input.rowCount; row++) {
          const bytes = blobs.getItemBytes(row);
          const args = others.map((v) => v.getItem(row));
          const value = bytes === null || args.some((a) => a === null) ? null : withArgs ? withArgs(bytes, args, cache) : fn(bytes, cache);
          output.setItem(row, value as never);
        }
        output.flush();
      } catch (err) {
        info.setError(`${name}: ${(err as Error).message}`);
      }
    },
  });
}

/** Registers the JSONB/property functions on a session connection. */
export function registerFunctions(connection: DuckDBConnection): void {
  const fns = [
    blobFunction('property_get', VARCHAR, () => null, [VARCHAR], (bytes, [key], cache) => {
      const v = member(cache.get(bytes), key as string);
      if (v === undefined || v === null) return null;
      return typeof v === 'string' ? v : jsonText(v);
    }),
    blobFunction('properties_length', INTEGER, (bytes, cache) => {
      const v = cache.get(bytes);
      return isObject(v) ? Object.keys(v).length : Array.isArray(v) ? v.length : null;
    }),
    blobFunction('jsonb_format_json', VARCHAR, (bytes) => jsonbToJson(bytes)),
    blobFunction('jsonb_get', BLOB, () => null, [VARCHAR], (bytes, [key], cache) => {
      const v = member(cache.get(bytes), key as string);
      return v === undefined ? null : blobValue(encodeJsonb(v));
    }),
    blobFunction('jsonb_as_string', VARCHAR, (bytes, cache) => {
      const v = cache.get(bytes);
      return typeof v === 'string' ? v : null;
    }),
    blobFunction('jsonb_as_f64', DOUBLE, (bytes, cache) => {
      const v = cache.get(bytes);
      return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : null;
    }),
    blobFunction('jsonb_as_i64', BIGINT, (bytes, cache) => {
      const v = cache.get(bytes);
      return typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : typeof v === 'bigint' ? v : null;
    }),
    blobFunction('jsonb_array_length', BIGINT, (bytes, cache) => {
      const v = cache.get(bytes);
      return Array.isArray(v) ? BigInt(v.length) : null;
    }),
    DuckDBScalarFunction.create({
      name: 'jsonb_parse',
      returnType: BLOB,
      parameterTypes: [VARCHAR],
      mainFunction: (_info, input, output) => {
        const texts = input.getColumnVector(0);
        for (let row = 0; row < input.rowCount; row++) {
          const text = texts.getItem(row) as string | null;
          let value: ReturnType<typeof blobValue> | null = null;
          if (text !== null) {
            try {
              value = blobValue(encodeJsonb(JSON.parse(text)));
            } catch {
              value = null; // invalid JSON is NULL, as upstream
            }
          }
          output.setItem(row, value as never);
        }
        output.flush();
      },
    }),
  ];
  for (const f of fns) connection.registerScalarFunction(f);
}
