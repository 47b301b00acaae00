// OTLP metrics → rows (reference analytics.md §1.4.5, upstream otel/metrics_block_processor.rs):
// Sum and Gauge points → measures rows (properties: point attributes + otel.metric.kind, and for Sum
// otel.metric.aggregation_temporality / is_monotonic); Summary points → <name>_count, <name>_sum and
// <name>_min / <name>_max from the q=0 / q=1 quantiles (other quantiles dropped, points flagged
// NO_RECORDED_VALUE dropped). Points with a zero timestamp are dropped. target = scope name.
// Histogram and ExponentialHistogram points, which upstream drops, become rows of our `histograms`
// view (histogram_grid.ts explains their representation).
import type { HistogramDataPoint, ExponentialHistogramDataPoint, ResourceMetrics } from '@micromegas/otlp';
import { encodeJsonb } from '../jsonb.ts';
import type { Nanos } from '../time.ts';
import { attrsObject, type JsonLike } from './attrs.ts';
import {
  explicitBuckets, explicitGrid, exponentialBuckets, exponentialGrid, toUniformHistogram, type ExactBuckets, type HistogramValue, type PointStats,
} from './histogram_grid.ts';

export interface DecodedMeasureRow {
  time: Nanos;
  target: string;
  name: string;
  unit: string;
  value: number;
  properties: Uint8Array;
}

export interface DecodedHistogramRow {
  time: Nanos;
  /** start_time_unix_nano; null when 0 (unknown). */
  startTime: Nanos | null;
  target: string;
  name: string;
  unit: string;
  kind: 'histogram' | 'exponential_histogram';
  properties: Uint8Array;
  histogram: HistogramValue;
  edges: number[];
  counts: bigint[];
}

export interface DecodedMetrics {
  measures: DecodedMeasureRow[];
  histograms: DecodedHistogramRow[];
}

/** DataPointFlags.NO_RECORDED_VALUE. */
const NO_RECORDED_VALUE = 1;

const propsOf = (attrs: Parameters<typeof attrsObject>[0], extras: Record<string, JsonLike>) => encodeJsonb(Object.assign(attrsObject(attrs), extras));

function stats(p: HistogramDataPoint | ExponentialHistogramDataPoint): PointStats {
  return { count: p.count, sum: p.sum, min: p.min, max: p.max };
}

export function otelMetricRows(metrics: ResourceMetrics, want: { measures: boolean; histograms: boolean }): DecodedMetrics {
  const out: DecodedMetrics = { measures: [], histograms: [] };
  for (const sm of metrics.scopeMetrics) {
    const target = sm.scope?.name ?? '';
    for (const m of sm.metrics) {
      const { name, unit } = m;
      if (want.measures && (m.sum || m.gauge)) {
        const extras: Record<string, JsonLike> = m.sum
          ? { 'otel.metric.aggregation_temporality': m.sum.aggregationTemporality, 'otel.metric.is_monotonic': m.sum.isMonotonic, 'otel.metric.kind': 'sum' }
          : { 'otel.metric.kind': 'gauge' };
        for (const dp of (m.sum ?? m.gauge)!.dataPoints) {
          if (dp.timeUnixNano === 0n) continue;
          const value = dp.asDouble !== undefined ? dp.asDouble : dp.asInt !== undefined ? Number(dp.asInt) : undefined;
          if (value === undefined) continue;
          out.measures.push({ time: BigInt.asIntN(64, dp.timeUnixNano), target, name, unit, value, properties: propsOf(dp.attributes, extras) });
        }
      } else if (want.measures && m.summary) {
        for (const dp of m.summary.dataPoints) {
          if (dp.flags & NO_RECORDED_VALUE || dp.timeUnixNano === 0n) continue;
          const time = BigInt.asIntN(64, dp.timeUnixNano);
          const properties = propsOf(dp.attributes, {});
          const row = (suffix: string, u: string, value: number) => out.measures.push({ time, target, name: `${name}_${suffix}`, unit: u, value, properties });
          row('count', '', Number(dp.count));
          row('sum', unit, dp.sum);
          let min = false;
          let max = false;
          for (const q of dp.quantileValues) {
            if (q.quantile === 0 && !min) {
              min = true;
              row('min', unit, q.value);
            } else if (q.quantile === 1 && !max) {
              max = true;
              row('max', unit, q.value);
            }
          }
        }
      } else if (want.histograms && (m.histogram || m.exponentialHistogram)) {
        const exponential = !m.histogram;
        const data = (m.histogram ?? m.exponentialHistogram)!;
        const kind = exponential ? 'exponential_histogram' : 'histogram';
        const extras = { 'otel.metric.aggregation_temporality': data.aggregationTemporality, 'otel.metric.kind': kind };
        for (const dp of data.dataPoints as (HistogramDataPoint | ExponentialHistogramDataPoint)[]) {
          if (dp.flags & NO_RECORDED_VALUE || dp.timeUnixNano === 0n) continue;
          let exact: ExactBuckets;
          let grid: [number, number];
          if (exponential) {
            const e = dp as ExponentialHistogramDataPoint;
            exact = exponentialBuckets({ scale: e.scale, zeroCount: e.zeroCount, zeroThreshold: e.zeroThreshold, positive: e.positive ?? undefined, negative: e.negative ?? undefined });
            grid = exponentialGrid(exact);
          } else {
            const h = dp as HistogramDataPoint;
            // A point without buckets carries only count/sum/min/max: no bins.
            exact = h.bucketCounts.length ? explicitBuckets(h.explicitBounds, h.bucketCounts) : { edges: [], counts: [] };
            grid = explicitGrid(h.bucketCounts.length ? h.explicitBounds : []);
          }
          out.histograms.push({
            time: BigInt.asIntN(64, dp.timeUnixNano),
            startTime: dp.startTimeUnixNano === 0n ? null : BigInt.asIntN(64, dp.startTimeUnixNano),
            target,
            name,
            unit,
            kind,
            properties: propsOf(dp.attributes, extras),
            histogram: toUniformHistogram(exact, stats(dp), grid),
            edges: exact.edges,
            counts: exact.counts,
          });
        }
      }
    }
  }
  return out;
}
