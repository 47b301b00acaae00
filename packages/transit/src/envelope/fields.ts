// Typed field access on decoded CBOR maps, shared by the envelope decoders. Every failure names the envelope
// and the field ("process_info: missing field exe"), because that text ends up in the server's 400 log line.
import type { CborMap, CborValue } from './cbor.ts';
import { TransitFormatError } from './errors.ts';

const UUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

function describe(value: CborValue): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (value instanceof Uint8Array) return 'byte string';
  if (Array.isArray(value)) return 'array';
  if (value instanceof Map) return 'map';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'float';
  if (typeof value === 'bigint') return 'integer';
  if (typeof value === 'string') return 'text';
  if (typeof value === 'object') return value.constructor.name;
  return typeof value;
}

/** A decoded CBOR map being read as one envelope (or nested struct); `context` prefixes every error. */
export class FieldReader {
  constructor(
    readonly context: string,
    private readonly map: CborMap,
  ) {}

  static of(context: string, value: CborValue): FieldReader {
    if (!(value instanceof Map)) {
      throw new TransitFormatError(`${context}: expected a map, got ${describe(value)}`);
    }
    return new FieldReader(context, value);
  }

  fail(field: string, what: string): never {
    throw new TransitFormatError(`${this.context}: field ${field} ${what}`);
  }

  has(field: string): boolean {
    return this.map.has(field);
  }

  get(field: string): CborValue {
    if (!this.map.has(field)) throw new TransitFormatError(`${this.context}: missing field ${field}`);
    return this.map.get(field);
  }

  text(field: string): string {
    const value = this.get(field);
    if (typeof value !== 'string') this.fail(field, `must be text, got ${describe(value)}`);
    return value;
  }

  uuid(field: string): string {
    return normalizeUuid(this.text(field), this.context, field);
  }

  /** `null`, `""` or a missing key mean "no value" (current Rust, old Rust / Unreal, lenient). */
  optionalUuid(field: string): string | null {
    if (!this.map.has(field)) return null;
    const value = this.map.get(field);
    if (value === null || value === '') return null;
    if (typeof value !== 'string') this.fail(field, `must be text or null, got ${describe(value)}`);
    return normalizeUuid(value, this.context, field);
  }

  /**
   * A 64-bit signed integer, exact. An integral float is accepted too: the CBOR value model does not keep
   * the int/float distinction for integral values (ciborium would refuse it; no client sends one).
   */
  i64(field: string): bigint {
    const value = this.get(field);
    if (typeof value !== 'number' && typeof value !== 'bigint') this.fail(field, `must be an integer, got ${describe(value)}`);
    if (typeof value === 'number' && !Number.isInteger(value)) this.fail(field, 'must be an integer, got float');
    const big = BigInt(value);
    if (big < I64_MIN || big > I64_MAX) this.fail(field, `value ${big} does not fit a 64-bit signed integer`);
    return big;
  }

  i32(field: string): number {
    const big = this.i64(field);
    if (big < -0x8000_0000n || big > 0x7fff_ffffn) this.fail(field, `value ${big} does not fit a 32-bit signed integer`);
    return Number(big);
  }

  /** A usize (sizes, offsets); kept as number, so it must be a non-negative safe integer. */
  size(field: string): number {
    const value = this.get(field);
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      this.fail(field, `must be a non-negative integer, got ${typeof value === 'bigint' ? value.toString() : describe(value)}`);
    }
    return value;
  }

  bool(field: string): boolean {
    const value = this.get(field);
    if (typeof value !== 'boolean') this.fail(field, `must be a boolean, got ${describe(value)}`);
    return value;
  }

  array(field: string): CborValue[] {
    const value = this.get(field);
    if (!Array.isArray(value)) this.fail(field, `must be an array, got ${describe(value)}`);
    return value;
  }

  textArray(field: string): string[] {
    return this.array(field).map((item, index) => {
      if (typeof item !== 'string') this.fail(`${field}[${index}]`, `must be text, got ${describe(item)}`);
      return item;
    });
  }

  /** A text→text map; a missing key is an empty map (clients without properties). */
  properties(field: string): Map<string, string> {
    const result = new Map<string, string>();
    if (!this.map.has(field)) return result;
    const value = this.map.get(field);
    if (!(value instanceof Map)) this.fail(field, `must be a map of text to text, got ${describe(value)}`);
    for (const [key, item] of value) {
      if (typeof key !== 'string') this.fail(field, `has a non-text key (${describe(key)})`);
      if (typeof item !== 'string') this.fail(`${field}.${key}`, `must be text, got ${describe(item)}`);
      result.set(key, item);
    }
    return result;
  }

  /** Bytes as a byte string (any chunking) or as a legacy array of integers 0..255 (Rust clients before #1464). */
  bytes(field: string): Uint8Array {
    const value = this.get(field);
    if (value instanceof Uint8Array) return value;
    if (!Array.isArray(value)) this.fail(field, `must be a byte string or an array of bytes, got ${describe(value)}`);
    const bytes = new Uint8Array(value.length);
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      if (typeof item !== 'number' || !Number.isInteger(item) || item < 0 || item > 255) {
        this.fail(field, `item ${i} is not a byte (integer 0..255)`);
      }
      bytes[i] = item;
    }
    return bytes;
  }

  nested(field: string): FieldReader {
    return FieldReader.of(`${this.context}.${field}`, this.get(field));
  }
}

/** Validates 8-4-4-4-12 hexadecimal UUID text and returns it lower-cased (object-store keys are lower-case). */
export function normalizeUuid(text: string, context: string, field: string): string {
  if (!UUID_PATTERN.test(text)) {
    throw new TransitFormatError(`${context}: field ${field} is not a UUID (${JSON.stringify(text.slice(0, 64))})`);
  }
  return text.toLowerCase();
}
