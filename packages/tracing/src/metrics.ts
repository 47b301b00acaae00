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
  return newDescriptorFor(name, unit, d);
}

// Kept out of descriptorFor so that the hot lookup stays small enough to inline whole.
function newDescriptorFor(name: string, unit: string, d: MetricDescriptor | undefined): MetricDescriptor {
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

// The hot paths stay small so that TurboFan's inlining budget reaches process.hrtime() inside
// ticksNow(): only then is its [sec, ns] pair optimized away. Rare cases (bigint values,
// properties) live in functions of their own, and the clock is read first.
let bigLo = 0;
let bigHi = 0;
function splitBigInt(value: bigint): void {
  const v = BigInt.asUintN(64, value);
  bigLo = Number(v & 0xffffffffn);
  bigHi = Number(v >> 32n);
}

function writeTagged(desc: MetricDescriptor, properties: Properties, isFloat: boolean, value: number, lo: number, hi: number, time: number): void {
  state.metrics!.taggedMetric(desc, propertySetOf(properties), isFloat, value, lo, hi, time);
}

function writeInt(desc: MetricDescriptor, value: number | bigint, properties: Properties | undefined, time: number): void {
  let lo: number;
  let hi: number;
  if (typeof value === 'number') {
    lo = value >>> 0;
    hi = Math.floor(value / TWO_32) >>> 0;
  } else {
    splitBigInt(value);
    lo = bigLo;
    hi = bigHi;
  }
  if (properties === undefined) state.metrics!.intMetric(desc, lo, hi, time);
  else writeTagged(desc, properties, false, 0, lo, hi, time);
}

function writeFloat(desc: MetricDescriptor, value: number, properties: Properties | undefined, time: number): void {
  if (properties === undefined) state.metrics!.floatMetric(desc, value, time);
  else writeTagged(desc, properties, true, value, 0, 0, time);
}

export function recordInt(desc: MetricDescriptor, value: number | bigint, properties?: Properties): void {
  if (!state.active) return;
  writeInt(desc, value, properties, ticksNow());
}

export function recordFloat(desc: MetricDescriptor, value: number, properties?: Properties): void {
  if (!state.active) return;
  writeFloat(desc, value, properties, ticksNow());
}

/** Records an integer metric (IntegerMetricEvent, or TaggedIntegerMetricEvent with properties). */
export function imetric(name: string, unit: string, value: number | bigint, properties?: Properties): void {
  if (!state.active) return;
  const time = ticksNow();
  writeInt(descriptorFor(name, unit), value, properties, time);
}

/** Records a float metric (FloatMetricEvent, or TaggedFloatMetricEvent with properties). */
export function fmetric(name: string, unit: string, value: number, properties?: Properties): void {
  if (!state.active) return;
  const time = ticksNow();
  writeFloat(descriptorFor(name, unit), value, properties, time);
}
