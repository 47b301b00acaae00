// Upstream's deterministic ids for OTLP data (rust/otel-ingestion identity): uuidv5 over a key
// derived from 31 resource attributes (process), process+signal (stream) and the payload bytes (block).
import { v5 as uuidv5 } from 'uuid';
import { anyValueToString, findAttribute } from './attributes.ts';
import type { KeyValue, Signal } from './types.ts';

export const NS_OTEL_PROCESS_V1 = '80a447b8-fcdd-42a6-a613-f6c8719cd5fe';
export const NS_OTEL_STREAM_V1 = 'fe93bacf-e851-4cf6-8526-05f8454b3488';
export const NS_OTEL_BLOCK_V1 = '5829a6f7-0577-4c8c-862f-cf4fdab445cc';
const SEP = '\x1F';

/** Resource attributes: KeyValue list or an already-stringified record. */
export type ResourceAttributes = readonly KeyValue[] | Readonly<Record<string, string>>;

function getter(attrs: ResourceAttributes): (key: string) => string {
  if (Array.isArray(attrs)) {
    const kvs = attrs as readonly KeyValue[];
    return (key) => {
      const v = findAttribute(kvs, key);
      return v === undefined ? '' : anyValueToString(v);
    };
  }
  const rec = attrs as Readonly<Record<string, string>>;
  return (key) => rec[key] ?? '';
}

// ASCII-only lower-casing, like Rust's to_ascii_lowercase.
function norm(s: string): string {
  return s.trim().replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

function firstNonEmpty(get: (k: string) => string, keys: string[]): string {
  for (const k of keys) {
    const s = get(k);
    if (s !== '') return s;
  }
  return '';
}

export const OWNER_KEYS = ['process.owner', 'process.user.name', 'process.real_user.name', 'user.name'];
export const START_KEYS = ['process.creation.time', 'process.start_time'];

const NORMALIZED_TAIL = [
  'os.type', 'os.version', 'os.name', 'os.description', 'os.build_id',
  'host.arch', 'host.type', 'host.image.id', 'host.image.name', 'host.image.version',
  'host.cpu.model.id', 'host.cpu.model.name', 'host.cpu.family', 'host.cpu.vendor.id',
  'host.cpu.stepping', 'host.cpu.cache.l2.size',
  'service.version', 'telemetry.sdk.name', 'telemetry.sdk.language', 'telemetry.sdk.version',
  'process.runtime.name', 'process.runtime.version', 'process.runtime.description',
];

/** The `\x1F`-joined identity key of a resource (31 fields). */
export function otelProcessKey(attrs: ResourceAttributes): string {
  const get = getter(attrs);
  const fields = [
    norm(get('host.id')),
    norm(get('host.name')),
    get('process.pid'),
    firstNonEmpty(get, START_KEYS),
    norm(get('service.namespace')),
    norm(get('service.name')),
    norm(get('service.instance.id')),
    norm(firstNonEmpty(get, OWNER_KEYS)),
    ...NORMALIZED_TAIL.map((k) => norm(get(k))),
  ];
  return fields.join(SEP);
}

/** process_id of a resource; with a write audience the namespace is salted with it first. */
export function otelProcessId(attrs: ResourceAttributes, audience?: string): string {
  const ns = audience === undefined ? NS_OTEL_PROCESS_V1 : uuidv5(audience, NS_OTEL_PROCESS_V1);
  return uuidv5(otelProcessKey(attrs), ns);
}

export function otelStreamId(processId: string, signal: Signal): string {
  return uuidv5(`${processId}${SEP}${signal}`, NS_OTEL_STREAM_V1);
}

/** block_id = uuidv5 over ["aud\x1F{audience}\x1F"] + [extra] + payload (the protobuf Resource* bytes). */
export function otelBlockId(payload: Uint8Array, audience?: string, extra?: Uint8Array): string {
  if (audience === undefined && (extra === undefined || extra.length === 0)) return uuidv5(payload, NS_OTEL_BLOCK_V1);
  const prefix = audience === undefined ? Buffer.alloc(0) : Buffer.from(`aud${SEP}${audience}${SEP}`, 'utf8');
  return uuidv5(Buffer.concat([prefix, extra ?? Buffer.alloc(0), payload]), NS_OTEL_BLOCK_V1);
}
