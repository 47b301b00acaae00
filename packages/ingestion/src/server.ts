// The ingestion HTTP server: upstream's native, OTLP/HTTP, webhook and Firehose routes, health and readiness,
// bearer-token auth.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Lake } from '@micromegas/lake';
import type { Keyring } from './auth.ts';
import { BadRequestError, UnavailableError } from './errors.ts';
import { IngestionService } from './service.ts';
import { OtlpIngestor } from './otlp_ingest.ts';
import { OTLP_HTTP_ROUTES, handleOtlpHttp } from './otlp_http.ts';
import { WEBHOOK_ROUTE, handleWebhook } from './webhook.ts';
import { firehoseAuthorized, handleFirehose, type FirehoseRecordsIngest } from './firehose_common.ts';
import { FIREHOSE_METRICS_ROUTE, ingestFirehoseMetrics } from './firehose.ts';
import { FIREHOSE_CLOUDWATCH_LOGS_ROUTE, ingestCloudWatchLogsFirehose } from './firehose_cloudwatch_logs.ts';
import { readRequestBody } from './request_body.ts';

export const DEFAULT_INGESTION_PORT = 9000;
/** Upstream accepts bodies up to 100 MiB; a legitimate large block must never get a 413. */
export const MAX_BODY_BYTES = 100 * 1024 * 1024;

export interface IngestionServerOptions {
  lake: Lake;
  host?: string;
  port?: number;
  /** Required credentials; null or undefined disables authentication. */
  keyring?: Keyring | null;
  maxBodyBytes?: number;
  /** Where one-line diagnostics go (default: stderr). */
  log?: (line: string) => void;
  /** How long close() waits for requests in flight before cutting connections. */
  drainMs?: number;
}

export interface IngestionServer {
  readonly url: string;
  readonly port: number;
  readonly service: IngestionService;
  /** Stores OTLP requests; shared with the OTLP/gRPC server when one runs. */
  readonly otlp: OtlpIngestor;
  close(): Promise<void>;
}

type Route = (service: IngestionService, body: Uint8Array) => Promise<void>;

const NATIVE_ROUTES: Record<string, Route> = {
  '/ingestion/insert_process': (s, b) => s.insertProcess(b),
  '/ingestion/insert_stream': (s, b) => s.insertStream(b),
  '/ingestion/insert_block': (s, b) => s.insertBlock(b),
};

/** Firehose HTTP endpoint deliveries: their own credential header and JSON acks. */
const FIREHOSE_ROUTES: Record<string, { signal: 'metrics' | 'logs'; ingest: FirehoseRecordsIngest }> = {
  [FIREHOSE_METRICS_ROUTE]: { signal: 'metrics', ingest: ingestFirehoseMetrics },
  [FIREHOSE_CLOUDWATCH_LOGS_ROUTE]: { signal: 'logs', ingest: ingestCloudWatchLogsFirehose },
};

class PayloadTooLargeError extends Error {}

const readBody = (req: IncomingMessage, limit: number): Promise<Uint8Array> => readRequestBody(req, limit, () => new PayloadTooLargeError());

function reply(res: ServerResponse, status: number, text = '', extraHeaders: Record<string, string> = {}): void {
  if (res.headersSent) return;
  const body = text ? `${text}\n` : '';
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...extraHeaders,
  });
  res.end(body);
}

/** Collapses `//ingestion/...` (a base URL with a trailing slash) and drops the query string. */
function routePath(url: string | undefined): string {
  const path = (url ?? '/').split('?')[0]!;
  return path.replace(/\/{2,}/g, '/');
}

export async function startIngestionServer(options: IngestionServerOptions): Promise<IngestionServer> {
  const service = new IngestionService(options.lake);
  const otlp = new OtlpIngestor(service);
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const limit = options.maxBodyBytes ?? MAX_BODY_BYTES;
  const keyring = options.keyring ?? null;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = routePath(req.url);
    if (path === '/health') return req.method === 'GET' || req.method === 'HEAD' ? reply(res, 200, 'ok') : reply(res, 405);
    if (path === '/ready') {
      if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405);
      try {
        await service.checkReady();
        return reply(res, 200, 'ready');
      } catch (err) {
        return reply(res, 503, `not ready: ${(err as Error).message}`);
      }
    }
    const route = NATIVE_ROUTES[path];
    const otlpSignal = OTLP_HTTP_ROUTES[path];
    const firehose = FIREHOSE_ROUTES[path];
    const webhook = path === WEBHOOK_ROUTE;
    if (!route && !otlpSignal && !firehose && !webhook) return reply(res, 404, 'Not found');
    if (req.method !== 'POST') return reply(res, 405, 'Method not allowed', { allow: 'POST' });
    if (firehose) {
      // Firehose cannot send Authorization: its X-Amz-Firehose-Access-Key is checked as a bearer token.
      if (!firehoseAuthorized(req, res, keyring)) return;
      return handleFirehose(req, res, firehose.signal, firehose.ingest, { ingestor: otlp, log });
    }
    if (keyring && keyring.authenticate(req.headers.authorization) === undefined) {
      req.resume();
      return reply(res, 401, 'Invalid token');
    }
    if (otlpSignal) return handleOtlpHttp(req, res, otlpSignal, { ingestor: otlp, log });
    if (webhook) return handleWebhook(req, res, { ingestor: otlp, log });
    let body: Uint8Array;
    try {
      body = await readBody(req, limit);
    } catch (err) {
      if (err instanceof PayloadTooLargeError) {
        return reply(res, 413, `Payload too large: the limit is ${limit} bytes`, { connection: 'close' });
      }
      throw err;
    }
    try {
      await route!(service, body);
      reply(res, 200);
    } catch (err) {
      if (err instanceof BadRequestError) {
        service.stats.badRequests++;
        log(`ingestion: 400 ${path}: ${err.message}`);
        return reply(res, 400, `Bad request: ${err.message}`);
      }
      if (err instanceof UnavailableError) {
        log(`ingestion: 503 ${path}: ${err.message}`);
        return reply(res, 503, 'Service unavailable: storage or database failure, retry later', { 'retry-after': '1' });
      }
      throw err;
    }
  }

  const server: Server = createServer({ requestTimeout: 300_000 }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      // A bug of ours, not the client's: answer 500 and keep serving.
      log(`ingestion: 500 ${req.method} ${req.url}: ${err instanceof Error ? err.stack : String(err)}`);
      reply(res, 500, 'Internal server error');
    });
  });
  server.on('clientError', (err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy(err);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? DEFAULT_INGESTION_PORT, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    service,
    otlp,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), options.drainMs ?? 25_000);
      await closed;
      clearTimeout(timer);
    },
  };
}
