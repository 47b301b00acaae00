// Column chunk statistics (min_value / max_value, PLAIN-encoded, compared as the column's logical type)
// computed straight from typed arrays; 64-bit values compare as (signed hi, unsigned lo) so no BigInt.
import type { Data } from 'apache-arrow';
import type { StatsKind } from './schema.ts';

export interface ChunkStats {
  min(): Uint8Array | undefined;
  max(): Uint8Array | undefined;
  /** Set for floating-point columns (the spec wants it whenever min/max ignore NaNs). */
  nanCount: number | undefined;
}

function view<T>(ctor: new (b: ArrayBufferLike, o: number, n: number) => T, data: Data, from: number, count: number, width: number): T {
  const v = data.values as unknown as ArrayBufferView;
  return new ctor(v.buffer, v.byteOffset + from * width, count * (width / (ctor as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT));
}

export class FixedStats implements ChunkStats {
  private seen = false;
  private lo = 0;
  private hi = 0;
  private loHi = 0; // i64: high word of min
  private hiHi = 0; // i64: high word of max
  nanCount: number | undefined;

  constructor(private readonly kind: StatsKind) {
    if (kind === 'f32' || kind === 'f64') this.nanCount = 0;
  }

  add(data: Data, from: number, count: number): void {
    if (count === 0) return;
    switch (this.kind) {
      case 'i32':
        return this.addNumbers(view(Int32Array, data, from, count, 4));
      case 'u32':
        return this.addNumbers(view(Uint32Array, data, from, count, 4));
      case 'f32':
        return this.addFloats(view(Float32Array, data, from, count, 4));
      case 'f64':
        return this.addFloats(view(Float64Array, data, from, count, 8));
      case 'i64':
        return this.addInt64(view(Int32Array, data, from, count, 8));
      default:
        return;
    }
  }

  private addNumbers(v: Int32Array | Uint32Array): void {
    let min = this.seen ? this.lo : v[0]!;
    let max = this.seen ? this.hi : v[0]!;
    for (let i = 0; i < v.length; i++) {
      const x = v[i]!;
      if (x < min) min = x;
      if (x > max) max = x;
    }
    this.lo = min;
    this.hi = max;
    this.seen = true;
  }

  private addFloats(v: Float32Array | Float64Array): void {
    let min = this.seen ? this.lo : Infinity;
    let max = this.seen ? this.hi : -Infinity;
    let nans = 0;
    let any = this.seen;
    for (let i = 0; i < v.length; i++) {
      const x = v[i]!;
      if (x !== x) nans++;
      else {
        any = true;
        if (x < min) min = x;
        if (x > max) max = x;
      }
    }
    this.nanCount! += nans;
    this.lo = min;
    this.hi = max;
    this.seen = any;
  }

  /** v holds (lo, hi) word pairs. */
  private addInt64(v: Int32Array): void {
    let minHi = this.seen ? this.loHi : v[1]!;
    let minLo = this.seen ? this.lo : v[0]! >>> 0;
    let maxHi = this.seen ? this.hiHi : minHi;
    let maxLo = this.seen ? this.hi : minLo;
    for (let i = 0; i < v.length; i += 2) {
      const h = v[i + 1]!;
      const l = v[i]! >>> 0;
      if (h < minHi || (h === minHi && l < minLo)) {
        minHi = h;
        minLo = l;
      }
      if (h > maxHi || (h === maxHi && l > maxLo)) {
        maxHi = h;
        maxLo = l;
      }
    }
    this.loHi = minHi;
    this.lo = minLo;
    this.hiHi = maxHi;
    this.hi = maxLo;
    this.seen = true;
  }

  private encode(value: number, high: number): Uint8Array {
    switch (this.kind) {
      case 'i32':
        return new Uint8Array(Int32Array.of(value).buffer);
      case 'u32':
        return new Uint8Array(Uint32Array.of(value).buffer);
      case 'f32':
        return new Uint8Array(Float32Array.of(value).buffer);
      case 'f64':
        return new Uint8Array(Float64Array.of(value).buffer);
      default:
        return new Uint8Array(Uint32Array.of(value, high >>> 0).buffer);
    }
  }

  min(): Uint8Array | undefined {
    if (!this.seen || this.kind === 'none') return undefined;
    // Spec rule for floats: a zero minimum is written as -0.0 so it also covers -0 values.
    if ((this.kind === 'f32' || this.kind === 'f64') && this.lo === 0) return this.encode(-0, 0);
    return this.encode(this.lo, this.loHi);
  }

  max(): Uint8Array | undefined {
    if (!this.seen || this.kind === 'none') return undefined;
    if ((this.kind === 'f32' || this.kind === 'f64') && this.hi === 0) return this.encode(0, 0);
    return this.encode(this.hi, this.hiHi);
  }
}

function compareBytes(a: Uint8Array, as: number, al: number, b: Uint8Array, bs: number, bl: number): number {
  const n = Math.min(al, bl);
  for (let i = 0; i < n; i++) {
    const d = a[as + i]! - b[bs + i]!;
    if (d !== 0) return d;
  }
  return al - bl;
}

/** Longer bounds would have to be truncated (and flagged inexact); pruning on such strings is rare. */
const MAX_STRING_STAT = 256;

/** Unsigned byte-wise min/max of strings (UTF-8 order = code point order). */
export class Utf8Stats implements ChunkStats {
  private lo: Uint8Array | undefined;
  private hi: Uint8Array | undefined;
  private tooLong = false;
  readonly nanCount = undefined;

  add(bytes: Uint8Array, start: number, length: number): void {
    if (length > MAX_STRING_STAT) {
      this.tooLong = true;
      return;
    }
    if (!this.lo || compareBytes(bytes, start, length, this.lo, 0, this.lo.length) < 0) this.lo = bytes.slice(start, start + length);
    if (!this.hi || compareBytes(bytes, start, length, this.hi, 0, this.hi.length) > 0) this.hi = bytes.slice(start, start + length);
  }

  min(): Uint8Array | undefined {
    return this.tooLong ? undefined : this.lo;
  }
  max(): Uint8Array | undefined {
    return this.tooLong ? undefined : this.hi;
  }
}
