// Walks a plain object (decoded OTLP/JSON or a caller-built message) against the protobuf reflection,
// validating types and producing input for protobufjs `Type.fromObject`:
// - field names in lowerCamelCase or snake_case; unknown fields are ignored (OTLP/JSON rule);
// - 64-bit integers from bigint, integer numbers or decimal strings;
// - trace/span ids as hex strings in JSON (OTLP/JSON rule), other bytes as base64;
// - enums as integers (or their names);
// - proto3 default scalars are dropped so the protobuf encoding matches a canonical encoder's.
import protobuf from 'protobufjs';
import { OtlpDecodeError } from './errors.ts';

const HEX_ID_FIELDS = new Set(['traceId', 'spanId', 'parentSpanId']);
const INT64 = new Set(['int64', 'uint64', 'fixed64', 'sfixed64', 'sint64']);
const INT32 = new Set(['int32', 'uint32', 'fixed32', 'sfixed32', 'sint32']);

function camel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function fail(path: string, what: string): never {
  throw new OtlpDecodeError(`${path}: ${what}`);
}

function hexToBytes(s: string, path: string): Uint8Array {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) fail(path, 'expected a hex string');
  return Uint8Array.from(Buffer.from(s, 'hex'));
}

function scalar(field: protobuf.Field, v: unknown, path: string, json: boolean): unknown {
  const type = field.type;
  if (INT64.has(type)) {
    if (typeof v === 'bigint') return v;
    if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
    if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
    return fail(path, `expected a 64-bit integer, got ${typeof v}`);
  }
  if (INT32.has(type)) {
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    if (json && typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
    return fail(path, `expected an integer, got ${typeof v}`);
  }
  switch (type) {
    case 'double':
    case 'float':
      if (typeof v === 'number') return v;
      if (typeof v === 'string') {
        if (v === 'NaN') return NaN;
        if (v === 'Infinity') return Infinity;
        if (v === '-Infinity') return -Infinity;
        const n = Number(v);
        if (v.trim() !== '' && !Number.isNaN(n)) return n;
      }
      return fail(path, `expected a number, got ${typeof v}`);
    case 'bool':
      if (typeof v === 'boolean') return v;
      return fail(path, `expected a boolean, got ${typeof v}`);
    case 'string':
      if (typeof v === 'string') return v;
      return fail(path, `expected a string, got ${typeof v}`);
    case 'bytes':
      if (v instanceof Uint8Array) return v;
      if (typeof v === 'string') {
        if (json && HEX_ID_FIELDS.has(field.name)) return hexToBytes(v, path);
        return Uint8Array.from(Buffer.from(v, 'base64'));
      }
      return fail(path, `expected bytes, got ${typeof v}`);
    default:
      return fail(path, `unsupported field type ${type}`);
  }
}

function isDefault(field: protobuf.Field, v: unknown): boolean {
  // Members of a oneof (including proto3 `optional`) are present even with a zero value.
  if (field.partOf) return false;
  if (v === 0 || v === 0n || v === '' || v === false) return true;
  if (v instanceof Uint8Array) return v.length === 0;
  return false;
}

function value(field: protobuf.Field, v: unknown, path: string, json: boolean): unknown {
  const rt = field.resolvedType;
  if (rt instanceof protobuf.Type) return normalizeMessage(rt, v, path, json);
  if (rt instanceof protobuf.Enum) {
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    if (typeof v === 'string' && rt.values[v] !== undefined) return rt.values[v];
    return fail(path, `expected an enum value of ${rt.name}`);
  }
  return scalar(field, v, path, json);
}

/** Validates `input` against `type`; returns an object for `type.fromObject`. */
export function normalizeMessage(
  type: protobuf.Type,
  input: unknown,
  path: string,
  json: boolean,
): Record<string, unknown> {
  if (input === null || typeof input !== 'object' || Array.isArray(input) || input instanceof Uint8Array) {
    fail(path, `expected an object for ${type.name}`);
  }
  const out: Record<string, unknown> = {};
  const fields = type.fields;
  for (const [key, v] of Object.entries(input as Record<string, unknown>)) {
    const field = fields[key] ?? fields[camel(key)];
    if (field === undefined || v === null || v === undefined) continue;
    const p = `${path}.${field.name}`;
    if (field.repeated) {
      if (!Array.isArray(v)) fail(p, 'expected an array');
      if (v.length === 0) continue;
      out[field.name] = v.map((e, i) => value(field, e, `${p}[${i}]`, json));
    } else {
      const n = value(field, v, p, json);
      if (!isDefault(field, n)) out[field.name] = n;
    }
  }
  return out;
}
