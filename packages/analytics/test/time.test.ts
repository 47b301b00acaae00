import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConvertTicks, formatTimestampNanos, makeTimeConverter, parseTimestampNanos, roundHalfAwayFromZero, TimeConversionError } from '../src/time.ts';

test('ticks convert like upstream: f64 delta times 1e9/frequency, rounded half away from zero', () => {
  const c = new ConvertTicks(1_000n, 1_700_000_000_000_000_000n, 3_000_000_000n);
  assert.equal(c.ticksToNanos(1_000n), 1_700_000_000_000_000_000n);
  assert.equal(c.ticksToNanos(4_000n), 1_700_000_000_000_001_000n);
  assert.equal(c.ticksToNanos(1_001n), 1_700_000_000_000_000_000n); // 0.333 ns rounds down
  assert.equal(c.ticksToNanos(1_002n), 1_700_000_000_000_000_001n); // 0.667 ns rounds up
  assert.equal(c.ticksToNanos(-2_000n), 1_699_999_999_999_999_000n); // before the process start
  assert.equal(c.deltaTicksToNanos(3_000_000_000n), 1_700_000_001_000_000_000n);
  assert.equal(roundHalfAwayFromZero(-2.5), -3);
  assert.equal(roundHalfAwayFromZero(2.5), 3);
  // A delta beyond 2^53 ticks goes through f64 like upstream: the result is the rounded float.
  const big = 2n ** 60n + 12345n;
  assert.equal(new ConvertTicks(0n, 0n, 1_000_000_000n).ticksToNanos(big), BigInt(Number(big)));
  assert.throws(() => new ConvertTicks(0n, 0n, 0n), TimeConversionError);
});

test('a process reporting frequency 0 gets one estimated from a block end', () => {
  const process = { tscFrequency: 0n, startTicks: 500n, startTimeNs: 1_000_000_000_000n };
  // 2.5 s after the start the block ends at 5e9 relative ticks: 2 GHz.
  const c = makeTimeConverter(process, 5_000_000_000n, 1_000_000_000_000n + 2_500_000_000n);
  assert.equal(c.frequency, 2_000_000_000n);
  assert.equal(c.ticksToNanos(500n + 2_000_000_000n), 1_000_000_000_000n + 1_000_000_000n);
  // A declared frequency wins over the estimate.
  assert.equal(makeTimeConverter({ ...process, tscFrequency: 7n }, 5n, 0n).frequency, 7n);
});

test('RFC 3339 timestamps parse to exact nanoseconds and format back', () => {
  assert.equal(parseTimestampNanos('2024-01-02T03:04:05.123456789Z'), 1_704_164_645_123_456_789n);
  assert.equal(parseTimestampNanos('2024-01-02T05:04:05.5+02:00'), 1_704_164_645_500_000_000n);
  assert.equal(parseTimestampNanos('2024-01-02 03:04:05.123456+00'), 1_704_164_645_123_456_000n);
  assert.equal(formatTimestampNanos(1_704_164_645_123_456_789n), '2024-01-02T03:04:05.123456789Z');
  assert.equal(formatTimestampNanos(-1n), '1969-12-31T23:59:59.999999999Z');
  assert.throws(() => parseTimestampNanos('yesterday'), /RFC 3339/);
});
