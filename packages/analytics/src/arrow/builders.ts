// Growable column builders that fill typed arrays directly, so hot decoding loops neither allocate
// per value nor go through Arrow's generic builders. Each builder finishes into an Arrow Data.
import { makeData, makeVector, vectorFromArray, type DataType, type Vector, type Data, Binary, Float64, Int32, Int64, List, Timestamp, Uint32, Utf8 } from 'apache-arrow';
import { dictBinary, dictUtf8 } from './types.ts';
import { releaseBuffers, takeBuffer } from './buffer_pool.ts';


const utf8Encoder = new TextEncoder();

type Typed = Int32Array | Uint32Array | Float64Array | BigInt64Array | Uint8Array;

function grow<T extends Typed>(array: T, needed: number): T {
  let size = Math.max(1024, array.length * 2);
  while (size < needed) size *= 2;
  const Ctor = array.constructor as { new (buffer: ArrayBuffer, offset: number, length: number): T; BYTES_PER_ELEMENT: number };
  const bigger = new Ctor(takeBuffer(size * Ctor.BYTES_PER_ELEMENT), 0, size);
  bigger.set(array as never);
  const old = array.buffer as ArrayBuffer;
  // The smaller buffer is garbage now (nothing else has seen it).
  releaseBuffers([old]);
  return bigger;
}

/** Builders whose buffers can go back to the pool once the batch they made is no longer read. */
export interface Releasable {
  buffers(): ArrayBuffer[];
}

export function releaseColumns(columns: Iterable<Releasable>): void {
  for (const c of columns) releaseBuffers(c.buffers());
}

/** int64 / timestamp values, written as (lo, hi) 32-bit halves so hot loops need no BigInt. */
export class Int64Column implements Releasable {
  values = new BigInt64Array(1024);
  buffers(): ArrayBuffer[] {
    return [this.values.buffer as ArrayBuffer];
  }
  lo = new Uint32Array(this.values.buffer);
  hi = new Int32Array(this.values.buffer);
  length = 0;

  reserve(extra: number): void {
    if (this.length + extra > this.values.length) {
      this.values = grow(this.values, this.length + extra);
      this.lo = new Uint32Array(this.values.buffer);
      this.hi = new Int32Array(this.values.buffer);
    }
  }
  push(v: bigint): void {
    this.reserve(1);
    this.values[this.length++] = v;
  }
  /** Appends base + offset where base = (baseHi, baseLo) and |offset| < 2^52. */
  pushOffset(baseHi: number, baseLo: number, offset: number): void {
    if (this.length === this.values.length) this.reserve(1);
    const total = baseLo + offset;
    const carry = Math.floor(total / 4294967296);
    const i = this.length++;
    this.lo[2 * i] = total - carry * 4294967296;
    this.hi[2 * i + 1] = baseHi + carry;
  }
  fill(v: bigint, count: number): void {
    this.reserve(count);
    this.values.fill(v, this.length, this.length + count);
    this.length += count;
  }
  /** Smallest and largest value (undefined when empty). */
  range(): { min: bigint | undefined; max: bigint | undefined } {
    return bigintRange(this.values, this.length);
  }
  finish(type: Int64 | Timestamp): Data {
    return makeData({ type, length: this.length, data: this.values.subarray(0, this.length) } as never);
  }
}

/** Smallest and largest of the first `length` values (all by default); undefined when there are none. */
export function bigintRange(values: ArrayLike<bigint>, length = values.length): { min: bigint | undefined; max: bigint | undefined } {
  if (length === 0) return { min: undefined, max: undefined };
  let min = values[0]!;
  let max = min;
  for (let i = 1; i < length; i++) {
    const x = values[i]!;
    if (x < min) min = x;
    else if (x > max) max = x;
  }
  return { min, max };
}

/** Splits an int64 into the (hi, lo) pair pushOffset expects. */
export function splitInt64(v: bigint): [hi: number, lo: number] {
  return [Number(BigInt.asIntN(32, v >> 32n)), Number(BigInt.asUintN(32, v))];
}

/** 32-bit integers or doubles in one typed array. */
abstract class NumericColumn<A extends Int32Array | Uint32Array | Float64Array> implements Releasable {
  length = 0;
  constructor(public values: A) {}
  buffers(): ArrayBuffer[] {
    return [this.values.buffer as ArrayBuffer];
  }
  reserve(extra: number): void {
    if (this.length + extra > this.values.length) this.values = grow(this.values, this.length + extra);
  }
  push(v: number): void {
    if (this.length === this.values.length) this.values = grow(this.values, this.length + 1);
    this.values[this.length++] = v;
  }
  fill(v: number, count: number): void {
    this.reserve(count);
    this.values.fill(v, this.length, this.length + count);
    this.length += count;
  }
  protected finishAs(type: Int32 | Uint32 | Float64): Data {
    return makeData({ type, length: this.length, data: this.values.subarray(0, this.length) } as never);
  }
}

export class Int32Column extends NumericColumn<Int32Array> {
  constructor() {
    super(new Int32Array(1024));
  }
  finish(type: Int32 = new Int32()): Data {
    return this.finishAs(type);
  }
}

export class Uint32Column extends NumericColumn<Uint32Array> {
  constructor() {
    super(new Uint32Array(1024));
  }
  finish(): Data {
    return this.finishAs(new Uint32());
  }
}

