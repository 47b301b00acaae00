// OTLP attribute values as JSONB properties (upstream lakehouse/otel/attrs.rs): strings, numbers
// and booleans keep their JSON type, bytes become base64 text, arrays and key/value lists nest.
// Keys are sorted by the JSONB encoder, like upstream's BTreeMap.
import { rustFloatDisplay, type AnyValue, type InstrumentationScope, type KeyValue } from '@micromegas/otlp';
import { encodeJsonb, jsonbToJson } from '../jsonb.ts';

export type JsonLike = null | boolean | number | bigint | string | JsonLike[] | { [k: string]: JsonLike };

const base64 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');

export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** An AnyValue as a JSON-like value (the profiling-only string index counts as absent). */
export function anyValueToJson(v: AnyValue | null | undefined): JsonLike {
  if (!v) return null;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return v.intValue;
  if (v.doubleValue !== undefined) return Number.isFinite(v.doubleValue) ? v.doubleValue : null;
  if (v.bytesValue !== undefined) return base64(v.bytesValue);
  if (v.arrayValue) return v.arrayValue.values.map(anyValueToJson);
  if (v.kvlistValue) return attrsObject(v.kvlistValue.values);
  return null;
}

/** Key/value pairs as an object; a later duplicate key wins (upstream inserts into a map in order). */
export function attrsObject(attrs: readonly KeyValue[], into: Record<string, JsonLike> = {}): Record<string, JsonLike> {
  for (const kv of attrs) into[kv.key] = anyValueToJson(kv.value);
  return into;
}

/** The msg text of a log body: strings as is, scalars as text, structures as JSON. */
export function anyValueToText(v: AnyValue | null | undefined): string {
  if (!v) return '';
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return v.intValue.toString();
  if (v.doubleValue !== undefined) return rustFloatDisplay(v.doubleValue);
  if (v.boolValue !== undefined) return String(v.boolValue);
  if (v.bytesValue !== undefined) return base64(v.bytesValue);
  if (v.arrayValue || v.kvlistValue) return jsonbToJson(encodeJsonb(anyValueToJson(v)));
  return '';
}

/** otel.scope.name/version/attr.*, otel.scope.schema_url (empty fields left out). */
export function scopeExtras(scope: InstrumentationScope | null | undefined, schemaUrl: string, into: Record<string, JsonLike> = {}): Record<string, JsonLike> {
  if (scope) {
    if (scope.name) into['otel.scope.name'] = scope.name;
    if (scope.version) into['otel.scope.version'] = scope.version;
    for (const kv of scope.attributes) if (kv.value) into[`otel.scope.attr.${kv.key}`] = anyValueToJson(kv.value);
  }
  if (schemaUrl) into['otel.scope.schema_url'] = schemaUrl;
  return into;
}

/** OTLP severity_number (1–24) → our levels (Fatal 1 … Trace 6); unspecified or out of range → Info. */
export function severityToLevel(sev: number): number {
  if (sev >= 1 && sev <= 24) return 6 - Math.floor((sev - 1) / 4);
  return 4;
}
