// Converting events' i64 ticks read from a buffer into the time column, without BigInt on the hot
// path: the delta from the process's start ticks is exact as a float below 2^53 ticks, and the ns
// offset is added to the start time as two 32-bit halves. Larger values take the exact BigInt path.
import { Int64Column, splitInt64 } from '../arrow/builders.ts';
import type { ConvertTicks } from '../time.ts';
import { fail, u32At } from './transit_reader.ts';

const TWO_32 = 4294967296;
const LIMIT = 4503599627370496; // 2^52

export class TimeWriter {
  private readonly offHi: number;
  private readonly offLo: number;
  private readonly baseHi: number;
  private readonly baseLo: number;
  private readonly nsPerTick: number;

  constructor(
    private readonly convert: ConvertTicks,
    private readonly column: Int64Column,
  ) {
    [this.offHi, this.offLo] = splitInt64(convert.tickOffset);
    [this.baseHi, this.baseLo] = splitInt64(convert.processStartNs);
    this.nsPerTick = convert.nsPerTick;
  }

  /** Appends the time of the absolute i64 ticks stored at b[at]. */
  push(b: Uint8Array, at: number): void {
    const hi = b[at + 4]! | (b[at + 5]! << 8) | (b[at + 6]! << 16) | (b[at + 7]! << 24);
    const delta = (hi - this.offHi) * TWO_32 + (u32At(b, at) - this.offLo);
    const x = delta * this.nsPerTick;
    const ns = x < 0 ? -Math.round(-x) : Math.round(x);
    if (ns < LIMIT && ns > -LIMIT) this.column.pushOffset(this.baseHi, this.baseLo, ns);
    else this.column.push(this.convert.ticksToNanos(BigInt.asIntN(64, (BigInt(u32At(b, at + 4)) << 32n) | BigInt(u32At(b, at)))));
  }
}

/** Framing of an objects buffer: one type byte, then the fixed size or a u32 size prefix. */
export class ObjectFrames {
  start = 0;
  end = 0;
  private off = 0;
  constructor(
    private readonly b: Uint8Array,
    private readonly sizes: readonly number[],
  ) {}

  /** Advances to the next object; returns its type index, or -1 at the end of the buffer. */
  next(): number {
    const b = this.b;
    if (this.off >= b.length) return -1;
    const type = b[this.off]!;
    const fixed = this.sizes[type];
    if (fixed === undefined) fail(`object type index ${type} is not in the stream metadata (${this.sizes.length} types)`);
    let off = this.off + 1;
    let size = fixed;
    if (size === 0) {
      if (off + 4 > b.length) fail('object size prefix out of bounds');
      size = u32At(b, off);
      off += 4;
    }
    if (size > b.length - off) fail(`object of ${size} bytes at offset ${off} runs past the end (${b.length})`);
    this.start = off;
    this.end = off + size;
    this.off = off + size;
    return type;
  }
}
