// Tick → time conversion, exactly as upstream computes it (reference analytics.md §1.5.2): the delta
// from the process's start ticks is converted to f64, multiplied by 1e9/frequency and rounded half
// away from zero. A process that reports a frequency of 0 gets one estimated from a block's end.
export const NANOS_PER_SECOND = 1_000_000_000n;

/** Timestamps in the lakehouse are integer nanoseconds since the Unix epoch (UTC). */
export type Nanos = bigint;

export class TimeConversionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TimeConversionError';
  }
}

/** Rust's f64::round (half away from zero). */
export function roundHalfAwayFromZero(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

const I64_MAX = 2n ** 63n - 1n;
const I64_MIN = -(2n ** 63n);

/** Rust's saturating `f64 as i64`. */
export function f64ToI64(x: number): bigint {
  if (Number.isNaN(x)) return 0n;
  if (x >= 9.223372036854776e18) return I64_MAX;
  if (x <= -9.223372036854776e18) return I64_MIN;
  return BigInt(x);
}

export class ConvertTicks {
  /** ns per tick, as upstream's inv_tsc_frequency_ns. */
  readonly nsPerTick: number;
  readonly msPerTick: number;
  private readonly startNsNumber: number;

  constructor(
    readonly tickOffset: bigint,
    readonly processStartNs: Nanos,
    readonly frequency: bigint,
  ) {
    if (frequency <= 0n) throw new TimeConversionError(`invalid tick frequency ${frequency}`);
    this.nsPerTick = 1e9 / Number(frequency);
    this.msPerTick = 1000 / Number(frequency);
    this.startNsNumber = Number(processStartNs);
  }

  /** Absolute ticks (events' `time` members) → ns since epoch. */
  ticksToNanos(ticks: bigint): Nanos {
    return this.processStartNs + f64ToI64(roundHalfAwayFromZero(Number(ticks - this.tickOffset) * this.nsPerTick));
  }

  /** Ticks relative to the process start (block begin/end ticks) → ns since epoch. */
  deltaTicksToNanos(delta: bigint): Nanos {
    return this.processStartNs + f64ToI64(roundHalfAwayFromZero(Number(delta) * this.nsPerTick));
  }

  /**
   * Fast path for hot loops: `delta` is (ticks - tickOffset) already as a number. Returns ns since
   * the process start as a number (exact while |result| < 2^53, i.e. ~104 days).
   */
  deltaNumberToOffsetNs(delta: number): number {
    return roundHalfAwayFromZero(delta * this.nsPerTick);
  }

  deltaTicksToMs(delta: bigint | number): number {
    return Number(delta) * this.msPerTick;
  }

  /** Process start in ns as a float (for coarse comparisons only). */
  get processStartNsApprox(): number {
    return this.startNsNumber;
  }
}

export interface ProcessTiming {
  tscFrequency: bigint;
  startTicks: bigint;
  startTimeNs: Nanos;
}

/**
 * Upstream's make_time_converter_from_block_meta / _from_latest_timing: the declared frequency, or
 * round(endTicks / seconds between process start and endTime).
 */
export function makeTimeConverter(process: ProcessTiming, endTicks: bigint, endTimeNs: Nanos): ConvertTicks {
  if (process.tscFrequency > 0n) return new ConvertTicks(process.startTicks, process.startTimeNs, process.tscFrequency);
  const seconds = Number(endTimeNs - process.startTimeNs) / 1e9;
  const estimated = f64ToI64(roundHalfAwayFromZero(Number(endTicks) / seconds));
  return new ConvertTicks(process.startTicks, process.startTimeNs, estimated);
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}(?::?\d{2})?)?$/;

/** RFC 3339 / PostgreSQL timestamptz text → ns since epoch (exact, up to 9 fraction digits). */
export function parseTimestampNanos(text: string): Nanos {
  const m = RFC3339.exec(text);
  if (!m) throw new TimeConversionError(`not an RFC 3339 timestamp: ${JSON.stringify(text)}`);
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  let ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (zone && zone !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0')) * 60_000;
  }
  return BigInt(ms) * 1_000_000n + BigInt((frac ?? '').padEnd(9, '0'));
}

/** ns since epoch → RFC 3339 with 9 fraction digits (PostgreSQL keeps µs, rounding the rest). */
export function formatTimestampNanos(ns: Nanos): string {
  const ms = ns / 1_000_000n - (ns % 1_000_000n < 0n ? 1n : 0n);
  const rest = ns - ms * 1_000_000n;
  const iso = new Date(Number(ms)).toISOString();
  return `${iso.slice(0, 19)}.${iso.slice(20, 23)}${rest.toString().padStart(6, '0')}Z`;
}
