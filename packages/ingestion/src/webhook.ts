// POST /ingestion/webhook (upstream rust/public/src/servers/webhook.rs, handler::ingest_webhook): any
// webhook producer (GitLab, GitHub, ...) can report without server configuration. Three headers
// describe the source (X-Micromegas-Service-Name → service.name, -Service-Namespace →
// service.namespace, -Target → scope name); the body becomes the string body of one OTLP log record
// (times 0, severity INFO) stored through the OTLP logs path. block_id also hashes the whole header
// set, so two deliveries with the same body but e.g. a different delivery-id header are both kept.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { encodeExportLogsRequest, type KeyValue } from '@micromegas/otlp';
import { BadRequestError, UnavailableError } from './errors.ts';
import { HttpError, OTLP_RETRY_AFTER_SECONDS, readIngestionBody } from './otlp_http.ts';
import type { OtlpIngestor } from './otlp_ingest.ts';

export const WEBHOOK_ROUTE = '/ingestion/webhook';
const HEADER_SERVICE_NAME = 'x-micromegas-service-name';
const HEADER_SERVICE_NAMESPACE = 'x-micromegas-service-namespace';
const HEADER_TARGET = 'x-micromegas-target';
const SEVERITY_INFO = 9;

// Node decodes header bytes as latin1; a value is usable text only when it is visible ASCII (or tab).
const VISIBLE_ASCII = /^[\t\x20-\x7e]*$/;

/** The first value of a header when it is usable text (repeated headers: the first one, as upstream). */
function textHeader(req: IncomingMessage, name: string): string | undefined {
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === name) return VISIBLE_ASCII.test(raw[i + 1]!) ? raw[i + 1] : undefined;
  }
  return undefined;
}

/**
 * The request headers as stable bytes: names lower-cased, pairs sorted by (name, value bytes),
 * each written `name\0value\0`. The wire order is irrelevant (proxies reorder headers). A gzip
 * body's Content-Encoding and Content-Length are left out, as upstream's decompression layer drops them.
 */
export function canonicalHeaderBytes(rawHeaders: readonly string[], decompressed: boolean): Buffer {
  const pairs: [Buffer, Buffer][] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    if (decompressed && (name === 'content-encoding' || name === 'content-length')) continue;
    pairs.push([Buffer.from(name, 'latin1'), Buffer.from(rawHeaders[i + 1]!, 'latin1')]);
  }
  pairs.sort((a, b) => Buffer.compare(a[0], b[0]) || Buffer.compare(a[1], b[1]));
  const parts: Buffer[] = [];
  const NUL = Buffer.of(0);
  for (const [n, v] of pairs) parts.push(n, NUL, v, NUL);
  return Buffer.concat(parts);
}

/** The synthetic ExportLogsServiceRequest of one delivery (protobuf bytes). */
export function webhookRequest(resourceAttrs: KeyValue[], target: string, body: Uint8Array): Uint8Array {
  // Invalid UTF-8 becomes U+FFFD (no header names another codec); a BOM is kept as sent.
  const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(body);
  return encodeExportLogsRequest({
    resourceLogs: [
      {
        resource: { attributes: resourceAttrs },
        scopeLogs: [
          {
            scope: { name: target },
            // Times stay 0 so a retried delivery encodes to the same bytes (same block_id); the
            // block's time range and the log view fall back to the arrival time.
            logRecords: [{ severityNumber: SEVERITY_INFO, body: { stringValue: text } }],
          },
        ],
      },
    ],
  });
}

function sendText(res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  if (res.headersSent) return;
  const headers: Record<string, string | number> = { 'content-length': Buffer.byteLength(text), ...extra };
  if (text !== '') headers['content-type'] = 'text/plain; charset=utf-8';
  res.writeHead(status, headers);
  res.end(text);
}

export interface WebhookOptions {
  ingestor: OtlpIngestor;
  log: (line: string) => void;
  wireLimit?: number;
}

/** Handles one authenticated POST /ingestion/webhook: 200 with an empty body when stored. Never throws. */
export async function handleWebhook(req: IncomingMessage, res: ServerResponse, opts: WebhookOptions): Promise<void> {
  try {
    const body = await readIngestionBody(req, opts.wireLimit);
    if (body.length === 0) throw new BadRequestError('empty body');
    const attrs: KeyValue[] = [];
    const name = textHeader(req, HEADER_SERVICE_NAME);
    if (name !== undefined) attrs.push({ key: 'service.name', value: { stringValue: name } });
    const namespace = textHeader(req, HEADER_SERVICE_NAMESPACE);
    if (namespace !== undefined) attrs.push({ key: 'service.namespace', value: { stringValue: namespace } });
    const target = textHeader(req, HEADER_TARGET) ?? '';
    const enc = (req.headers['content-encoding'] ?? '').trim().toLowerCase();
    const headerBytes = canonicalHeaderBytes(req.rawHeaders, enc === 'gzip' || enc === 'x-gzip');
    await opts.ingestor.ingest('logs', webhookRequest(attrs, target, body), undefined, headerBytes);
    sendText(res, 200, '');
  } catch (err) {
    if (err instanceof HttpError) {
      opts.log(`ingestion: ${err.status} webhook: ${err.message}`);
      return sendText(res, err.status, err.message, err.status === 413 ? { connection: 'close' } : {});
    }
    if (err instanceof BadRequestError) {
      opts.ingestor.service.stats.badRequests++;
      opts.log(`ingestion: 400 webhook: ${err.message}`);
      return sendText(res, 400, err.message === 'empty body' ? err.message : `parse error (logs): ${err.message}`);
    }
    if (err instanceof UnavailableError) {
      opts.log(`ingestion: 503 webhook: ${err.message}`);
      return sendText(res, 503, 'database or storage error (logs), retry later', { 'retry-after': String(OTLP_RETRY_AFTER_SECONDS) });
    }
    opts.log(`ingestion: 500 webhook: ${err instanceof Error ? err.stack : String(err)}`);
    return sendText(res, 500, 'internal server error');
  }
}
