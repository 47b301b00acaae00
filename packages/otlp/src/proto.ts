// Loads our own OTLP .proto files (packages/otlp/proto) with protobufjs and exposes the message types.
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import protobuf from 'protobufjs';

/** Directory holding the .proto files (also used by the gRPC server to load the services). */
export const PROTO_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'proto');

export const PROTO_FILES = [
  'common.proto',
  'resource.proto',
  'logs.proto',
  'metrics.proto',
  'trace.proto',
  'collector_logs.proto',
  'collector_metrics.proto',
  'collector_trace.proto',
  'rpc_status.proto',
];

function loadRoot(): protobuf.Root {
  const root = new protobuf.Root();
  // Imports are written relative to the proto directory.
  root.resolvePath = (_origin, target) => join(PROTO_DIR, target.replace(/^.*[\\/]/, ''));
  root.loadSync(PROTO_FILES, { keepCase: false });
  root.resolveAll();
  return root;
}

export const root = loadRoot();

const t = (name: string): protobuf.Type => root.lookupType(name);

export const Types = {
  AnyValue: t('opentelemetry.proto.common.v1.AnyValue'),
  KeyValue: t('opentelemetry.proto.common.v1.KeyValue'),
  InstrumentationScope: t('opentelemetry.proto.common.v1.InstrumentationScope'),
  Resource: t('opentelemetry.proto.resource.v1.Resource'),
  ResourceLogs: t('opentelemetry.proto.logs.v1.ResourceLogs'),
  LogRecord: t('opentelemetry.proto.logs.v1.LogRecord'),
  ResourceMetrics: t('opentelemetry.proto.metrics.v1.ResourceMetrics'),
  Metric: t('opentelemetry.proto.metrics.v1.Metric'),
  ResourceSpans: t('opentelemetry.proto.trace.v1.ResourceSpans'),
  Span: t('opentelemetry.proto.trace.v1.Span'),
  ExportLogsServiceRequest: t('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest'),
  ExportLogsServiceResponse: t('opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse'),
  ExportMetricsServiceRequest: t('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest'),
  ExportMetricsServiceResponse: t('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse'),
  ExportTraceServiceRequest: t('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest'),
  ExportTraceServiceResponse: t('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse'),
  RpcStatus: t('google.rpc.Status'),
};
