// POST /ingestion/cloudwatch/v1/logs/firehose (upstream rust/public/src/servers/firehose_cloudwatch_logs.rs,
// rust/otel-ingestion/src/cloudwatch_logs.rs): CloudWatch Logs subscription filters delivered by
// Firehose. Each record is CloudWatch's own gzip-compressed JSON (not OTLP); a DATA_MESSAGE becomes
// one synthetic OTLP resource (service.name = log group, service.instance.id = log stream) with one
// log record per event, stored through the OTLP logs path. CONTROL_MESSAGEs and empty messages are skipped.
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { OtlpDecodeError, encodeExportLogsRequest, type ExportLogsServiceRequest, type KeyValue } from '@micromegas/otlp';
import { BadRequestError } from './errors.ts';
import type { OtlpIngestor } from './otlp_ingest.ts';

export const FIREHOSE_CLOUDWATCH_LOGS_ROUTE = '/ingestion/cloudwatch/v1/logs/firehose';
/** A record is gzip inside the (separately limited) envelope: bound each one and the whole batch. */
export const MAX_DECOMPRESSED_RECORD_BYTES = 64 * 1024 * 1024;
export const MAX_DECOMPRESSED_BATCH_BYTES = 300 * 1024 * 1024;

const gunzipAsync = promisify(gunzip) as (buf: Uint8Array, opts: { maxOutputLength: number }) => Promise<Buffer>;
const U64_MAX = 2n ** 64n - 1n;

export interface CloudWatchLogEvent {
  id: string;
  /** Unix milliseconds. */
  timestamp: number;
  message: string;
}

export interface CloudWatchLogsMessage {
  messageType: string;
  owner: string;
  logGroup: string;
  logStream: string;
  logEvents: CloudWatchLogEvent[];
}

function parseMessage(json: unknown, fail: (what: string) => never): CloudWatchLogsMessage {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return fail('json: expected an object');
  const m = json as Record<string, unknown>;
  for (const k of ['messageType', 'owner', 'logGroup', 'logStream']) {
    if (typeof m[k] !== 'string') fail(`json: ${k} must be a string`);
  }
  let events: unknown[] = [];
  if (m.logEvents !== undefined) {
    if (!Array.isArray(m.logEvents)) fail('json: logEvents must be an array');
    events = m.logEvents as unknown[];
  }
  const logEvents = events.map((e, i) => {
    const ev = (e ?? {}) as Record<string, unknown>;
    if (typeof e !== 'object' || typeof ev.id !== 'string' || typeof ev.message !== 'string') {
      return fail(`json: logEvents[${i}] needs a string id and message`);
    }
    if (typeof ev.timestamp !== 'number' || !Number.isSafeInteger(ev.timestamp)) return fail(`json: logEvents[${i}].timestamp must be an integer`);
    // CloudWatch never sends one; as unsigned nanoseconds it would become a far-future time.
    if (ev.timestamp < 0) return fail(`logEvent id=${ev.id} has negative timestamp ${ev.timestamp}`);
    return { id: ev.id, timestamp: ev.timestamp, message: ev.message };
  });
  // Lone surrogates from \u escapes cannot be stored as UTF-8 (serde_json rejects them too).
  const texts = [m.messageType, m.owner, m.logGroup, m.logStream, ...logEvents.flatMap((e) => [e.id, e.message])] as string[];
  if (texts.some((t) => /\p{Cs}/u.test(t))) fail('json: lone surrogate in a string');
  return { messageType: m.messageType as string, owner: m.owner as string, logGroup: m.logGroup as string, logStream: m.logStream as string, logEvents };
}

/**
 * Gunzips and parses one record; null for a CONTROL_MESSAGE or a message without events.
 * `budget.used` accumulates decompressed bytes over the batch. Throws BadRequestError.
 */
export async function decodeCloudWatchLogsRecord(raw: Uint8Array, index: number, budget: { used: number }): Promise<CloudWatchLogsMessage | null> {
  const fail = (what: string): never => {
    throw new BadRequestError(`parse error (logs): cloudwatch logs record[${index}] ${what}`);
  };
  let text: Buffer;
  try {
    text = await gunzipAsync(raw, { maxOutputLength: MAX_DECOMPRESSED_RECORD_BYTES });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') fail(`gunzip: decompressed size exceeds ${MAX_DECOMPRESSED_RECORD_BYTES} byte cap`);
    return fail(`gunzip: ${(err as Error).message}`);
  }
  budget.used += text.length;
  if (budget.used > MAX_DECOMPRESSED_BATCH_BYTES) fail(`gunzip: aggregate decompressed size across batch exceeds ${MAX_DECOMPRESSED_BATCH_BYTES} byte cap`);
  let json: unknown;
  try {
    json = JSON.parse(text.toString('utf8'));
  } catch (err) {
    return fail(`json: ${(err as Error).message}`);
  }
  const msg = parseMessage(json, fail);
  if (msg.messageType === 'CONTROL_MESSAGE' || msg.logEvents.length === 0) return null;
  return msg;
}

const kv = (key: string, value: string): KeyValue => ({ key, value: { stringValue: value } });

/** One resource (log group/stream/owner), no scope, one record per event (ms → ns, raw message body). */
export function cloudWatchLogsRequest(msg: CloudWatchLogsMessage): ExportLogsServiceRequest {
  const attributes = [
    kv('service.name', msg.logGroup),
    kv('service.instance.id', msg.logStream),
    kv('cloud.account.id', msg.owner),
    kv('aws.log.group.name', msg.logGroup),
    kv('aws.log.stream.name', msg.logStream),
  ];
  const logRecords = msg.logEvents.map((ev) => {
    const ns = BigInt(ev.timestamp) * 1_000_000n;
    return {
      timeUnixNano: ns > U64_MAX ? U64_MAX : ns,
      observedTimeUnixNano: 0n,
      severityNumber: 0, // CloudWatch does not parse the message: no severity
      severityText: '',
      body: { stringValue: ev.message },
      attributes: [kv('aws.log.event.id', ev.id)],
      droppedAttributesCount: 0,
      flags: 0,
      traceId: new Uint8Array(0),
      spanId: new Uint8Array(0),
      eventName: '',
    };
  });
  return {
    resourceLogs: [
      { resource: { attributes, droppedAttributesCount: 0 }, scopeLogs: [{ scope: null, logRecords, schemaUrl: '' }], schemaUrl: '' },
    ],
  };
}

/** The records of one Firehose delivery → OTLP logs blocks, in order. */
export async function ingestCloudWatchLogsFirehose(ingestor: OtlpIngestor, records: Uint8Array[]): Promise<void> {
  const budget = { used: 0 };
  for (const [i, record] of records.entries()) {
    const msg = await decodeCloudWatchLogsRecord(record, i, budget);
    if (msg === null) continue;
    let request: Uint8Array;
    try {
      request = encodeExportLogsRequest(cloudWatchLogsRequest(msg));
    } catch (err) {
      if (err instanceof OtlpDecodeError) throw new BadRequestError(`parse error (logs): cloudwatch logs record[${i}]: ${err.message}`);
      throw err;
    }
    await ingestor.ingest('logs', request);
  }
}
