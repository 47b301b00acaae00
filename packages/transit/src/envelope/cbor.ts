// Generic CBOR (RFC 8949) codec, written for the ingestion envelopes: it must accept what ciborium (Rust,
// definite lengths) and jsoncons (Unreal, indefinite lengths) produce, and refuse hostile input cheaply.
//
// Value model (decoder output):
//   unsigned / negative integers -> number when the value is a safe integer (|v| <= 2^53 - 1), else bigint
//                                   (so every 64-bit integer is exact; callers wanting i64 use toBigInt)
//   floats (half/single/double)  -> number (an integral float decodes to the same number as the integer would)
//   byte strings                 -> Uint8Array (definite: a view into the input, no copy; indefinite: a new copy)
//   text strings                 -> string (must be valid UTF-8)
//   arrays                       -> CborValue[]
//   maps                         -> Map<CborValue, CborValue> in wire order; text keys can be looked up with get('k');
//                                   a repeated key keeps its first position and its last value
//   false/true/null/undefined    -> boolean / null / undefined; other simple values -> CborSimple
//   tags                         -> CborTag(tag number, decoded item)
import { TransitFormatError } from './errors.ts';

export class CborTag {
  constructor(
    readonly tag: number | bigint,
    readonly value: CborValue,
  ) {}
}

/** A simple value other than false/true/null/undefined (major type 7, 0..19 or 32..255). */
export class CborSimple {
  constructor(readonly value: number) {}
}

export type CborMap = Map<CborValue, CborValue>;

export type CborValue =
  | number
  | bigint
  | string
  | Uint8Array
  | boolean
  | null
  | undefined
  | CborValue[]
  | CborMap
  | CborTag
  | CborSimple;

/**
 * What the encoder accepts: every CborValue, plus plain objects (encoded as maps with text keys in property
 * insertion order) and read-only collections.
 */
export type CborEncodable =
  | CborValue
  | readonly CborEncodable[]
  | ReadonlyMap<CborEncodable, CborEncodable>
  | { readonly [key: string]: CborEncodable };

export interface CborDecodeOptions {
  /** Maximum nesting of arrays, maps and tags (default 64); deeper input is rejected rather than recursed into. */
  maxDepth?: number;
}

export const DEFAULT_CBOR_MAX_DEPTH = 64;

const TWO_POW_32 = 0x1_0000_0000;
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/** Decodes exactly one CBOR item; trailing bytes, truncation and malformed heads throw TransitFormatError. */
export function decodeCbor(bytes: Uint8Array, options: CborDecodeOptions = {}): CborValue {
  const decoder = new CborDecoder(bytes, options.maxDepth ?? DEFAULT_CBOR_MAX_DEPTH);
  const value = decoder.readItem(0);
  if (decoder.pos !== bytes.length) {
    throw new TransitFormatError(
      `cbor: ${bytes.length - decoder.pos} trailing byte(s) after the top-level item at offset ${decoder.pos}`,
    );
  }
  return value;
}

class CborDecoder {
  pos = 0;
  private readonly view: DataView;
  // Scratch outputs of readHead (fields rather than a returned object: legacy payloads are arrays of
  // millions of small integers, one head each).
  private major = 0;
  private info = 0;
  private arg: number | bigint = 0;

