// Metric API: integer (u64 on the wire) and float values with a name and a unit, optionally tagged
// with properties. Integer values are numbers (truncated to integers; negative ones wrap like a
// two's-complement u64) or bigints (taken modulo 2^64).
import { MetricDescriptor, propertySetOf, type SiteOptions } from './descriptors.ts';
import { state } from './dispatch.ts';
import { Verbosity } from './levels.ts';
import { ticksNow } from './time.ts';

const TWO_32 = 4294967296;
const byName = new Map<string, MetricDescriptor>();
const byNameAndUnit = new Map<string, MetricDescriptor>();
const MAX_CACHED = 10000;

function descriptorFor(name: string, unit: string): MetricDescriptor {
  const d = byName.get(name);
  if (d !== undefined && d.unit.text === unit) return d;
  if (d === undefined && byName.size < MAX_CACHED) {
    const created = new MetricDescriptor(name, unit);
    byName.set(name, created);
    return created;
  }
  // Same name with another unit (rare): a second, composite-key cache.
  const key = `${name}\u0000${unit}`;
  let other = byNameAndUnit.get(key);
  if (other === undefined) {
    if (byNameAndUnit.size >= MAX_CACHED) byNameAndUnit.clear();
    other = new MetricDescriptor(name, unit);
    byNameAndUnit.set(key, other);
  }
  return other;
}

/** A metric created once, for the cheapest recording (recordInt / recordFloat). */
export function metricDescriptor(name: string, unit: string, options?: SiteOptions, lod: Verbosity = Verbosity.Min): MetricDescriptor {
  return new MetricDescriptor(name, unit, options, lod);
}

type Properties = Record<string, string> | Map<string, string>;

export function recordInt(desc: MetricDescriptor, value: number | bigint, properties?: Properties): void {
  if (!state.active) return;
  let lo: number;
  let hi: number;
  if (typeof value === 'number') {
    lo = value >>> 0;
    hi = Math.floor(value / TWO_32) >>> 0;
  } else {
    const v = BigInt.asUintN(64, value);
    lo = Number(v & 0xffffffffn);
    hi = Number(v >> 32n);
  }
  if (properties === undefined) state.metrics!.intMetric(desc, lo, hi, ticksNow());
  else state.metrics!.taggedMetric(desc, propertySetOf(properties), false, 0, lo, hi, ticksNow());
}

export function recordFloat(desc: MetricDescriptor, value: number, properties?: Properties): void {
  if (!state.active) return;
  if (properties === undefined) state.metrics!.floatMetric(desc, value, ticksNow());
  else state.metrics!.taggedMetric(desc, propertySetOf(properties), true, value, 0, 0, ticksNow());
}

/** Records an integer metric (IntegerMetricEvent, or TaggedIntegerMetricEvent with properties). */
export function imetric(name: string, unit: string, value: number | bigint, properties?: Properties): void {
  if (!state.active) return;
  recordInt(descriptorFor(name, unit), value, properties);
}

/** Records a float metric (FloatMetricEvent, or TaggedFloatMetricEvent with properties). */
export function fmetric(name: string, unit: string, value: number, properties?: Properties): void {
  if (!state.active) return;
  recordFloat(descriptorFor(name, unit), value, properties);
}
