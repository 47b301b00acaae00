// OTLP/HTTP (upstream rust/public/src/servers/otlp.rs): protobuf or JSON bodies, optional gzip,
// 20 MiB on the wire and 300 MiB decompressed, responses and google.rpc.Status errors in the
// request's encoding, Retry-After on 503.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { OtlpDecodeError, Types, encodeRpcStatus, jsonToProtobuf, type Signal } from '@micromegas/otlp';
import { BadRequestError, UnavailableError } from './errors.ts';
import type { OtlpIngestor } from './otlp_ingest.ts';
import { readRequestBody } from './request_body.ts';

export const OTLP_WIRE_LIMIT_BYTES = 20 * 1024 * 1024;
export const OTLP_DECOMPRESSED_LIMIT_BYTES = 300 * 1024 * 1024;
export const OTLP_RETRY_AFTER_SECONDS = 30;

/** Both upstream's paths and the OTLP standard ones. */
export const OTLP_HTTP_ROUTES: Record<string, Signal> = {
  '/ingestion/otlp/v1/logs': 'logs',
  '/ingestion/otlp/v1/metrics': 'metrics',
  '/ingestion/otlp/v1/traces': 'traces',
  '/v1/logs': 'logs',
  '/v1/metrics': 'metrics',
  '/v1/traces': 'traces',
};

const REQUEST_TYPES = {
  logs: Types.ExportLogsServiceRequest,
  metrics: Types.ExportMetricsServiceRequest,
  traces: Types.ExportTraceServiceRequest,
};

// gRPC status codes used in google.rpc.Status bodies.
const INVALID_ARGUMENT = 3;
const RESOURCE_EXHAUSTED = 8;
const UNAVAILABLE = 14;
const INTERNAL = 13;

type Encoding = 'protobuf' | 'json';

const gunzipAsync = promisify(gunzip) as (buf: Uint8Array, opts: { maxOutputLength: number }) => Promise<Buffer>;

/** A failure answered before the body is decoded (413, 415, bad gzip): HTTP status + gRPC code. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

function encodingOf(contentType: string | undefined): Encoding | null {
  const media = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (media === 'application/x-protobuf') return 'protobuf';
  if (media === 'application/json') return 'json';
  return null;
}

function send(res: ServerResponse, status: number, encoding: Encoding, body: Uint8Array | string, extra: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, {
    'content-type': encoding === 'json' ? 'application/json' : 'application/x-protobuf',
    'content-length': typeof body === 'string' ? Buffer.byteLength(body) : body.length,
    ...extra,
  });
  res.end(body);
}

function sendStatus(res: ServerResponse, status: number, encoding: Encoding, code: number, message: string, extra: Record<string, string> = {}): void {
  const body = encoding === 'json' ? JSON.stringify({ code, message }) : encodeRpcStatus(code, message);
  send(res, status, encoding, body, extra);
}

const readBody = (req: IncomingMessage, limit: number): Promise<Buffer> =>
  readRequestBody(req, limit, () => new HttpError(413, RESOURCE_EXHAUSTED, `request body larger than ${limit} bytes`));

async function decompress(body: Buffer, contentEncoding: string | undefined): Promise<Buffer> {
  const enc = (contentEncoding ?? '').trim().toLowerCase();
  if (enc === '' || enc === 'identity') return body;
  if (enc !== 'gzip' && enc !== 'x-gzip') {
    throw new HttpError(415, INVALID_ARGUMENT, `unsupported Content-Encoding ${JSON.stringify(enc)} (gzip or none)`);
  }
  try {
    return await gunzipAsync(body, { maxOutputLength: OTLP_DECOMPRESSED_LIMIT_BYTES });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new HttpError(413, RESOURCE_EXHAUSTED, `decompressed body larger than ${OTLP_DECOMPRESSED_LIMIT_BYTES} bytes`);
    }
    throw new HttpError(400, INVALID_ARGUMENT, `invalid gzip body: ${(err as Error).message}`);
  }
}

/**
 * Reads a body under the OTLP limits (wire, then decompressed) and gunzips it when
 * Content-Encoding says so; shared by the webhook and Firehose routes. Throws HttpError.
 */
export async function readIngestionBody(req: IncomingMessage, wireLimit = OTLP_WIRE_LIMIT_BYTES): Promise<Buffer> {
  const raw = await readBody(req, wireLimit);
  return decompress(raw, req.headers['content-encoding']);
}

export interface OtlpHttpOptions {
  ingestor: OtlpIngestor;
  log: (line: string) => void;
  wireLimit?: number;
}

/** Handles one authenticated POST on an OTLP path. Never throws. */
export async function handleOtlpHttp(req: IncomingMessage, res: ServerResponse, signal: Signal, opts: OtlpHttpOptions): Promise<void> {
  const encoding = encodingOf(req.headers['content-type']);
  if (encoding === null) {
    req.resume();
    return sendStatus(res, 415, 'protobuf', INVALID_ARGUMENT, 'Content-Type must be application/x-protobuf or application/json');
  }
  try {
    const body = await readIngestionBody(req, opts.wireLimit);
    let request: Uint8Array;
    if (encoding === 'json') {
      try {
        request = jsonToProtobuf(REQUEST_TYPES[signal], body);
      } catch (err) {
        if (err instanceof OtlpDecodeError) throw new BadRequestError(err.message);
        throw err;
      }
    } else {
      request = body;
    }
    await opts.ingestor.ingest(signal, request);
    // An empty Export*ServiceResponse: zero bytes in protobuf, {} in JSON.
    send(res, 200, encoding, encoding === 'json' ? '{}' : new Uint8Array(0));
  } catch (err) {
    if (err instanceof HttpError) {
      opts.log(`ingestion: ${err.status} otlp ${signal}: ${err.message}`);
      const extra: Record<string, string> = err.status === 413 ? { connection: 'close' } : {};
      return sendStatus(res, err.status, encoding, err.code, err.message, extra);
    }
    if (err instanceof BadRequestError) {
      opts.ingestor.service.stats.badRequests++;
      opts.log(`ingestion: 400 otlp ${signal}: ${err.message}`);
      return sendStatus(res, 400, encoding, INVALID_ARGUMENT, err.message);
    }
    if (err instanceof UnavailableError) {
      opts.log(`ingestion: 503 otlp ${signal}: ${err.message}`);
      return sendStatus(res, 503, encoding, UNAVAILABLE, 'storage or database failure, retry later', {
        'retry-after': String(OTLP_RETRY_AFTER_SECONDS),
      });
    }
    opts.log(`ingestion: 500 otlp ${signal}: ${err instanceof Error ? err.stack : String(err)}`);
    return sendStatus(res, 500, encoding, INTERNAL, 'internal server error');
  }
}
