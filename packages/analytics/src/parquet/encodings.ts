// Parquet value encodings over plain typed arrays: the RLE / bit-packed hybrid (dictionary indices and
// definition levels) and bit-packed booleans.
import type { ByteSink } from './sink.ts';

/** Indices wider than this would overflow the 32-bit accumulator of packBits. */
export const MAX_RLE_BIT_WIDTH = 24;

/** Bits needed to store every value in [0, maxValue]; at least 1 so no reader meets a zero width. */
export function bitWidthFor(maxValue: number): number {
  let w = 1;
  while (w < 32 && maxValue >= 2 ** w) w++;
  return w;
}

function packGroups(values: Int32Array, from: number, count: number, bitWidth: number, out: ByteSink): void {
  const groups = (count + 7) >> 3;
  out.varint((groups << 1) | 1);
  out.ensure(groups * bitWidth);
  const buf = out.buf;
  let p = out.pos;
  let acc = 0;
  let bits = 0;
  const end = from + groups * 8;
  const last = from + count;
  for (let k = from; k < end; k++) {
    acc |= (k < last ? values[k]! : 0) << bits;
    bits += bitWidth;
    while (bits >= 8) {
      buf[p++] = acc & 0xff;
      acc >>>= 8;
      bits -= 8;
    }
  }
  out.pos = p;
}

function rleRun(value: number, count: number, valueBytes: number, out: ByteSink): void {
  out.varint(count * 2);
  out.ensure(valueBytes);
  for (let b = 0; b < valueBytes; b++) out.buf[out.pos++] = (value >>> (8 * b)) & 0xff;
}

/** A value sequence as (value, length) runs; dictionary indices mostly come as long runs. */
export class Runs {
  values = new Int32Array(1024);
  lengths = new Int32Array(1024);
  count = 0;

  reset(): void {
    this.count = 0;
  }
  push(value: number, length: number): void {
    const c = this.count;
    if (c > 0 && this.values[c - 1] === value) {
      this.lengths[c - 1]! += length;
      return;
    }
    if (c === this.values.length) {
      const values = new Int32Array(c * 2);
      values.set(this.values);
      this.values = values;
      const lengths = new Int32Array(c * 2);
      lengths.set(this.lengths);
      this.lengths = lengths;
    }
    this.values[c] = value;
    this.lengths[c] = length;
    this.count = c + 1;
  }
}

let literals = new Int32Array(1024);

/**
 * Writes the runs (each value below 2^bitWidth, bitWidth <= MAX_RLE_BIT_WIDTH) as the RLE / bit-packed
 * hybrid, without a length prefix. Runs of 8 or more become RLE runs; shorter ones are bit-packed in
 * groups of 8, borrowing the head of the next long run to fill the last group so only the final group
 * of the stream is padded.
 */
export function encodeRuns(runs: Runs, bitWidth: number, out: ByteSink): void {
  const valueBytes = (bitWidth + 7) >> 3;
  let lit = literals;
  let litCount = 0;
  for (let r = 0; r < runs.count; r++) {
    const v = runs.values[r]!;
    const len = runs.lengths[r]!;
    const pad = (8 - (litCount & 7)) & 7;
    const keep = len - pad >= 8 ? pad : len;
    if (litCount + keep > lit.length) {
      let size = lit.length * 2;
      while (size < litCount + keep) size *= 2;
      const bigger = new Int32Array(size);
      bigger.set(lit.subarray(0, litCount));
      lit = literals = bigger;
    }
    if (keep < 16) for (let q = 0; q < keep; q++) lit[litCount++] = v;
    else {
      lit.fill(v, litCount, litCount + keep);
      litCount += keep;
    }
    if (keep < len) {
      if (litCount > 0) packGroups(lit, 0, litCount, bitWidth, out);
      litCount = 0;
      rleRun(v, len - keep, valueBytes, out);
    }
  }
  if (litCount > 0) packGroups(lit, 0, litCount, bitWidth, out);
}

/** Definition levels of `count` present values in a V1 page: 4-byte length, then one RLE run of 1s. */
export function allPresentLevels(count: number, out: ByteSink): void {
  if (count === 0) {
    out.u32le(0);
    return;
  }
  const start = out.pos;
  out.u32le(0);
  rleRun(1, count, 1, out);
  const length = out.pos - start - 4;
  out.buf[start] = length & 0xff;
  out.buf[start + 1] = (length >>> 8) & 0xff;
  out.buf[start + 2] = (length >>> 16) & 0xff;
  out.buf[start + 3] = (length >>> 24) & 0xff;
}

/** Appends `count` bits of an Arrow (LSB-first) bitmap starting at bit `bitOffset`, PLAIN boolean layout. */
export class BitAppender {
  private acc = 0;
  private bits = 0;
  constructor(private readonly out: ByteSink) {}

  append(bitmap: Uint8Array, bitOffset: number, count: number): void {
    const out = this.out;
    out.ensure((count >> 3) + 2);
    const buf = out.buf;
    let p = out.pos;
    let acc = this.acc;
    let bits = this.bits;
    if (bits === 0 && (bitOffset & 7) === 0) {
      // Byte-aligned on both sides: whole bytes copy as they are.
      const whole = count >> 3;
      buf.set(bitmap.subarray(bitOffset >> 3, (bitOffset >> 3) + whole), p);
      p += whole;
      bitOffset += whole * 8;
      count -= whole * 8;
    }
    for (let k = 0; k < count; k++) {
      const bit = bitOffset + k;
      acc |= ((bitmap[bit >> 3]! >> (bit & 7)) & 1) << bits;
      if (++bits === 8) {
        buf[p++] = acc;
        acc = 0;
        bits = 0;
      }
    }
    out.pos = p;
    this.acc = acc;
    this.bits = bits;
  }

  /** Writes the partial last byte, if any. */
  flush(): void {
    if (this.bits > 0) this.out.byte(this.acc);
    this.acc = 0;
    this.bits = 0;
  }
}
