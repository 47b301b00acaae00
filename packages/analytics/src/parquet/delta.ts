// DELTA_BINARY_PACKED for INT64 (timestamps): blocks of 128 deltas, 4 miniblocks of 32. Deltas are
// computed from (hi, lo) 32-bit words as exact doubles; a chunk whose consecutive values are more than
// ~2^52 apart returns undefined so the caller writes PLAIN instead.
import type { Segment } from './chunks.ts';
import { ByteSink } from './sink.ts';

const BLOCK = 128;
const MINIBLOCKS = 4;
const MINI = BLOCK / MINIBLOCKS;
const TWO32 = 4294967296;
/** |hi word difference| below this keeps every delta (and delta - min) under 2^53. */
const MAX_HI_DELTA = 1 << 19;

const sink = new ByteSink(1 << 16);
let deltas = new Float64Array(1 << 17);

function bitsFor(u: number): number {
  return u < TWO32 ? 32 - Math.clz32(u) : 64 - Math.clz32(Math.floor(u / TWO32));
}

function firstValueZigzag(hi: number, lo: number): void {
  const v = (BigInt(hi) << 32n) | BigInt(lo >>> 0);
  let z = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
  while (z >= 0x80n) {
    sink.byte(Number(z & 0x7fn) | 0x80);
    z >>= 7n;
  }
  sink.byte(Number(z));
}

function packMiniblock(from: number, end: number, min: number, width: number): void {
  sink.ensure(4 * width);
  const buf = sink.buf;
  let p = sink.pos;
  let acc = 0;
  let bits = 0;
  if (width <= 24) {
    for (let k = from; k < from + MINI; k++) {
      acc |= (k < end ? deltas[k]! - min : 0) << bits;
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
      let u = k < end ? deltas[k]! - min : 0;
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

/** The page body for the n values of the segments (Int64 / Timestamp data), or undefined. */
export function deltaEncodeInt64(segs: readonly Segment[], n: number): Uint8Array | undefined {
  if (n === 0) return undefined;
  if (deltas.length < n) deltas = new Float64Array(n);
  let count = 0;
  let prevHi = 0;
  let prevLo = 0;
  let firstHi = 0;
  let firstLo = 0;
  let first = true;
  for (const s of segs) {
    const v = s.data.values as unknown as ArrayBufferView;
    const words = new Int32Array(v.buffer, v.byteOffset + s.from * 8, s.count * 2);
    for (let i = 0; i < words.length; i += 2) {
      const hi = words[i + 1]!;
      const lo = words[i]! >>> 0;
      if (first) {
        firstHi = hi;
        firstLo = lo;
        first = false;
      } else {
        const dh = hi - prevHi;
        if (dh >= MAX_HI_DELTA || dh <= -MAX_HI_DELTA) return undefined;
        deltas[count++] = dh * TWO32 + (lo - prevLo);
      }
      prevHi = hi;
      prevLo = lo;
    }
  }
  sink.pos = 0;
  sink.varint(BLOCK);
  sink.varint(MINIBLOCKS);
  sink.varint(n);
  firstValueZigzag(firstHi, firstLo);
  for (let b = 0; b < count; b += BLOCK) {
    const end = Math.min(b + BLOCK, count);
    let min = deltas[b]!;
    for (let k = b + 1; k < end; k++) if (deltas[k]! < min) min = deltas[k]!;
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
      let max = 0;
      for (let k = from; k < to; k++) if (deltas[k]! - min > max) max = deltas[k]! - min;
      const width = bitsFor(max);
      sink.buf[widthsAt + m] = width;
      packMiniblock(from, to, min, width);
    }
  }
  return sink.result();
}
