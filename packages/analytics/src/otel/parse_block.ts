// parse_block on OTLP blocks (upstream otel/block_decoders.rs): one row per log record, span or
// metric data point, in payload order; the value is the leaf in OTLP/JSON form (camelCase, ids in hex,
// 64-bit integers as numbers) plus `__type`, `__attributes` (flattened), `__resource`, `__scope`
// (otel.scope.*) and, for metrics, `__metric` (name, unit, description, otel.metric.kind, …).
import type { ResourceLogs, ResourceMetrics, ResourceSpans } from '@micromegas/otlp';
import { decodeResourceLogs, decodeResourceMetrics, decodeResourceSpans } from '@micromegas/otlp';
import { encodeJsonb } from '../jsonb.ts';
import { attrsObject, hex, scopeExtras, type JsonLike } from './attrs.ts';
import { FORMAT_OTLP_LOGS, FORMAT_OTLP_METRICS, FORMAT_OTLP_TRACES } from './blocks.ts';

export interface ParsedObject {
  typeName: string;
  value: Uint8Array;
}

/** A decoded message as JSON-like data: bytes in hex, protobufjs' oneof markers left out. */
function toJson(v: unknown): JsonLike {
  if (v === null || v === undefined) return null;
  if (v instanceof Uint8Array) return hex(v);
  if (Array.isArray(v)) return v.map(toJson);
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const out: Record<string, JsonLike> = {};
    for (const [k, x] of Object.entries(o)) {
      if (x === undefined) continue;
      // `value` / `data` naming the member a oneof has set.
      if ((k === 'value' || k === 'data') && typeof x === 'string' && x in o) continue;
      out[k] = toJson(x);
    }
    return out;
  }
  if (typeof v === 'number' && !Number.isFinite(v)) return null;
  return v as JsonLike;
}

function leaf(typeName: string, item: { attributes: Parameters<typeof attrsObject>[0] }, resource: JsonLike, scope: JsonLike, metric?: Record<string, JsonLike>): ParsedObject {
  const value = toJson(item) as Record<string, JsonLike>;
  value.__type = typeName;
  value.__attributes = attrsObject(item.attributes);
  value.__resource = resource;
  value.__scope = scope;
  if (metric) value.__metric = metric;
  return { typeName, value: encodeJsonb(value) };
}

export function isOtlpFormat(format: string): boolean {
  return format === FORMAT_OTLP_LOGS || format === FORMAT_OTLP_METRICS || format === FORMAT_OTLP_TRACES;
}

/** Throws on a payload that does not decode. */
export function parseOtlpObjects(format: string, objects: Uint8Array): ParsedObject[] {
  const out: ParsedObject[] = [];
  if (format === FORMAT_OTLP_LOGS) {
    const rl: ResourceLogs = decodeResourceLogs(objects);
    const resource = attrsObject(rl.resource?.attributes ?? []);
    for (const sl of rl.scopeLogs) {
      const scope = scopeExtras(sl.scope, sl.schemaUrl);
      for (const r of sl.logRecords) out.push(leaf('otlp.LogRecord', r, resource, scope));
    }
  } else if (format === FORMAT_OTLP_TRACES) {
    const rs: ResourceSpans = decodeResourceSpans(objects);
    const resource = attrsObject(rs.resource?.attributes ?? []);
    for (const ss of rs.scopeSpans) {
      const scope = scopeExtras(ss.scope, ss.schemaUrl);
      for (const s of ss.spans) out.push(leaf('otlp.Span', s, resource, scope));
    }
  } else if (format === FORMAT_OTLP_METRICS) {
    const rm: ResourceMetrics = decodeResourceMetrics(objects);
    const resource = attrsObject(rm.resource?.attributes ?? []);
    for (const sm of rm.scopeMetrics) {
      const scope = scopeExtras(sm.scope, sm.schemaUrl);
      for (const m of sm.metrics) {
        const base: Record<string, JsonLike> = { name: m.name, unit: m.unit, description: m.description };
        if (m.metadata.length) base['otel.metric.metadata'] = attrsObject(m.metadata);
        const emit = (typeName: string, points: { attributes: Parameters<typeof attrsObject>[0] }[], extra: Record<string, JsonLike>) => {
          const metric = { ...base, ...extra };
          for (const p of points) out.push(leaf(typeName, p, resource, scope, metric));
        };
        if (m.sum) emit('otlp.NumberDataPoint', m.sum.dataPoints, { 'otel.metric.kind': 'sum', 'otel.metric.aggregation_temporality': m.sum.aggregationTemporality, 'otel.metric.is_monotonic': m.sum.isMonotonic });
        else if (m.gauge) emit('otlp.NumberDataPoint', m.gauge.dataPoints, { 'otel.metric.kind': 'gauge' });
        else if (m.histogram) emit('otlp.HistogramDataPoint', m.histogram.dataPoints, { 'otel.metric.kind': 'histogram', 'otel.metric.aggregation_temporality': m.histogram.aggregationTemporality });
        else if (m.exponentialHistogram) {
          emit('otlp.ExponentialHistogramDataPoint', m.exponentialHistogram.dataPoints, { 'otel.metric.kind': 'exponential_histogram', 'otel.metric.aggregation_temporality': m.exponentialHistogram.aggregationTemporality });
        } else if (m.summary) emit('otlp.SummaryDataPoint', m.summary.dataPoints, { 'otel.metric.kind': 'summary' });
      }
    }
  } else throw new Error(`no OTLP decoder for format ${format}`);
  return out;
}
