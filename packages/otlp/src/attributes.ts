// Stringification of OTLP AnyValue the way upstream's identity code does it (`attr_to_string`):
// strings as is, ints in decimal, bools true/false, doubles in Rust `Display` form (no exponent),
// bytes/arrays/kvlists in a Rust `Debug`-like form, profiling string indexes as empty.
import type { AnyValue, KeyValue } from './types.ts';

/** Rust `f64` Display: shortest round-trip digits, never in exponent notation. */
export function rustFloatDisplay(d: number): string {
  if (Number.isNaN(d)) return 'NaN';
  if (d === Infinity) return 'inf';
  if (d === -Infinity) return '-inf';
  const s = String(d);
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (m === null) return Object.is(d, -0) ? '-0' : s;
  const [, sign, lead, frac = '', expStr] = m;
  const digits = lead! + frac;
  const exp = Number(expStr);
  if (exp >= 0) {
    const intLen = exp + 1;
    return intLen >= digits.length
      ? sign + digits + '0'.repeat(intLen - digits.length)
      : `${sign}${digits.slice(0, intLen)}.${digits.slice(intLen)}`;
  }
  return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
}

function rustFloatDebug(d: number): string {
  const s = rustFloatDisplay(d);
  return Number.isFinite(d) && Number.isInteger(d) ? `${s}.0` : s;
}

function debugStr(s: string): string {
  return JSON.stringify(s);
}

function debugValueVariant(v: AnyValue): string {
  if (v.stringValue !== undefined) return `StringValue(${debugStr(v.stringValue)})`;
  if (v.boolValue !== undefined) return `BoolValue(${v.boolValue})`;
  if (v.intValue !== undefined) return `IntValue(${v.intValue})`;
  if (v.doubleValue !== undefined) return `DoubleValue(${rustFloatDebug(v.doubleValue)})`;
  if (v.bytesValue !== undefined) return `BytesValue([${Array.from(v.bytesValue).join(', ')}])`;
  if (v.arrayValue !== undefined) {
    return `ArrayValue(ArrayValue { values: [${(v.arrayValue.values ?? []).map(debugAnyValue).join(', ')}] })`;
  }
  if (v.kvlistValue !== undefined) {
    return `KvlistValue(KeyValueList { values: [${(v.kvlistValue.values ?? []).map(debugKeyValue).join(', ')}] })`;
  }
  if (v.stringValueStrindex !== undefined) return `StringValueStrindex(${v.stringValueStrindex})`;
  return '';
}

function debugOption(v: AnyValue | null | undefined): string {
  if (v === null || v === undefined) return 'None';
  const inner = debugValueVariant(v);
  return inner === '' ? 'None' : `Some(${inner})`;
}

function debugAnyValue(v: AnyValue): string {
  return `AnyValue { value: ${debugOption(v)} }`;
}

function debugKeyValue(kv: KeyValue): string {
  const value = kv.value ? `Some(${debugAnyValue(kv.value)})` : 'None';
  return `KeyValue { key: ${debugStr(kv.key)}, value: ${value}, key_strindex: ${kv.keyStrindex ?? 0} }`;
}

/** Upstream `attr_to_string` semantics. */
export function anyValueToString(value: AnyValue | null | undefined): string {
  if (value === null || value === undefined) return '';
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return value.intValue.toString();
  if (value.boolValue !== undefined) return value.boolValue ? 'true' : 'false';
  if (value.doubleValue !== undefined) return rustFloatDisplay(value.doubleValue);
  if (value.bytesValue !== undefined) return `[${Array.from(value.bytesValue).join(', ')}]`;
  if (value.stringValueStrindex !== undefined) return '';
  if (value.arrayValue !== undefined || value.kvlistValue !== undefined) return debugOption(value);
  return '';
}

/** First value of `key` (upstream matches on key only; interned keys count as absent). */
export function findAttribute(kvs: readonly KeyValue[], key: string): AnyValue | null | undefined {
  for (const kv of kvs) if (kv.key === key) return kv.value;
  return undefined;
}

/** key → stringified value; for duplicate keys the first one wins (as upstream's lookup). */
export function attributesToRecord(kvs: readonly KeyValue[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of kvs) if (!(kv.key in out)) out[kv.key] = anyValueToString(kv.value);
  return out;
}