export class Float64Column extends NumericColumn<Float64Array> {
  constructor() {
    super(new Float64Array(1024));
  }
  finish(): Data {
    return this.finishAs(new Float64());
  }
}

/** Variable-length UTF-8 (or binary) values: offsets + one byte buffer. */
export class BytesColumn implements Releasable {
  offsets = new Int32Array(1025);
  data = new Uint8Array(16384);
  buffers(): ArrayBuffer[] {
    return [this.offsets.buffer as ArrayBuffer, this.data.buffer as ArrayBuffer];
  }
  length = 0;
  byteLength = 0;

  /** Room for `values` more values holding `bytes` more bytes. */
  reserve(values: number, bytes: number): void {
    if (this.length + values + 1 > this.offsets.length) this.offsets = grow(this.offsets, this.length + values + 1);
    this.ensureBytes(bytes);
  }
  private ensureBytes(n: number): void {
    if (this.byteLength + n > this.data.length) this.data = grow(this.data, this.byteLength + n);
  }
  private endValue(): void {
    if (this.length + 1 === this.offsets.length) this.offsets = grow(this.offsets, this.length + 2);
    this.offsets[++this.length] = this.byteLength;
  }
  /** Appends bytes [start, end) of src. */
  pushRange(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    this.ensureBytes(n);
    const data = this.data;
    let at = this.byteLength;
    if (n < 48) for (let i = start; i < end; i++) data[at++] = src[i]!;
    else data.set(src.subarray(start, end), at);
    this.byteLength += n;
    this.endValue();
  }
  /**
   * Appends src[start, end) if it is all ASCII (hence valid UTF-8) and returns true; otherwise
   * appends nothing and returns false. One pass copies and checks.
   */
  pushAscii(src: Uint8Array, start: number, end: number): boolean {
    const n = end - start;
    this.ensureBytes(n);
    const data = this.data;
    let at = this.byteLength;
    let high = 0;
    for (let i = start; i < end; i++) {
      const c = src[i]!;
      high |= c;
      data[at++] = c;
    }
    if (high > 0x7f) return false;
    this.byteLength += n;
    this.endValue();
    return true;
  }
  pushBytes(bytes: Uint8Array): void {
    this.pushRange(bytes, 0, bytes.length);
  }
  pushString(s: string): void {
    this.pushBytes(utf8Encoder.encode(s));
  }
  finish(type: Utf8 | Binary): Data {
    if (this.byteLength >= 2 ** 31) throw new RangeError('column exceeds 2 GiB');
    return makeData({ type, length: this.length, valueOffsets: this.offsets.subarray(0, this.length + 1), data: this.data.subarray(0, this.byteLength) } as never);
  }
}

/** Int32 dictionary indices over values interned by a string key; rows store the index. */
abstract class DictColumn<V> implements Releasable {
  readonly indices = new Int32Column();
  buffers(): ArrayBuffer[] {
    return this.indices.buffers();
  }
  private readonly lookup = new Map<string, number>();
  protected readonly values: V[] = [];

  /** Index of the value under `key`, made by `make` when new (call once per distinct input, not per row). */
  protected intern(key: string, make: () => V): number {
    let i = this.lookup.get(key);
    if (i === undefined) {
      i = this.values.length;
      this.values.push(make());
      this.lookup.set(key, i);
    }
    return i;
  }
  reserve(extra: number): void {
    this.indices.reserve(extra);
  }
  pushId(id: number): void {
    this.indices.push(id);
  }
  fillId(id: number, count: number): void {
    this.indices.fill(id, count);
  }
  get length(): number {
    return this.indices.length;
  }
  protected finishWith(type: DataType, dictionary: Vector): Data {
    return makeData({ type, length: this.indices.length, data: this.indices.values.subarray(0, this.indices.length), dictionary } as never);
  }
}

/** Dictionary(Int32, Utf8) column. */
export class DictStringColumn extends DictColumn<string> {
  id(value: string): number {
    return this.intern(value, () => value);
  }
  push(value: string): void {
    this.indices.push(this.id(value));
  }
  finish(): Data {
    return this.finishWith(dictUtf8(), vectorFromArray(this.values, new Utf8()));
  }
}

/** Dictionary(Int32, Binary) column, keyed by a caller-chosen string (e.g. canonical JSON). */
export class DictBinaryColumn extends DictColumn<Uint8Array> {
  id(key: string, make: () => Uint8Array): number {
    return this.intern(key, make);
  }
  finish(): Data {
    const bytes = new BytesColumn();
    for (const v of this.values) bytes.pushBytes(v);
    return this.finishWith(dictBinary(), makeVectorFromData(bytes.finish(new Binary())));
  }
}

function makeVectorFromData(data: Data): Vector {
  return makeVector(data);
}

/** List<Utf8> column (e.g. stream tags). */
export class Utf8ListColumn {
  private readonly offsets: number[] = [0];
  private readonly items = new BytesColumn();
  constructor(readonly type: List<Utf8>) {}
  push(values: readonly string[]): void {
    for (const v of values) this.items.pushString(v);
    this.offsets.push(this.items.length);
  }
  finish(): Data {
    return makeData({ type: this.type, length: this.offsets.length - 1, valueOffsets: Int32Array.from(this.offsets), child: this.items.finish(new Utf8()) } as never);
  }
}
