// OTLP → data lake, as upstream's otel-ingestion: one block per Resource{Logs,Metrics,Spans}, ids by
// uuidv5 (process from 31 resource attributes, stream from process+signal, block from the payload
// bytes), process/stream rows derived from the resource, payload = CBOR {dependencies: empty,
// objects: the Resource* protobuf bytes} (not LZ4-compressed). Rows and objects go through the
// IngestionService, the same path as the native insert_* routes.
import {
  OtlpDecodeError,
  OWNER_KEYS,
  START_KEYS,
  anyValueToString,
  decodeResource,
  findAttribute,
  otelBlockId,
  otelProcessId,
  otelStreamId,
  scanExportRequest,
  type KeyValue,
  type ScannedResource,
  type Signal,
} from '@micromegas/otlp';
import { BadRequestError } from './errors.ts';
import type { IngestionService, ProcessRow } from './service.ts';
import { toPgTimestamp } from './timestamp.ts';

export const OTLP_FORMATS: Record<Signal, string> = {
  logs: 'otlp/v1/logs',
  metrics: 'otlp/v1/metrics',
  traces: 'otlp/v1/traces',
};
export const OTLP_TAGS: Record<Signal, string> = { logs: 'log', metrics: 'metrics', traces: 'trace' };
/** OTLP times are Unix nanoseconds: ticks are nanoseconds. */
export const OTLP_TICKS_PER_SECOND = 1_000_000_000n;

const EMPTY_CBOR_ARRAY = Uint8Array.of(0x80);
const EMPTY = new Uint8Array(0);
const NS_PER_S = 1_000_000_000n;
const CACHE_LIMIT = 10_000;

/** Unix ns → RFC 3339 text with microseconds (sqlx truncates chrono's nanoseconds the same way). */
export function nsToPgTimestamp(ns: bigint): string {
  let secs = ns / NS_PER_S;
  let frac = ns % NS_PER_S;
  if (frac < 0n) {
    frac += NS_PER_S;
    secs -= 1n;
  }
  const iso = new Date(Number(secs) * 1000).toISOString(); // YYYY-MM-DDTHH:MM:SS.000Z
  return `${iso.slice(0, 19)}.${(frac / 1000n).toString().padStart(6, '0')}+00:00`;
}

/** RFC 3339 text → Unix ns, or null when it is not a valid RFC 3339 date-time. */
export function rfc3339ToNs(text: string): bigint | null {
  try {
    toPgTimestamp(text, 'process.creation.time');
  } catch {
    return null;
  }
  const m = /^(.{19})(?:\.(\d{1,9}))?(.*)$/.exec(text)!;
  const ms = Date.parse(`${m[1]}${m[3]}`.replace(/^(.{10})[ t]/, '$1T').replace(/z$/, 'Z'));
  if (Number.isNaN(ms)) return null;
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0') || '0');
}

function attr(attrs: readonly KeyValue[], key: string): string {
  const v = findAttribute(attrs, key);
  return v === undefined ? '' : anyValueToString(v);
}

function firstOf(attrs: readonly KeyValue[], keys: string[]): string {
  for (const k of keys) {
    const s = attr(attrs, k);
    if (s !== '') return s;
  }
  return '';
}

/** The processes row upstream derives from a resource (ProcessFromResource::build). */
export function processRowFromResource(processId: string, attrs: readonly KeyValue[], fallbackStartNs: bigint): ProcessRow {
  const name = attr(attrs, 'service.name');
  const ns = attr(attrs, 'service.namespace');
  const owner = firstOf(attrs, OWNER_KEYS);
  const startText = findAttribute(attrs, START_KEYS[0]!) ?? findAttribute(attrs, START_KEYS[1]!);
  const parsed = startText === undefined ? null : rfc3339ToNs(anyValueToString(startText));
  const startNs = parsed ?? fallbackStartNs;
  return {
    processId,
    exe: ns === '' ? name : `${ns}/${name}`,
    username: owner,
    realname: owner,
    computer: attr(attrs, 'host.name'),
    distro: attr(attrs, 'os.description'),
    cpuBrand: attr(attrs, 'host.cpu.model.name'),
    tscFrequency: OTLP_TICKS_PER_SECOND,
    startTime: nsToPgTimestamp(startNs),
    startTicks: startNs,
    parentProcessId: null,
    properties: attrs.map((kv) => [`otel.resource.${kv.key}`, anyValueToString(kv.value)] as [string, string]),
  };
}

