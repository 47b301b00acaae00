// Helpers for the fast block processors: they read events straight from the decompressed objects
// buffer at offsets taken from the stream's metadata, without building an object per event.
import { TransitFormatError, TransitObject, type DependencyMap, type TransitValue, type UserDefinedType } from '@micromegas/transit';
import type { BytesColumn } from '../arrow/builders.ts';

const TWO_32 = 4294967296;
const utf8Lossy = new TextDecoder('utf-8', { fatal: false });
const utf16Lossy = new TextDecoder('utf-16le', { fatal: false });
const utf8Encoder = new TextEncoder();

export function fail(message: string): never {
  throw new TransitFormatError(`transit: ${message}`);
}

export function u32At(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)) + b[at + 3]! * 0x1000000;
}

export function i32At(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24);
}

export function f64At(view: DataView, at: number): number {
  return view.getFloat64(at, true);
}

/** u64 as a float (correctly rounded like Rust's `as f64`). */
export function u64AsNumber(b: Uint8Array, at: number): number {
  return u32At(b, at + 4) * TWO_32 + u32At(b, at);
}

export function i64At(b: Uint8Array, at: number): bigint {
  return BigInt.asIntN(64, (BigInt(u32At(b, at + 4)) << 32n) | BigInt(u32At(b, at)));
}

/** Offset of a member, with its size checked against what the reader expects. */
export function memberOffset(udt: UserDefinedType, name: string, size?: number): number {
  const m = udt.members.find((x) => x.name === name);
  if (!m) fail(`${udt.name} has no member ${name}`);
  if (size !== undefined && m.size < size) fail(`${udt.name}.${name} is ${m.size} bytes, expected ${size}`);
  if (m.offset < 0 || m.offset + (size ?? m.size) > udt.size) fail(`${udt.name}.${name} lies outside the ${udt.size}-byte object`);
  return m.offset;
}

export function hasMember(udt: UserDefinedType, name: string): boolean {
  return udt.members.some((m) => m.name === name);
}

/** Size of an in-place reference type (StaticStringRef, StringId) as the stream declares it. */
export function refTypeSize(udts: readonly UserDefinedType[], name: string): number {
  const u = udts.find((x) => x.name === name);
  if (!u || u.size < 8) fail(`stream metadata lacks reference type ${name}`);
  return u.size;
}

/**
 * Dependencies looked up by the two 32-bit halves of their id. Resolved values are memoized per
 * block under a float key (exact for ids below 2^53, which covers pointers and counters).
 */
export class DependencyIndex<T> {
  private readonly memo = new Map<number, T>();
  constructor(
    private readonly deps: DependencyMap,
    private readonly resolve: (value: TransitValue) => T,
  ) {}

  at(b: Uint8Array, offset: number, what: string): T {
    const hi = u32At(b, offset + 4);
    const lo = u32At(b, offset);
    if (hi < 0x200000) {
      const key = hi * TWO_32 + lo;
      let v = this.memo.get(key);
      if (v === undefined) {
        v = this.lookup((BigInt(hi) << 32n) | BigInt(lo), what);
        this.memo.set(key, v);
      }
      return v;
    }
    return this.lookup((BigInt(hi) << 32n) | BigInt(lo), what);
  }

  private lookup(id: bigint, what: string): T {
    const v = this.deps.get(id);
    if (v === undefined) fail(`${what} refers to missing dependency 0x${id.toString(16)}`);
    return this.resolve(v);
  }
}

export function isAscii(b: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (b[i]! > 0x7f) return false;
  return true;
}

/** Appends UTF-8 text from src[start, end) (lossy for invalid sequences, as upstream). */
export function pushUtf8(col: BytesColumn, src: Uint8Array, start: number, end: number): void {
  if (isAscii(src, start, end)) col.pushRange(src, start, end);
  else col.pushBytes(utf8Encoder.encode(utf8Lossy.decode(src.subarray(start, end))));
}

/** Reads a codec:u8 len:u32 string at `at` into col; returns the offset after it. */
export function pushDynString(col: BytesColumn, b: Uint8Array, at: number, end: number, what: string): number {
  if (at + 5 > end) fail(`${what} header out of bounds`);
  const codec = b[at]!;
  const n = u32At(b, at + 1);
  const start = at + 5;
  if (n > end - start) fail(`${what} of ${n} bytes runs past its object`);
  if (codec === 0 || codec === 2) {
    if (!col.pushAscii(b, start, start + n)) col.pushBytes(utf8Encoder.encode(utf8Lossy.decode(b.subarray(start, start + n))));
  }
  else if (codec === 1) {
    if (n % 2 !== 0) fail(`${what}: UTF-16 string of odd length ${n}`);
    col.pushString(utf16Lossy.decode(b.subarray(start, start + n)));
  } else fail(`${what}: unknown string codec ${codec}`);
  return start + n;
}

export function readDynStringValue(b: Uint8Array, at: number, end: number, what: string): [string, number] {
  if (at + 5 > end) fail(`${what} header out of bounds`);
  const codec = b[at]!;
  const n = u32At(b, at + 1);
  const start = at + 5;
  if (n > end - start) fail(`${what} of ${n} bytes runs past its object`);
  if (codec === 0 || codec === 2) return [utf8Lossy.decode(b.subarray(start, start + n)), start + n];
  if (codec === 1) return [utf16Lossy.decode(b.subarray(start, start + n)), start + n];
  return fail(`${what}: unknown string codec ${codec}`);
}

export function asObject(v: TransitValue, what: string): TransitObject {
  if (!(v instanceof TransitObject)) fail(`${what} is not an object`);
  return v;
}

export function stringMember(o: TransitObject, name: string): string {
  const v = o.get(name);
  if (typeof v !== 'string') fail(`${o.typeName}.${name} is not a string`);
  return v;
}

export function intMember(o: TransitObject, name: string): number {
  const v = o.get(name);
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return fail(`${o.typeName}.${name} is not an integer`);
}

/** String-valued members of a property set, sorted by key (what the JSONB columns hold). */
export function stringProperties(o: TransitObject): [string, string][] {
  const out: [string, string][] = [];
  for (const [k, v] of o.members) if (typeof v === 'string') out.push([k, v]);
  out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return out;
}

export const utf8 = { encode: (s: string) => utf8Encoder.encode(s) };
