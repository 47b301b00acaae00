// CloudWatch Metric Streams identity (upstream rust/otel-ingestion/src/cloudwatch_metrics.rs): a
// Metric Stream's resource has only cloud.* and aws.exporter.arn, so every namespace of every
// account would fall onto one process. Such a resource is split into one resource per CloudWatch
// namespace (read from the first data point's `Namespace` attribute): service.name = namespace,
// service.instance.id = exporter ARN, service.namespace cleared. Only the Firehose metrics route
// applies it; other resources pass through untouched.
import { anyValueToString, findAttribute } from '@micromegas/otlp';
import type { ExportMetricsServiceRequest, KeyValue, Metric, ResourceMetrics, ScopeMetrics } from '@micromegas/otlp';

/** service.name of metrics without a usable Namespace attribute. */
export const UNKNOWN_NAMESPACE = 'AWS/Unknown';

// Trim + ASCII lower-case, as the process identity normalises fields.
const norm = (s: string): string => s.trim().replace(/[A-Z]+/g, (m) => m.toLowerCase());

function attrNorm(attrs: readonly KeyValue[], key: string): string {
  const v = findAttribute(attrs, key);
  return v === undefined || v === null ? '' : norm(anyValueToString(v));
}

function attrRaw(attrs: readonly KeyValue[], key: string): string {
  const v = findAttribute(attrs, key);
  return v === undefined || v === null ? '' : anyValueToString(v);
}

/** None of host.id, host.name, process.pid, service.instance.id: the identity says nothing. */
export function isDegenerateResource(attrs: readonly KeyValue[]): boolean {
  return (
    attrNorm(attrs, 'host.id') === '' &&
    attrNorm(attrs, 'host.name') === '' &&
    attrRaw(attrs, 'process.pid') === '' &&
    attrNorm(attrs, 'service.instance.id') === ''
  );
}

/** The Metric Streams fingerprint: an exporter ARN, no service name/namespace, degenerate otherwise. */
export function isCloudWatchMetricStreamResource(attrs: readonly KeyValue[]): boolean {
  return (
    attrNorm(attrs, 'aws.exporter.arn') !== '' &&
    attrNorm(attrs, 'service.name') === '' &&
    attrNorm(attrs, 'service.namespace') === '' &&
    isDegenerateResource(attrs)
  );
}

/** The trimmed `Namespace` attribute of the metric's first data point, or null. */
export function metricNamespace(metric: Metric): string | null {
  const data = metric.gauge ?? metric.sum ?? metric.histogram ?? metric.exponentialHistogram ?? metric.summary;
  const first = data?.dataPoints[0];
  if (first === undefined) return null;
  const v = findAttribute(first.attributes, 'Namespace');
  if (v === undefined || v === null) return null;
  const s = anyValueToString(v).trim();
  return s === '' ? null : s;
}

function setAttr(attrs: KeyValue[], key: string, value: string): void {
  const existing = attrs.find((kv) => kv.key === key);
  if (existing) existing.value = { stringValue: value };
  else attrs.push({ key, value: { stringValue: value } });
}

// Case-insensitive bucket keys; '' sorts first and stands for "no namespace" (a real namespace is never empty).
const bucketKey = (ns: string | null): string => (ns === null ? '' : `\x01${ns.replace(/[A-Z]+/g, (m) => m.toLowerCase())}`);
// Deterministic order (byte order, as upstream's BTreeMap) so rewrites of the same input give the same block ids.
const byBytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

interface Bucket<T> {
  namespace: string | null;
  items: T[];
}

function bucketPush<T>(map: Map<string, Bucket<T>>, ns: string | null, item: T): void {
  const key = bucketKey(ns);
  let b = map.get(key);
  if (b === undefined) map.set(key, (b = { namespace: ns, items: [] }));
  b.items.push(item);
}

function sortedBuckets<T>(map: Map<string, Bucket<T>>): Bucket<T>[] {
  return [...map.entries()].sort(([a], [b]) => byBytes(a, b)).map(([, v]) => v);
}

function partition(rm: ResourceMetrics): ResourceMetrics[] {
  const original = rm.resource?.attributes ?? [];
  const buckets = new Map<string, Bucket<ScopeMetrics>>();
  for (const scope of rm.scopeMetrics) {
    const perNamespace = new Map<string, Bucket<Metric>>();
    for (const metric of scope.metrics) bucketPush(perNamespace, metricNamespace(metric), metric);
    for (const b of sortedBuckets(perNamespace)) {
      bucketPush(buckets, b.namespace, { scope: scope.scope, metrics: b.items, schemaUrl: scope.schemaUrl });
    }
  }
  const arn = attrRaw(original, 'aws.exporter.arn');
  return sortedBuckets(buckets).map((b) => {
    const attributes = original.map((kv) => ({ ...kv }));
    setAttr(attributes, 'service.instance.id', arn);
    setAttr(attributes, 'service.name', b.namespace ?? UNKNOWN_NAMESPACE);
    // exe must be the namespace alone, even if a whitespace-only service.namespace was present.
    const ns = attributes.find((kv) => kv.key === 'service.namespace');
    if (ns) ns.value = { stringValue: '' };
    return {
      resource: { ...(rm.resource ?? { droppedAttributesCount: 0 }), attributes },
      scopeMetrics: b.items,
      schemaUrl: rm.schemaUrl,
    };
  });
}

/** True when some resource of the request has the Metric Streams fingerprint. */
export function hasCloudWatchMetricStreamResource(req: ExportMetricsServiceRequest): boolean {
  return req.resourceMetrics.some((rm) => rm.resource !== null && isCloudWatchMetricStreamResource(rm.resource.attributes));
}

/** Splits every Metric Streams resource per namespace; other resources are kept as they are. */
export function rewriteCloudWatchMetricStreams(req: ExportMetricsServiceRequest): ExportMetricsServiceRequest {
  const out: ResourceMetrics[] = [];
  for (const rm of req.resourceMetrics) {
    if (rm.resource !== null && isCloudWatchMetricStreamResource(rm.resource.attributes)) out.push(...partition(rm));
    else out.push(rm);
  }
  return { resourceMetrics: out };
}