  constructor(
    private readonly buf: Uint8Array,
    private readonly maxDepth: number,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  private fail(message: string, at: number = this.pos): never {
    throw new TransitFormatError(`cbor: ${message} at offset ${at}`);
  }

  private need(n: number, at: number): void {
    if (n > this.buf.length - this.pos) this.fail('truncated input', at);
  }

  /** Reads an initial byte and its argument into major/info/arg. For info 31 (indefinite / break) arg is 0. */
  private readHead(): void {
    const start = this.pos;
    this.need(1, start);
    const initial = this.buf[this.pos++]!;
    this.major = initial >> 5;
    const info = initial & 0x1f;
    this.info = info;
    if (info < 24) {
      this.arg = info;
    } else if (info === 24) {
      this.need(1, start);
      this.arg = this.buf[this.pos]!;
      this.pos += 1;
    } else if (info === 25) {
      this.need(2, start);
      this.arg = this.view.getUint16(this.pos);
      this.pos += 2;
    } else if (info === 26) {
      this.need(4, start);
      this.arg = this.view.getUint32(this.pos);
      this.pos += 4;
    } else if (info === 27) {
      this.need(8, start);
      const hi = this.view.getUint32(this.pos);
      const lo = this.view.getUint32(this.pos + 4);
      this.pos += 8;
      this.arg = hi < 0x20_0000 ? hi * TWO_POW_32 + lo : (BigInt(hi) << 32n) | BigInt(lo);
    } else if (info === 31) {
      this.arg = 0;
    } else {
      this.fail(`reserved additional information ${info}`, start);
    }
  }

  /** A definite length checked against the remaining input (each unit needs at least `unitBytes` bytes). */
  private length(unitBytes: number, at: number): number {
    const arg = this.arg;
    if (typeof arg === 'bigint' || arg * unitBytes > this.buf.length - this.pos) this.fail('truncated input', at);
    return arg as number;
  }

  readItem(depth: number): CborValue {
    const start = this.pos;
    this.readHead();
    const major = this.major;
    const info = this.info;
    switch (major) {
      case 0:
        if (info === 31) this.fail('indefinite length on an integer', start);
        return this.arg;
      case 1: {
        if (info === 31) this.fail('indefinite length on an integer', start);
        const arg = this.arg;
        if (typeof arg === 'number' && arg < Number.MAX_SAFE_INTEGER) return -1 - arg;
        return -1n - BigInt(arg);
      }
      case 2:
      case 3: {
        const bytes = info === 31 ? this.readChunks(major) : this.readDefiniteBytes(start);
        if (major === 2) return bytes;
        try {
          return utf8Decoder.decode(bytes);
        } catch {
          this.fail('invalid UTF-8 in text string', start);
        }
      }
      case 4: {
        if (depth >= this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth}`, start);
        const items: CborValue[] = [];
        if (info === 31) {
          while (!this.atBreak()) items.push(this.readItem(depth + 1));
        } else {
          const count = this.length(1, start);
          for (let i = 0; i < count; i++) items.push(this.readItem(depth + 1));
        }
        return items;
      }
      case 5: {
        if (depth >= this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth}`, start);
        const map: CborMap = new Map();
        if (info === 31) {
          while (!this.atBreak()) {
            const key = this.readItem(depth + 1);
            if (this.atBreakPeek()) this.fail('map key without a value', this.pos);
            map.set(key, this.readItem(depth + 1));
          }
        } else {
          const count = this.length(2, start);
          for (let i = 0; i < count; i++) {
            const key = this.readItem(depth + 1);
            map.set(key, this.readItem(depth + 1));
          }
        }
        return map;
      }
      case 6: {
        if (info === 31) this.fail('indefinite length on a tag', start);
        if (depth >= this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth}`, start);
        const tag = this.arg;
        return new CborTag(tag, this.readItem(depth + 1));
      }
      default:
        return this.readSimpleOrFloat(start);
    }
  }

  private readSimpleOrFloat(start: number): CborValue {
    const info = this.info;
    if (info < 20) return new CborSimple(info);
    switch (info) {
      case 20:
        return false;
      case 21:
        return true;
      case 22:
        return null;
      case 23:
        return undefined;
      case 24: {
        const value = this.arg as number;
        if (value < 32) this.fail(`simple value ${value} encoded in two bytes`, start);
        return new CborSimple(value);
      }
      case 25:
        return halfToNumber(this.arg as number);
      case 26:
        return this.view.getFloat32(this.pos - 4);
      case 27:
        return this.view.getFloat64(this.pos - 8);
      default:
        return this.fail('unexpected break', start);
    }
  }

  private readDefiniteBytes(start: number): Uint8Array {
    const length = this.length(1, start);
    const bytes = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return bytes;
  }

  /** Indefinite-length byte/text string: definite chunks of the same major type until a break. */
  private readChunks(major: number): Uint8Array {
    const chunks: Uint8Array[] = [];
    let total = 0;
    while (!this.atBreak()) {
      const chunkStart = this.pos;
      this.readHead();
      if (this.major !== major || this.info === 31) {
        this.fail('invalid chunk in an indefinite-length string', chunkStart);
      }
      const chunk = this.readDefiniteBytes(chunkStart);
      chunks.push(chunk);
      total += chunk.length;
    }
    if (chunks.length === 1) return chunks[0]!.slice();
    const out = new Uint8Array(total);
    let offset = 0;
    for (const chunk of chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }

  /** Consumes a break byte if one is next; throws on end of input (an indefinite item must be closed). */
  private atBreak(): boolean {
    this.need(1, this.pos);
    if (this.buf[this.pos] === 0xff) {
      this.pos += 1;
      return true;
    }
    return false;
  }

  private atBreakPeek(): boolean {
    this.need(1, this.pos);
    return this.buf[this.pos] === 0xff;
  }
}

function halfToNumber(half: number): number {
  const exponent = (half >> 10) & 0x1f;
  const mantissa = half & 0x3ff;
  const sign = half & 0x8000 ? -1 : 1;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1024 + mantissa) * 2 ** (exponent - 25);
}

const f32Scratch = new DataView(new ArrayBuffer(4));

/** Half-precision bits for `value` when the conversion is exact, else -1. `value` must already be a float32. */
function exactHalf(value: number): number {
  f32Scratch.setFloat32(0, value);
  const bits = f32Scratch.getUint32(0);
  const sign = (bits >>> 16) & 0x8000;
  const biased = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7f_ffff;
  if (biased === 0xff) return mantissa === 0 ? sign | 0x7c00 : 0x7e00;
  if (biased === 0 && mantissa === 0) return sign;
  if (biased === 0) return -1; // float32 subnormals are far below the half range
  const exponent = biased - 127;
  if (exponent >= -14 && exponent <= 15) {
    if (mantissa & 0x1fff) return -1;
    return sign | ((exponent + 15) << 10) | (mantissa >>> 13);
  }
  if (exponent >= -24 && exponent < -14) {
    const full = 0x80_0000 | mantissa;
    const shift = -exponent - 1;
    if (full & ((1 << shift) - 1)) return -1;
    return sign | (full >>> shift);
  }
  return -1;
}

export interface CborEncodeOptions {
  /** Initial output buffer size in bytes (it grows as needed); a good guess avoids copies for large payloads. */
  initialCapacity?: number;
}

/**
 * Encodes a value with definite lengths and shortest heads (the shape ciborium writes).
 * Numbers that are safe integers become CBOR integers (negatives as major type 1); other numbers become the
 * shortest float (half/single/double) that holds them exactly. bigint must fit -2^64 .. 2^64-1.
 * Maps and plain objects keep insertion order.
 */
export function encodeCbor(value: CborEncodable, options: CborEncodeOptions = {}): Uint8Array {
  const writer = new CborWriter(options.initialCapacity ?? 256);
  writer.write(value, 0);
  return writer.finish();
}

const MAX_ENCODE_DEPTH = 1000;

/** Growable output buffer with CBOR primitives; exported for encoders that stream fields without building objects. */
export class CborWriter {
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;

  constructor(initialCapacity = 256) {
    this.buf = new Uint8Array(Math.max(16, initialCapacity));
    this.view = new DataView(this.buf.buffer);
  }

  private ensure(extra: number): void {
    const needed = this.pos + extra;
    if (needed <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(needed, this.buf.length * 2));
    grown.set(this.buf.subarray(0, this.pos));
    this.buf = grown;
    this.view = new DataView(grown.buffer);
  }

  /** The encoded bytes (a copy sized exactly). */
  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }

  /** Writes a head with the shortest argument encoding. `arg` must be a non-negative integer < 2^64. */
  writeHead(major: number, arg: number | bigint): void {
    this.ensure(9);
    const m = major << 5;
    if (typeof arg === 'bigint') {
      if (arg < 0x1_0000_0000n) {
        arg = Number(arg);
      } else {
        this.buf[this.pos] = m | 27;
        this.view.setBigUint64(this.pos + 1, arg);
        this.pos += 9;
        return;
      }
    }
    if (arg < 24) {
      this.buf[this.pos++] = m | arg;
    } else if (arg < 0x100) {
      this.buf[this.pos] = m | 24;
      this.buf[this.pos + 1] = arg;
      this.pos += 2;
    } else if (arg < 0x1_0000) {
      this.buf[this.pos] = m | 25;
      this.view.setUint16(this.pos + 1, arg);
      this.pos += 3;
    } else if (arg < TWO_POW_32) {
      this.buf[this.pos] = m | 26;
      this.view.setUint32(this.pos + 1, arg);
      this.pos += 5;
    } else {
      this.buf[this.pos] = m | 27;
      this.view.setUint32(this.pos + 1, Math.floor(arg / TWO_POW_32));
      this.view.setUint32(this.pos + 5, arg >>> 0);
      this.pos += 9;
    }
  }

  writeInteger(value: number | bigint): void {
    if (typeof value === 'number') {
      if (value >= 0) this.writeHead(0, value);
      else this.writeHead(1, -1 - value);
      return;
    }
    if (value >= 0n) {
      if (value >= 1n << 64n) throw new TransitFormatError(`cbor: integer ${value} does not fit 64 bits`);
      this.writeHead(0, value);
    } else {
      if (value < -(1n << 64n)) throw new TransitFormatError(`cbor: integer ${value} does not fit 64 bits`);
      this.writeHead(1, -1n - value);
    }
  }

  writeFloat(value: number): void {
    this.ensure(9);
    if (Number.isNaN(value) || Math.fround(value) === value) {
      const half = exactHalf(value);
      if (half >= 0) {
        this.buf[this.pos] = 0xf9;
        this.view.setUint16(this.pos + 1, half);
        this.pos += 3;
      } else {
        this.buf[this.pos] = 0xfa;
        this.view.setFloat32(this.pos + 1, value);
        this.pos += 5;
      }
      return;
    }
    this.buf[this.pos] = 0xfb;
    this.view.setFloat64(this.pos + 1, value);
    this.pos += 9;
  }

  writeBytes(bytes: Uint8Array): void {
    this.writeHead(2, bytes.length);
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  writeText(text: string): void {
    const bytes = utf8Encoder.encode(text);
    this.writeHead(3, bytes.length);
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  writeSimple(byte: number): void {
    this.ensure(1);
    this.buf[this.pos++] = byte;
  }

  write(value: CborEncodable, depth: number): void {
    if (depth > MAX_ENCODE_DEPTH) throw new TransitFormatError(`cbor: value nested deeper than ${MAX_ENCODE_DEPTH}`);
    switch (typeof value) {
      case 'number':
        if (Number.isSafeInteger(value) && !Object.is(value, -0)) this.writeInteger(value);
        else this.writeFloat(value);
        return;
      case 'bigint':
        this.writeInteger(value);
        return;
      case 'string':
        this.writeText(value);
        return;
      case 'boolean':
        this.writeSimple(value ? 0xf5 : 0xf4);
        return;
      case 'undefined':
        this.writeSimple(0xf7);
        return;
      case 'object':
        break;
      default:
        throw new TransitFormatError(`cbor: cannot encode a value of type ${typeof value}`);
    }
    if (value === null) {
      this.writeSimple(0xf6);
    } else if (value instanceof Uint8Array) {
      this.writeBytes(value);
    } else if (Array.isArray(value)) {
      const items = value as readonly CborEncodable[];
      this.writeHead(4, items.length);
      for (const item of items) this.write(item, depth + 1);
    } else if (value instanceof Map) {
      const map = value as ReadonlyMap<CborEncodable, CborEncodable>;
      this.writeHead(5, map.size);
      for (const [key, item] of map) {
        this.write(key, depth + 1);
        this.write(item, depth + 1);
      }
    } else if (value instanceof CborTag) {
      this.writeHead(6, value.tag);
      this.write(value.value, depth + 1);
    } else if (value instanceof CborSimple) {
      if (!Number.isInteger(value.value) || value.value < 0 || value.value > 255 || (value.value >= 20 && value.value < 32)) {
        throw new TransitFormatError(`cbor: invalid simple value ${value.value}`);
      }
      if (value.value < 24) this.writeSimple(0xe0 | value.value);
      else {
        this.writeSimple(0xf8);
        this.writeSimple(value.value);
      }
    } else {
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) {
        throw new TransitFormatError('cbor: cannot encode a class instance (use a Map or a plain object)');
      }
      const record = value as { readonly [key: string]: CborEncodable };
      const keys = Object.keys(record);
      this.writeHead(5, keys.length);
      for (const key of keys) {
        this.writeText(key);
        this.write(record[key]!, depth + 1);
      }
    }
  }
}
