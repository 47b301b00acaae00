// POST /ingestion/otlp/v1/metrics/firehose (upstream rust/public/src/servers/firehose.rs): a
// CloudWatch Metric Stream in "OpenTelemetry 1.0.0" format delivered by Firehose. Each record packs
// one or more length-delimited ExportMetricsServiceRequest messages; each message is stored (through
// the OTLP path, Metric Streams resources split per namespace) before the next one is read, so a bad
// message late in a record keeps what came before it, and Firehose's retry of the batch dedups.
import {
  OtlpDecodeError,
  decodeExportMetricsRequest,
  decodeResource,
  encodeExportMetricsRequest,
  scanExportRequest,
} from '@micromegas/otlp';
import { BadRequestError } from './errors.ts';
import type { OtlpIngestor } from './otlp_ingest.ts';
import { isCloudWatchMetricStreamResource, rewriteCloudWatchMetricStreams } from './cloudwatch_metrics.ts';

export const FIREHOSE_METRICS_ROUTE = '/ingestion/otlp/v1/metrics/firehose';

/** Splits `[varint length][message]...` into messages; throws OtlpDecodeError on a bad frame. */
export function* lengthDelimitedMessages(record: Uint8Array): Generator<Uint8Array> {
  let pos = 0;
  while (pos < record.length) {
    let len = 0;
    let shift = 0;
    for (let i = 0; ; i++) {
      if (pos >= record.length) throw new OtlpDecodeError('truncated length prefix');
      if (i === 10) throw new OtlpDecodeError('invalid length prefix (varint too long)');
      const b = record[pos++]!;
      len += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if ((b & 0x80) === 0) break;
    }
    if (len > record.length - pos) {
      throw new OtlpDecodeError(`length prefix ${len} goes beyond the end of the record (${record.length - pos} bytes left)`);
    }
    yield record.subarray(pos, pos + len);
    pos += len;
  }
}

function needsRewrite(message: Uint8Array): boolean {
  for (const r of scanExportRequest('metrics', message)) {
    if (r.resource !== null && isCloudWatchMetricStreamResource(decodeResource(r.resource).attributes)) return true;
  }
  return false;
}

/** Stores one ExportMetricsServiceRequest, partitioning CloudWatch Metric Streams resources first. */
async function ingestMessage(ingestor: OtlpIngestor, message: Uint8Array): Promise<void> {
  let request = message;
  try {
    // Most messages are stored as sent (their bytes are the block payloads); only the degenerate
    // Metric Streams shape is decoded, rewritten and re-encoded.
    if (needsRewrite(message)) request = encodeExportMetricsRequest(rewriteCloudWatchMetricStreams(decodeExportMetricsRequest(message)));
  } catch (err) {
    if (err instanceof OtlpDecodeError) throw new BadRequestError(err.message);
    throw err;
  }
  await ingestor.ingest('metrics', request);
}

/** The records of one Firehose delivery → OTLP metrics blocks. */
export async function ingestFirehoseMetrics(ingestor: OtlpIngestor, records: Uint8Array[]): Promise<void> {
  for (const [i, record] of records.entries()) {
    let j = 0;
    const where = () => `parse error (metrics): firehose record[${i}] message[${j}]`;
    const messages = lengthDelimitedMessages(record);
    for (;;) {
      let next: IteratorResult<Uint8Array>;
      try {
        next = messages.next();
      } catch (err) {
        if (err instanceof OtlpDecodeError) throw new BadRequestError(`${where()}: ${err.message}`);
        throw err;
      }
      if (next.done) break;
      try {
        await ingestMessage(ingestor, next.value);
      } catch (err) {
        if (err instanceof BadRequestError) throw new BadRequestError(`${where()}: ${err.message}`);
        throw err;
      }
      j++;
    }
  }
}