interface ResourceIdentity {
  attrs: KeyValue[];
  processId: string;
}

function remember<K, V>(map: Map<K, V>, key: K, value: V): void {
  if (map.size >= CACHE_LIMIT) map.clear();
  map.set(key, value);
}

export interface OtlpIngestResult {
  blocks: number;
  records: number;
}

export class OtlpIngestor {
  // Resource bytes repeat on every export of a process: decode and hash them once.
  private readonly identities = new Map<string, ResourceIdentity>();
  // Rows known to be committed; re-inserting them is a no-op (ON CONFLICT DO NOTHING) we can skip.
  private readonly knownRows = new Map<string, true>();

  constructor(readonly service: IngestionService) {}

  /**
   * Splits a protobuf Export*ServiceRequest and stores one block per resource. `extraHashInput`
   * (the webhook's canonical headers) is folded into every block_id ahead of the payload.
   */
  async ingest(signal: Signal, request: Uint8Array, audience?: string, extraHashInput?: Uint8Array): Promise<OtlpIngestResult> {
    let scanned: ScannedResource[];
    try {
      scanned = scanExportRequest(signal, request);
    } catch (err) {
      if (err instanceof OtlpDecodeError) throw new BadRequestError(err.message);
      throw err;
    }
    let records = 0;
    // In order, like upstream: a failure leaves earlier resources stored and the retry dedups them.
    for (const r of scanned) {
      await this.storeResource(signal, r, audience, extraHashInput);
      records += r.count;
    }
    return { blocks: scanned.length, records };
  }

  private identity(resource: Uint8Array | null, audience: string | undefined): ResourceIdentity {
    const key = `${audience ?? ''}\x1F${resource === null ? '' : Buffer.from(resource.buffer, resource.byteOffset, resource.byteLength).toString('latin1')}`;
    let id = this.identities.get(key);
    if (id === undefined) {
      let attrs: KeyValue[] = [];
      if (resource !== null) {
        try {
          attrs = decodeResource(resource).attributes;
        } catch (err) {
          if (err instanceof OtlpDecodeError) throw new BadRequestError(err.message);
          throw err;
        }
      }
      id = { attrs, processId: otelProcessId(attrs, audience) };
      remember(this.identities, key, id);
    }
    return id;
  }

  private async storeResource(signal: Signal, r: ScannedResource, audience: string | undefined, extra: Uint8Array | undefined): Promise<void> {
    const { attrs, processId } = this.identity(r.resource, audience);
    const streamId = otelStreamId(processId, signal);
    const blockId = otelBlockId(r.payload, audience, extra);
    let beginNs = r.minNs;
    let endNs = r.maxNs;
    if (beginNs === null || endNs === null) beginNs = endNs = BigInt(Date.now()) * 1_000_000n;
    if (!this.knownRows.has(processId)) {
      await this.service.writeProcessRow(processRowFromResource(processId, attrs, beginNs));
      remember(this.knownRows, processId, true);
    }
    if (!this.knownRows.has(streamId)) {
      await this.service.writeStreamRow({
        streamId,
        processId,
        dependenciesMetadata: EMPTY_CBOR_ARRAY,
        objectsMetadata: EMPTY_CBOR_ARRAY,
        tags: [OTLP_TAGS[signal]],
        format: OTLP_FORMATS[signal],
      });
      remember(this.knownRows, streamId, true);
    }
    await this.service.writeBlock(
      {
        blockId,
        streamId,
        processId,
        beginTime: nsToPgTimestamp(beginNs),
        beginTicks: beginNs,
        endTime: nsToPgTimestamp(endNs),
        endTicks: endNs,
        nbObjects: r.count,
      },
      { dependencies: EMPTY, objects: r.payload },
    );
  }
}
