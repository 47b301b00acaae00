// Splits an Export*ServiceRequest (protobuf bytes) into its Resource* sub-messages by walking the
// wire format, reading only what block metadata needs (record count and time range) instead of
// decoding every record. Each payload is a view of the request bytes: for canonically encoded
// input this is exactly what a re-encoding of the decoded sub-message produces.
import { OtlpDecodeError } from './errors.ts';
import type { Signal } from './types.ts';

export interface ScannedResource {
  /** Protobuf bytes of one ResourceLogs / ResourceMetrics / ResourceSpans (a view, not a copy). */
  payload: Uint8Array;
  /** Protobuf bytes of its Resource, or null when absent. */
  resource: Uint8Array | null;
  /** Upstream's nb_objects: log records, spans, metric data points (Summary points count 4). */
  count: number;
  /** Min/max record time in Unix ns (signed 64-bit as upstream); null when no record has a time. */
  minNs: bigint | null;
  maxNs: bigint | null;
}

/** Upstream counts a Summary data point as 4 rows (count, sum and quantiles as measures). */
export const SUMMARY_ROWS_PER_POINT = 4;

const TWO32 = 4294967296;

// Scan state kept in module scope: the walk is synchronous and this avoids allocations per field.
let buf: Uint8Array = new Uint8Array(0);
let pos = 0;
let what = '';

function fail(msg: string): never {
  throw new OtlpDecodeError(`decoding ${what} (protobuf): ${msg} at byte ${pos}`);
}

function varint(): number {
  let result = 0;
  let shift = 0;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) fail('truncated varint');
    const b = buf[pos++]!;
    if (shift < 49) result += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if ((b & 0x80) === 0) return result;
  }
  return fail('varint too long');
}

function lenEnd(end: number): number {
  const len = varint();
  const e = pos + len;
  if (e > end) fail('length beyond the end of the message');
  return e;
}

function skip(wireType: number, end: number): void {
  switch (wireType) {
    case 0:
      varint();
      return;
    case 1:
      pos += 8;
      break;
    case 2:
      pos = lenEnd(end);
      return;
    case 5:
      pos += 4;
      break;
    default:
      fail(`unsupported wire type ${wireType}`);
  }
  if (pos > end) fail('truncated field');
}

function tag(): number {
  const t = varint();
  if (t >>> 3 === 0 && t < 8) fail('field number 0');
  return t;
}

function expectWireType(t: number, wt: number): void {
  if ((t & 7) !== wt) fail(`field ${Math.floor(t / 8)} has wire type ${t & 7}, expected ${wt}`);
}

// Time accumulators (hi/lo halves compared exactly; numbers are faster than bigint here).
let minHi = 0;
let minLo = 0;
let maxHi = 0;
let maxLo = 0;
let hasMin = false;
let hasMax = false;
let count = 0;

function readFixed64Hi(): number {
  if (pos + 8 > buf.length) fail('truncated fixed64');
  const b = buf;
  const p = pos;
  fixedLo = (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16)) + b[p + 3]! * 0x1000000;
  const hi = (b[p + 4]! | (b[p + 5]! << 8) | (b[p + 6]! << 16)) + b[p + 7]! * 0x1000000;
  pos = p + 8;
  // Signed as upstream's `as i64`: the top half as a signed 32-bit number.
  return hi >= 0x80000000 ? hi - TWO32 : hi;
}
let fixedLo = 0;

function noteMin(hi: number, lo: number): void {
  if (!hasMin || hi < minHi || (hi === minHi && lo < minLo)) {
    minHi = hi;
    minLo = lo;
    hasMin = true;
  }
}

function noteMax(hi: number, lo: number): void {
  if (!hasMax || hi > maxHi || (hi === maxHi && lo > maxLo)) {
    maxHi = hi;
    maxLo = lo;
    hasMax = true;
  }
}

function toBig(hi: number, lo: number): bigint {
  return (BigInt(hi) << 32n) + BigInt(lo);
}

// LogRecord: time_unix_nano = 1, observed_time_unix_nano = 11 (fixed64); time wins when non-zero.
function logRecord(end: number): void {
  let tHi = 0, tLo = 0, oHi = 0, oLo = 0;
  while (pos < end) {
    const t = tag();
    if (t === 9) {
      tHi = readFixed64Hi();
      tLo = fixedLo;
    } else if (t === 89) {
      oHi = readFixed64Hi();
      oLo = fixedLo;
    } else {
      const f = t >>> 3;
      if (f === 1 || f === 11) expectWireType(t, 1);
      skip(t & 7, end);
    }
  }
  count++;
  if (tHi !== 0 || tLo !== 0) {
    noteMin(tHi, tLo);
    noteMax(tHi, tLo);
  } else if (oHi !== 0 || oLo !== 0) {
    noteMin(oHi, oLo);
    noteMax(oHi, oLo);
  }
}

