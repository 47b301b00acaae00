// Amazon Kinesis Data Firehose "HTTP endpoint delivery" transport, shared by the metrics and the
// CloudWatch Logs routes (upstream rust/public/src/servers/firehose_common.rs): the JSON envelope
// {requestId, records: [{data: base64}]}, the ack {requestId, timestamp[, errorMessage]}, and the
// X-Amz-Firehose-Access-Key credential (Firehose cannot send Authorization), checked as a bearer token.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Keyring } from './auth.ts';
import { BadRequestError, UnavailableError } from './errors.ts';
import { HttpError, readIngestionBody } from './otlp_http.ts';
import type { OtlpIngestor } from './otlp_ingest.ts';

export const HEADER_ACCESS_KEY = 'x-amz-firehose-access-key';
export const HEADER_REQUEST_ID = 'x-amz-firehose-request-id';

export interface FirehoseEnvelope {
  /** The body's requestId ('' when absent or null). */
  requestId: string;
  /** Each record's base64-decoded data. */
  records: Uint8Array[];
}

// RFC 4648 standard alphabet with padding, as Rust's base64 STANDARD engine (no whitespace, no URL-safe).
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Parses the envelope; anything malformed is a BadRequestError naming what is wrong. */
export function decodeFirehoseEnvelope(body: Uint8Array, signal: string): FirehoseEnvelope {
  const fail = (what: string): never => {
    throw new BadRequestError(`parse error (${signal}): ${what}`);
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (err) {
    return fail(`firehose envelope json: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return fail('firehose envelope json: expected an object');
  const env = parsed as { requestId?: unknown; records?: unknown };
  if (env.requestId !== undefined && env.requestId !== null && typeof env.requestId !== 'string') {
    return fail('firehose envelope json: requestId must be a string');
  }
  let list: unknown[] = [];
  if (env.records !== undefined) {
    if (!Array.isArray(env.records)) return fail('firehose envelope json: records must be an array');
    list = env.records;
  }
  const records = list.map((rec, i) => {
    const data = rec !== null && typeof rec === 'object' ? (rec as { data?: unknown }).data : undefined;
    if (typeof data !== 'string') return fail(`firehose envelope json: records[${i}].data must be a string`);
    if (!BASE64.test(data)) return fail(`firehose record[${i}] base64: invalid base64 data`);
    return new Uint8Array(Buffer.from(data, 'base64'));
  });
  return { requestId: (env.requestId as string | null | undefined) ?? '', records };
}

/** The Firehose ack or error body; Firehose retries (then spills to S3) on any non-200. */
export function sendFirehose(res: ServerResponse, status: number, requestId: string, errorMessage?: string): void {
  if (res.headersSent) return;
  const body = JSON.stringify(
    errorMessage === undefined ? { requestId, timestamp: Date.now() } : { requestId, timestamp: Date.now(), errorMessage },
  );
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function headerText(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
}

export const firehoseRequestId = (req: IncomingMessage): string => headerText(req, HEADER_REQUEST_ID) ?? '';

/** Checks the access key; answers 401 itself and returns false when it is missing or wrong. */
export function firehoseAuthorized(req: IncomingMessage, res: ServerResponse, keyring: Keyring | null): boolean {
  if (keyring === null) return true; // --disable-auth: open, like every ingestion route
  const key = headerText(req, HEADER_ACCESS_KEY);
  let message: string | undefined;
  if (key === undefined) message = 'missing X-Amz-Firehose-Access-Key';
  else if (keyring.authenticate(`Bearer ${key}`) === undefined) message = 'invalid access key';
  if (message === undefined) return true;
  req.resume();
  sendFirehose(res, 401, firehoseRequestId(req), message);
  return false;
}

export interface FirehoseOptions {
  ingestor: OtlpIngestor;
  log: (line: string) => void;
  wireLimit?: number;
}

/** Stores the records of one delivery; throws BadRequestError / UnavailableError. */
export type FirehoseRecordsIngest = (ingestor: OtlpIngestor, records: Uint8Array[]) => Promise<void>;

/** Handles one authenticated Firehose POST: read, unwrap, ingest, ack. Never throws. */
export async function handleFirehose(
  req: IncomingMessage,
  res: ServerResponse,
  signal: 'metrics' | 'logs',
  ingest: FirehoseRecordsIngest,
  opts: FirehoseOptions,
): Promise<void> {
  let requestId = firehoseRequestId(req);
  const route = `firehose ${signal}`;
  try {
    const body = await readIngestionBody(req, opts.wireLimit);
    const envelope = decodeFirehoseEnvelope(body, signal);
    // The header is what Firehose matches acks on; the body's requestId is only a fallback.
    if (requestId === '') requestId = envelope.requestId;
    await ingest(opts.ingestor, envelope.records);
    sendFirehose(res, 200, requestId);
  } catch (err) {
    if (err instanceof HttpError) {
      opts.log(`ingestion: ${err.status} ${route} (request_id=${requestId}): ${err.message}`);
      return sendFirehose(res, err.status, requestId, err.message);
    }
    if (err instanceof BadRequestError) {
      opts.ingestor.service.stats.badRequests++;
      opts.log(`ingestion: 400 ${route} (request_id=${requestId}): ${err.message}`);
      return sendFirehose(res, 400, requestId, err.message);
    }
    if (err instanceof UnavailableError) {
      opts.log(`ingestion: 503 ${route} (request_id=${requestId}): ${err.message}`);
      return sendFirehose(res, 503, requestId, `database or storage error (${signal}), retry later`);
    }
    opts.log(`ingestion: 500 ${route} (request_id=${requestId}): ${err instanceof Error ? err.stack : String(err)}`);
    return sendFirehose(res, 500, requestId, 'internal server error');
  }
}
