// DELTA_BINARY_PACKED: blocks of 128 deltas, 4 miniblocks of 32. Used for INT64 timestamps (deltas
// computed from (hi, lo) 32-bit words as exact doubles; values more than ~2^51 apart make the caller
// write PLAIN instead) and for the lengths of DELTA_LENGTH_BYTE_ARRAY strings.
import type { Segment } from './chunks.ts';
import { ByteSink } from './sink.ts';

const BLOCK = 128;
const MINIBLOCKS = 4;
const MINI = BLOCK / MINIBLOCKS;
const TWO32 = 4294967296;
/** |hi word difference| below this keeps every delta (and delta - min) under 2^53. */
const MAX_HI_DELTA = 1 << 19;

let deltas = new Float64Array(1 << 17);

function bitsFor(u: number): number {
  return u < TWO32 ? 32 - Math.clz32(u) : 64 - Math.clz32(Math.floor(u / TWO32));
}

function firstValueZigzag(sink: ByteSink, hi: number, lo: number): void {
  const v = (BigInt(hi) << 32n) | BigInt(lo >>> 0);
  let z = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
  while (z >= 0x80n) {
    sink.byte(Number(z & 0x7fn) | 0x80);
    z >>= 7n;
  }
  sink.byte(Number(z));
}

function packMiniblock(sink: ByteSink, d: Float64Array, from: number, end: number, min: number, width: number): void {
  sink.ensure(4 * width);
  const buf = sink.buf;
  let p = sink.pos;
  let acc = 0;
  let bits = 0;
  if (width <= 24) {
    for (let k = from; k < from + MINI; k++) {
      acc |= (k < end ? d[k]! - min : 0) << bits;
      bits += width;
      while (bits >= 8) {
        buf[p++] = acc & 0xff;
        acc >>>= 8;
        bits -= 8;
      }
    }
  } else {
    // Wide deltas: feed each value in 16-bit pieces with plain arithmetic (values reach 2^53).
    for (let k = from; k < from + MINI; k++) {
      let u = k < end ? d[k]! - min : 0;
      for (let left = width; left > 0; ) {
        const take = left < 16 ? left : 16;
        const unit = 2 ** take;
        const piece = u % unit;
        u = (u - piece) / unit;
        left -= take;
        acc |= piece << bits;
        bits += take;
        while (bits >= 8) {
          buf[p++] = acc & 0xff;
          acc >>>= 8;
          bits -= 8;
        }
      }
    }
  }
  sink.pos = p;
}

/** Fills `deltas` for the Int64 values of the segments; false when some step is too large. */
function int64Deltas(segs: readonly Segment[], d: Float64Array, first: Int32Array): boolean {
  let count = 0;
  let prevHi = 0;
  let prevLo = 0;
  let started = false;
  for (const s of segs) {
    const v = s.data.values as unknown as ArrayBufferView;
    const words = new Int32Array(v.buffer, v.byteOffset + s.from * 8, s.count * 2);
    let i = 0;
    if (!started && words.length > 0) {
      first[0] = prevLo = words[0]!;
      first[1] = prevHi = words[1]!;
      started = true;
      i = 2;
    }
    for (; i < words.length; i += 2) {
      const hi = words[i + 1]!;
      const lo = words[i]!;
      const dh = hi - prevHi;
      if (dh >= MAX_HI_DELTA || dh <= -MAX_HI_DELTA) return false;
      d[count++] = dh * TWO32 + ((lo >>> 0) - (prevLo >>> 0));
      prevHi = hi;
      prevLo = lo;
    }
  }
  return true;
}

/** Writes the blocks of count deltas after the header. */
function writeBlocks(sink: ByteSink, d: Float64Array, count: number): void {
  for (let b = 0; b < count; b += BLOCK) {
    const end = Math.min(b + BLOCK, count);
    let min = d[b]!;
    for (let k = b + 1; k < end; k++) if (d[k]! < min) min = d[k]!;
    sink.zigzag(min);
    sink.ensure(MINIBLOCKS);
    const widthsAt = sink.pos;
    sink.pos += MINIBLOCKS;
    for (let m = 0; m < MINIBLOCKS; m++) {
      const from = b + m * MINI;
      if (from >= end) {
        sink.buf[widthsAt + m] = 0; // unused trailing miniblocks have a width but no body
        continue;
      }
      const to = Math.min(from + MINI, end);
      let max = min;
      for (let k = from; k < to; k++) if (d[k]! > max) max = d[k]!;
      const width = bitsFor(max - min);
      sink.buf[widthsAt + m] = width;
      if (width > 0) packMiniblock(sink, d, from, to, min, width);
    }
  }
}

function header(sink: ByteSink, n: number): void {
  sink.varint(BLOCK);
  sink.varint(MINIBLOCKS);
  sink.varint(n);
}

const firstWords = new Int32Array(2);

/** Appends the n Int64 values of the segments to sink; false (sink untouched) when a step is too large. */
export function deltaEncodeInt64(segs: readonly Segment[], n: number, sink: ByteSink): boolean {
  if (n === 0) return false;
  if (deltas.length < n) deltas = new Float64Array(n);
  const d = deltas;
  if (!int64Deltas(segs, d, firstWords)) return false;
  header(sink, n);
  firstValueZigzag(sink, firstWords[1]!, firstWords[0]!);
  writeBlocks(sink, d, n - 1);
  return true;
}

/** Appends the lengths of byte-array values from..from+count of each part (Arrow offsets). */
export function deltaEncodeLengths(parts: readonly { offsets: Int32Array; from: number; count: number }[], n: number, sink: ByteSink): void {
  if (deltas.length < n) deltas = new Float64Array(n);
  const d = deltas;
  let count = 0;
  let prev = 0;
  let first = -1;
  for (const p of parts) {
    const off = p.offsets;
    for (let k = p.from; k < p.from + p.count; k++) {
      const len = off[k + 1]! - off[k]!;
      if (first < 0) first = len;
      else d[count++] = len - prev;
      prev = len;
    }
  }
  header(sink, n);
  sink.zigzag(Math.max(first, 0));
  writeBlocks(sink, d, count);
}