// Span: start_time_unix_nano = 7, end_time_unix_nano = 8 (fixed64).
function span(end: number): void {
  let sHi = 0, sLo = 0, eHi = 0, eLo = 0;
  while (pos < end) {
    const t = tag();
    if (t === 57) {
      sHi = readFixed64Hi();
      sLo = fixedLo;
    } else if (t === 65) {
      eHi = readFixed64Hi();
      eLo = fixedLo;
    } else {
      const f = t >>> 3;
      if (f === 7 || f === 8) expectWireType(t, 1);
      skip(t & 7, end);
    }
  }
  count++;
  if (sHi !== 0 || sLo !== 0) noteMin(sHi, sLo);
  if (eHi !== 0 || eLo !== 0) noteMax(eHi, eLo);
}

// Every data point kind has time_unix_nano = 3 (fixed64).
function dataPoint(end: number, weight: number): void {
  let hi = 0, lo = 0;
  while (pos < end) {
    const t = tag();
    if (t === 25) {
      hi = readFixed64Hi();
      lo = fixedLo;
    } else {
      if (t >>> 3 === 3) expectWireType(t, 1);
      skip(t & 7, end);
    }
  }
  count += weight;
  if (hi !== 0 || lo !== 0) {
    noteMin(hi, lo);
    noteMax(hi, lo);
  }
}

// Gauge/Sum/Histogram/ExponentialHistogram/Summary: data_points = 1.
function metricData(end: number, weight: number): void {
  while (pos < end) {
    const t = tag();
    if (t === 10) {
      const e = lenEnd(end);
      dataPoint(e, weight);
      pos = e;
    } else {
      if (t >>> 3 === 1) expectWireType(t, 2);
      skip(t & 7, end);
    }
  }
}

// Metric: the `data` oneof is fields 5, 7, 9, 10, 11; the last one on the wire wins (protobuf rule).
function metric(end: number): void {
  let dataStart = -1, dataEnd = -1, weight = 1;
  while (pos < end) {
    const t = tag();
    const f = t >>> 3;
    if (f === 5 || f === 7 || f === 9 || f === 10 || f === 11) {
      expectWireType(t, 2);
      dataEnd = lenEnd(end);
      dataStart = pos;
      weight = f === 11 ? SUMMARY_ROWS_PER_POINT : 1;
      pos = dataEnd;
    } else {
      skip(t & 7, end);
    }
  }
  if (dataStart >= 0) {
    pos = dataStart;
    metricData(dataEnd, weight);
    pos = end;
  }
}

// ScopeLogs.log_records / ScopeSpans.spans / ScopeMetrics.metrics are all field 2.
function scope(end: number, item: (end: number) => void): void {
  while (pos < end) {
    const t = tag();
    if (t === 18) {
      const e = lenEnd(end);
      item(e);
      pos = e;
    } else {
      if (t >>> 3 === 2) expectWireType(t, 2);
      skip(t & 7, end);
    }
  }
}

const ITEM: Record<Signal, (end: number) => void> = { logs: logRecord, metrics: metric, traces: span };
const NAMES: Record<Signal, string> = {
  logs: 'ExportLogsServiceRequest',
  metrics: 'ExportMetricsServiceRequest',
  traces: 'ExportTraceServiceRequest',
};

// Resource{Logs,Metrics,Spans}: resource = 1, scope_* = 2.
function resourceEntry(start: number, end: number, signal: Signal): ScannedResource {
  const item = ITEM[signal];
  let resource: Uint8Array | null = null;
  count = 0;
  hasMin = hasMax = false;
  while (pos < end) {
    const t = tag();
    if (t === 10) {
      const e = lenEnd(end);
      resource = buf.subarray(pos, e);
      pos = e;
    } else if (t === 18) {
      const e = lenEnd(end);
      scope(e, item);
      pos = e;
    } else {
      const f = t >>> 3;
      if (f === 1 || f === 2) expectWireType(t, 2);
      skip(t & 7, end);
    }
  }
  // Spans need both a start and an end somewhere; logs and metrics set both together.
  const timed = hasMin && hasMax;
  return {
    payload: buf.subarray(start, end),
    resource,
    count,
    minNs: timed ? toBig(minHi, minLo) : null,
    maxNs: timed ? toBig(maxHi, maxLo) : null,
  };
}

/**
 * Splits an Export{Logs,Metrics,Trace}ServiceRequest into its resources. Resources without records
 * are dropped (as upstream). Throws OtlpDecodeError on malformed input.
 */
export function scanExportRequest(signal: Signal, bytes: Uint8Array): ScannedResource[] {
  buf = bytes;
  pos = 0;
  what = NAMES[signal];
  const out: ScannedResource[] = [];
  try {
    const end = bytes.length;
    while (pos < end) {
      const t = tag();
      if (t === 10) {
        const e = lenEnd(end);
        const r = resourceEntry(pos, e, signal);
        pos = e;
        if (r.count > 0) out.push(r);
      } else {
        if (t >>> 3 === 1) expectWireType(t, 2);
        skip(t & 7, end);
      }
    }
  } finally {
    buf = new Uint8Array(0);
  }
  return out;
}
