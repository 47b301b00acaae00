// Column building for the span views: rows accumulate in growable typed arrays (no per-row objects)
// and become arrow Data in one pass at the end.
import { Dictionary, Int32, Schema, Struct, Utf8, makeData, makeVector, RecordBatch, type Data, type DataType } from 'apache-arrow';

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A Float64Array that grows; `a` may be replaced on growth, so read it after pushing. */
export class F64Col {
  a: Float64Array;
  n = 0;
  constructor(capacity = 1024) {
    this.a = new Float64Array(Math.max(16, capacity));
  }
  push(v: number): void {
    if (this.n === this.a.length) this.grow();
    this.a[this.n++] = v;
  }
  private grow(): void {
    const b = new Float64Array(this.a.length * 2);
    b.set(this.a);
    this.a = b;
  }
}

export class I32Col {
  a: Int32Array;
  n = 0;
  constructor(capacity = 1024) {
    this.a = new Int32Array(Math.max(16, capacity));
  }
  push(v: number): void {
    if (this.n === this.a.length) this.grow();
    this.a[this.n++] = v;
  }
  private grow(): void {
    const b = new Int32Array(this.a.length * 2);
    b.set(this.a);
    this.a = b;
  }
}

export class BigCol {
  a: BigInt64Array;
  /** 32-bit view of `a`, for storing a value from its two halves without a BigInt. */
  private w: Uint32Array;
  n = 0;
  constructor(capacity = 1024) {
    this.a = new BigInt64Array(Math.max(16, capacity));
    this.w = new Uint32Array(this.a.buffer);
  }
  /** Stores the value modulo 2^64 as a signed i64 (u64 ids reinterpret, as upstream's `as i64`). */
  push(v: bigint): void {
    if (this.n === this.a.length) this.grow();
    this.a[this.n++] = v;
  }
  /** Stores the 64-bit value whose low and high unsigned 32-bit halves are given. */
  pushWords(lo: number, hi: number): void {
    if (!littleEndian) return this.push((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0));
    if (this.n === this.a.length) this.grow();
    const i = this.n++ << 1;
    this.w[i] = lo;
    this.w[i + 1] = hi;
  }
  private grow(): void {
    const b = new BigInt64Array(this.a.length * 2);
    b.set(this.a);
    this.a = b;
    this.w = new Uint32Array(b.buffer);
  }
}

const TWO_32 = 4294967296;
const INV_TWO_32 = 1 / TWO_32; // a power of two: multiplying by it is exact

/**
 * `base + values[i]` as i64, without a BigInt per row: values are integers with |v| < 2^53 - 2^32
 * (ns offsets from the process start: ~104 days), the sum is assembled from 32-bit words.
 */
export function toI64(values: Float64Array, n: number, base: bigint = 0n): BigInt64Array {
  const out = new BigInt64Array(n);
  if (!littleEndian) {
    for (let i = 0; i < n; i++) out[i] = base + BigInt(values[i]!);
    return out;
  }
  const words = new Uint32Array(out.buffer);
  const baseLo = Number(BigInt.asUintN(32, base));
  const baseHi = Number(BigInt.asIntN(32, base >> 32n));
  for (let i = 0; i < n; i++) {
    const lo = values[i]! + baseLo;
    const carry = Math.floor(lo * INV_TWO_32);
    words[2 * i] = lo - carry * TWO_32;
    words[2 * i + 1] = baseHi + carry; // Uint32Array stores it modulo 2^32: two's complement
  }
  return out;
}

/** Interns strings for a Dictionary(Utf8, Int32) column. */
export class StringDict {
  private readonly index = new Map<string, number>();
  readonly values: string[] = [];

  id(s: string): number {
    let i = this.index.get(s);
    if (i === undefined) {
      i = this.values.length;
      this.values.push(s);
      this.index.set(s, i);
    }
    return i;
  }
}

const utf8 = new TextEncoder();

function utf8Data(values: readonly string[]): Data<Utf8> {
  const encoded = values.map((v) => utf8.encode(v));
  const offsets = new Int32Array(values.length + 1);
  let total = 0;
  for (let i = 0; i < encoded.length; i++) {
    total += encoded[i]!.length;
    offsets[i + 1] = total;
  }
  const bytes = new Uint8Array(total);
  for (let i = 0; i < encoded.length; i++) bytes.set(encoded[i]!, offsets[i]!);
  return makeData({ type: new Utf8(), length: values.length, nullCount: 0, valueOffsets: offsets, data: bytes });
}

export function dictData(type: DataType, dict: StringDict, indices: Int32Array, n: number): Data {
  if (!(type instanceof Dictionary)) throw new Error(`expected a dictionary type, got ${type}`);
  return makeData({
    type: type as Dictionary<Utf8, Int32>,
    length: n,
    nullCount: 0,
    data: indices.subarray(0, n),
    dictionary: makeVector(utf8Data(dict.values)),
  });
}

/** Primitive column Data of the schema field's type from a typed array (trimmed to n). */
export function primData(type: DataType, values: ArrayLike<number | bigint> & { subarray(a: number, b: number): unknown }, n: number): Data {
  return makeData({ type, length: n, nullCount: 0, data: values.subarray(0, n) } as never);
}

export function boolData(type: DataType, values: Uint8Array, n: number): Data {
  const bits = new Uint8Array((n + 7) >> 3);
  for (let i = 0; i < n; i++) if (values[i]) bits[i >> 3]! |= 1 << (i & 7);
  return makeData({ type, length: n, nullCount: 0, data: bits } as never);
}

export function makeBatch(schema: Schema, children: Data[], n: number): RecordBatch {
  const data = makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children });
  return new RecordBatch(schema, data);
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/**
 * `Number(ticks - offset)` as upstream's `(ticks - tick_offset) as f64`, without allocating a
 * BigInt when both are safe integers and so is their difference (then the float subtraction is exact).
 */
export function tickDelta(ticks: bigint, offset: bigint, offsetNumber: number): number {
  const t = Number(ticks);
  if (t <= MAX_SAFE && t >= -MAX_SAFE) {
    const d = t - offsetNumber;
    if (d <= MAX_SAFE && d >= -MAX_SAFE && offsetNumber <= MAX_SAFE && offsetNumber >= -MAX_SAFE) return d;
  }
  return Number(ticks - offset);
}
