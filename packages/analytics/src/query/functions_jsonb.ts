// JSONB and property functions (reference analytics.md §1.6, §2.2) as JavaScript scalar functions over
// Databend-JSONB BLOBs. The property functions also take upstream's legacy property lists, a DuckDB
// LIST of STRUCT(key, value) (DuckDB has no dictionary type, so the dictionary variants are the same).
import { ANY, BIGINT, BLOB, DOUBLE, DuckDBBlobValue, DuckDBBlobVector, DuckDBListValue, DuckDBScalarFunction, DuckDBStructValue, INTEGER, LIST, VARCHAR, blobValue, listValue, type DuckDBType, type DuckDBVector } from '@duckdb/node-api';
import { decodeJsonb, encodeJsonb, encodeJsonbStringMap, jsonbToJson } from '../jsonb.ts';
import { JsonPathError, evalJsonPath, parseJsonPath, type JsonPath } from './functions_jsonpath.ts';

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

/** A function of one JSONB BLOB argument (plus `extra` ones); NULL in, NULL out. */
function blobFunction(name: string, returnType: DuckDBType, extra: DuckDBType[], fn: (bytes: Uint8Array, args: unknown[], cache: JsonbCache) => unknown): DuckDBScalarFunction {
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
          output.setItem(row, (bytes === null || args.some((a) => a === null) ? null : fn(bytes, args, cache)) as never);
        }
        output.flush();
      } catch (err) {
        info.setError(`${name}: ${(err as Error).message}`);
      }
    },
  });
}

/** Properties as either a decoded JSONB value or the entries of a legacy key/value list. */
type Props = { jsonb: unknown } | { list: [string, string | null][] };

function readProps(vector: DuckDBVector, row: number, cache: JsonbCache): Props | null {
  if (vector instanceof DuckDBBlobVector) {
    const bytes = vector.getItemBytes(row);
    return bytes === null ? null : { jsonb: cache.get(bytes) };
  }
  const item = vector.getItem(row);
  if (item === null) return null;
  if (item instanceof DuckDBBlobValue) return { jsonb: cache.get(item.bytes) };
  if (item instanceof DuckDBListValue) {
    const list: [string, string | null][] = [];
    for (const e of item.items) {
      if (!(e instanceof DuckDBStructValue) || !Object.hasOwn(e.entries, 'key') || !Object.hasOwn(e.entries, 'value')) throw new Error('expected a list of STRUCT(key, value)');
      const k = e.entries.key;
      if (k !== null) list.push([String(k), e.entries.value === null ? null : String(e.entries.value)]);
    }
    return { list };
  }
  throw new Error(`unsupported properties type ${vector.type.toString()}, expected BLOB (JSONB) or STRUCT(key, value)[]`);
}

/** A function whose first argument is properties in any accepted representation. */
function propsFunction(name: string, returnType: DuckDBType, extra: DuckDBType[], fn: (props: Props, args: unknown[]) => unknown): DuckDBScalarFunction {
  const cache = new JsonbCache();
  return DuckDBScalarFunction.create({
    name,
    returnType,
    parameterTypes: [ANY, ...extra],
    mainFunction: (info, input, output) => {
      const props = input.getColumnVector(0);
      const others = extra.map((_, i) => input.getColumnVector(i + 1));
      try {
        for (let row = 0; row < input.rowCount; row++) {
          const p = readProps(props, row, cache);
          const args = others.map((v) => v.getItem(row));
          output.setItem(row, (p === null || args.some((a) => a === null) ? null : fn(p, args)) as never);
        }
        output.flush();
      } catch (err) {
        info.setError(`${name}: ${(err as Error).message}`);
      }
    },
  });
}

/** Parsed paths by text; a path is usually a literal, so this holds one entry. */
class PathCache {
  private readonly map = new Map<string, JsonPath>();
  get(text: string): JsonPath {
    let p = this.map.get(text);
    if (!p) {
      try {
        p = parseJsonPath(text);
      } catch (err) {
        if (err instanceof JsonPathError) throw new Error(`invalid JSONPath '${text}': ${err.message}`);
        throw err;
      }
      if (this.map.size > 1000) this.map.clear();
      this.map.set(text, p);
    }
    return p;
  }
}

function pathQuery(name: string, first: boolean): DuckDBScalarFunction {
  const paths = new PathCache();
  return blobFunction(name, BLOB, [VARCHAR], (bytes, [path], cache) => {
    const found = evalJsonPath(paths.get(path as string), cache.get(bytes));
    if (first) return found.length === 0 ? null : blobValue(encodeJsonb(found[0]));
    return blobValue(encodeJsonb(found));
  });
}

/** Macros for the property functions that are identities on DuckDB (no dictionary type). */
export const JSONB_MACROS: readonly string[] = [
  `CREATE MACRO properties_to_dict(p) AS p`,
  `CREATE MACRO properties_to_array(p) AS p`,
];

export function jsonbFunctions(): DuckDBScalarFunction[] {
  return [
    propsFunction('property_get', VARCHAR, [VARCHAR], (p, [key]) => {
      const k = key as string;
      if ('list' in p) {
        const lower = k.toLowerCase();
        const hit = p.list.find(([name]) => name.toLowerCase() === lower);
        return hit ? hit[1] : null;
      }
      const v = member(p.jsonb, k);
      if (v === undefined || v === null) return null;
      return typeof v === 'string' ? v : jsonText(v);
    }),
    propsFunction('properties_length', INTEGER, [], (p) => {
      if ('list' in p) return p.list.length;
      return isObject(p.jsonb) ? Object.keys(p.jsonb).length : Array.isArray(p.jsonb) ? p.jsonb.length : null;
    }),
    // JSONB passes through untouched; a list becomes a JSONB object (keys sorted, the last of a
    // repeated key wins, NULL values skipped).
    propsFunction('properties_to_jsonb', BLOB, [], (p) => {
      if ('list' in p) return blobValue(encodeJsonbStringMap(p.list.filter((e): e is [string, string] => e[1] !== null)));
      return blobValue(encodeJsonb(p.jsonb));
    }),
    blobFunction('jsonb_format_json', VARCHAR, [], (bytes) => jsonbToJson(bytes)),
    blobFunction('jsonb_get', BLOB, [VARCHAR], (bytes, [key], cache) => {
      const v = member(cache.get(bytes), key as string);
      return v === undefined ? null : blobValue(encodeJsonb(v));
    }),
    blobFunction('jsonb_as_string', VARCHAR, [], (bytes, _args, cache) => {
      const v = cache.get(bytes);
      return typeof v === 'string' ? v : null;
    }),
    blobFunction('jsonb_as_f64', DOUBLE, [], (bytes, _args, cache) => {
      const v = cache.get(bytes);
      return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : null;
    }),
    blobFunction('jsonb_as_i64', BIGINT, [], (bytes, _args, cache) => {
      const v = cache.get(bytes);
      return typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : typeof v === 'bigint' ? v : null;
    }),
    blobFunction('jsonb_array_length', BIGINT, [], (bytes, _args, cache) => {
      const v = cache.get(bytes);
      return Array.isArray(v) ? BigInt(v.length) : null;
    }),
    blobFunction('jsonb_object_keys', LIST(VARCHAR), [], (bytes, _args, cache) => {
      const v = cache.get(bytes);
      return isObject(v) ? listValue(Object.keys(v)) : null;
    }),
    pathQuery('jsonb_path_query_first', true),
    pathQuery('jsonb_path_query', false),
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
}
