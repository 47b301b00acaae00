// Telemetry of a two-service program produced with the OpenTelemetry JS SDK and exported with the
// official OTLP exporters (HTTP/protobuf, HTTP/JSON, gRPC): the real clients of our OTLP endpoints.
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor, InMemoryLogRecordExporter, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, SimpleSpanProcessor, InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { AggregationType, MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { OTLPLogExporter as LogsProto } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPLogExporter as LogsJson } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as LogsGrpc } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPTraceExporter as TraceProto } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as TraceJson } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as TraceGrpc } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPMetricExporter as MetricsProto } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPMetricExporter as MetricsJson } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as MetricsGrpc } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { Metadata } from '@grpc/grpc-js';

export type Transport = 'http/protobuf' | 'http/json' | 'grpc';

export const SERVICES = [
  { 'service.namespace': 'shop', 'service.name': 'frontend', 'host.name': 'host-a', 'process.pid': 1234, 'process.owner': 'alice', 'os.description': 'Debian 12', 'host.cpu.model.name': 'EPYC' },
  { 'service.name': 'billing', 'host.name': 'host-b', 'process.pid': 99, 'process.creation.time': '2026-11-25T08:00:00.123456Z' },
] as const;

export const resources = (tag: string): Resource[] =>
  SERVICES.map((s) => resourceFromAttributes({ ...s, 'service.instance.id': tag }));

// Fixed, distinct nanosecond times: [seconds, nanos].
export const BASE_S = 1_764_000_000;
const hr = (offsetNs: number): [number, number] => [BASE_S + Math.floor(offsetNs / 1e9), offsetNs % 1e9];
export const hrToNs = (t: [number, number]): bigint => BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);

export function makeLogs(tag: string): ReadableLogRecord[] {
  const out: ReadableLogRecord[] = [];
  resources(tag).forEach((resource, r) => {
    const mem = new InMemoryLogRecordExporter();
    const provider = new LoggerProvider({ resource, processors: [new SimpleLogRecordProcessor({ exporter: mem })] });
    const logger = provider.getLogger(`scope-${r}`, '1.0.0');
    for (let i = 0; i < 5 + r; i++) {
      logger.emit({ timestamp: hr(1000 * i + 7 + r), severityNumber: 9 + i, severityText: 'INFO', body: `service ${r} line ${i}`, attributes: { i, 'k.s': 'v' } });
    }
    out.push(...mem.getFinishedLogRecords());
  });
  return out;
}

export function makeSpans(tag: string): ReadableSpan[] {
  const out: ReadableSpan[] = [];
  resources(tag).forEach((resource, r) => {
    const mem = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor(mem)] });
    const tracer = provider.getTracer(`tracer-${r}`);
    for (let i = 0; i < 3 + r; i++) {
      const span = tracer.startSpan(`op-${r}-${i}`, { startTime: hr(5000 + 100 * i), attributes: { i } });
      span.addEvent('evt', { e: i }, hr(5000 + 100 * i + 10));
      span.end(hr(5000 + 100 * i + 50 + r));
    }
    out.push(...mem.getFinishedSpans());
  });
  return out;
}

class CollectingReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

/** One ResourceMetrics per service: a counter, a gauge, a histogram and an exponential histogram. */
export async function makeMetrics(tag: string): Promise<ResourceMetrics[]> {
  const out: ResourceMetrics[] = [];
  for (const [r, resource] of resources(tag).entries()) {
    const reader = new CollectingReader();
    const provider = new MeterProvider({
      resource,
      readers: [reader],
      views: [{ instrumentName: 'latency.exp', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }],
    });
    const meter = provider.getMeter(`meter-${r}`);
    const counter = meter.createCounter('requests');
    const gauge = meter.createGauge('temperature');
    const hist = meter.createHistogram('latency');
    const exp = meter.createHistogram('latency.exp');
    counter.add(3, { route: '/a' });
    counter.add(4, { route: '/b' });
    gauge.record(21.5 + r);
    for (const v of [1, 5, 50, 500]) {
      hist.record(v);
      exp.record(v);
    }
    const { resourceMetrics, errors } = await reader.collect();
    if (errors.length) throw errors[0];
    out.push(resourceMetrics);
    await provider.shutdown();
  }
  return out;
}

interface Exporter<T> {
  export(items: T, done: (r: { code: number; error?: Error }) => void): void;
  shutdown(): Promise<void>;
}

export function exportOnce<T>(exporter: Exporter<T>, items: T): Promise<void> {
  return new Promise((resolve, reject) =>
    exporter.export(items, (r) => (r.code === 0 ? resolve() : reject(r.error ?? new Error(`export failed: ${r.code}`)))),
  );
}

export interface Endpoints {
  httpUrl: string;
  grpcUrl: string;
  token?: string;
  gzip?: boolean;
}

function grpcOpts(e: Endpoints) {
  const metadata = new Metadata();
  if (e.token) metadata.set('authorization', `Bearer ${e.token}`);
  return { url: e.grpcUrl, metadata, compression: e.gzip ? CompressionAlgorithm.GZIP : CompressionAlgorithm.NONE };
}

function httpOpts(e: Endpoints, signal: string) {
  return {
    url: `${e.httpUrl}/v1/${signal}`,
    headers: (e.token ? { authorization: `Bearer ${e.token}` } : {}) as Record<string, string>,
    compression: e.gzip ? CompressionAlgorithm.GZIP : CompressionAlgorithm.NONE,
  };
}

export function logExporter(t: Transport, e: Endpoints): Exporter<ReadableLogRecord[]> {
  if (t === 'grpc') return new LogsGrpc(grpcOpts(e));
  return t === 'http/json' ? new LogsJson(httpOpts(e, 'logs')) : new LogsProto(httpOpts(e, 'logs'));
}

export function traceExporter(t: Transport, e: Endpoints): Exporter<ReadableSpan[]> {
  if (t === 'grpc') return new TraceGrpc(grpcOpts(e));
  return t === 'http/json' ? new TraceJson(httpOpts(e, 'traces')) : new TraceProto(httpOpts(e, 'traces'));
}

export function metricExporter(t: Transport, e: Endpoints): Exporter<ResourceMetrics> {
  if (t === 'grpc') return new MetricsGrpc(grpcOpts(e));
  return t === 'http/json' ? new MetricsJson(httpOpts(e, 'metrics')) : new MetricsProto(httpOpts(e, 'metrics'));
}
