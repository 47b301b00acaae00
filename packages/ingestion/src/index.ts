export { startIngestionServer, DEFAULT_INGESTION_PORT, MAX_BODY_BYTES } from './server.ts';
export type { IngestionServer, IngestionServerOptions } from './server.ts';
export { IngestionService, blockObjectKey } from './service.ts';
export type { IngestionStats } from './service.ts';
export { Keyring, parseApiKeys, KeyringError } from './auth.ts';
export type { ApiKey } from './auth.ts';
export { BadRequestError, UnavailableError } from './errors.ts';
export { toPgTimestamp } from './timestamp.ts';
export { OtlpIngestor, OTLP_FORMATS, OTLP_TAGS, processRowFromResource, nsToPgTimestamp } from './otlp_ingest.ts';
export type { OtlpIngestResult } from './otlp_ingest.ts';
export { OTLP_HTTP_ROUTES, OTLP_WIRE_LIMIT_BYTES, OTLP_DECOMPRESSED_LIMIT_BYTES } from './otlp_http.ts';
export { startOtlpGrpcServer, DEFAULT_OTLP_GRPC_PORT } from './otlp_grpc.ts';
export type { OtlpGrpcServer, OtlpGrpcServerOptions } from './otlp_grpc.ts';
export type { ProcessRow, StreamRow, BlockRow } from './service.ts';
export { WEBHOOK_ROUTE, canonicalHeaderBytes, webhookRequest } from './webhook.ts';
export { decodeFirehoseEnvelope, HEADER_ACCESS_KEY, HEADER_REQUEST_ID } from './firehose_common.ts';
export type { FirehoseEnvelope } from './firehose_common.ts';
export { FIREHOSE_METRICS_ROUTE, lengthDelimitedMessages, ingestFirehoseMetrics } from './firehose.ts';
export { rewriteCloudWatchMetricStreams, isCloudWatchMetricStreamResource, metricNamespace, UNKNOWN_NAMESPACE } from './cloudwatch_metrics.ts';
export {
  FIREHOSE_CLOUDWATCH_LOGS_ROUTE,
  cloudWatchLogsRequest,
  decodeCloudWatchLogsRecord,
  ingestCloudWatchLogsFirehose,
} from './firehose_cloudwatch_logs.ts';
export type { CloudWatchLogsMessage, CloudWatchLogEvent } from './firehose_cloudwatch_logs.ts';
