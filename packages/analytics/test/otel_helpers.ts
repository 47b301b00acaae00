// OTLP data stored exactly as the OTLP ingestion routes store it (reference ingestion-protocol.md
// §1.6): process row with tsc_frequency 1e9 and start_ticks = start time in Unix ns, one stream per
// signal (format otlp/v1/*, tag log/metrics/trace, CBOR empty-array metadata), one block per
// Resource* whose payload is CBOR {dependencies: empty, objects: protobuf Resource*}, not LZ4.
import { randomUUID } from 'node:crypto';
import { blockObjectKey, type Lake } from '@micromegas/lake';
import { encodeBlockPayload } from '@micromegas/transit';
import type { Signal } from '@micromegas/otlp';

export const msToNs = (ms: number) => BigInt(ms) * 1_000_000n;
const iso = (ns: bigint) => new Date(Number(ns / 1_000_000n)).toISOString().replace('Z', '') + String(ns % 1_000_000n).padStart(6, '0') + 'Z';

const TAGS: Record<Signal, string> = { logs: 'log', metrics: 'metrics', traces: 'trace' };

export interface OtlpService {
  processId: string;
  exe: string;
  startNs: bigint;
  streams: Partial<Record<Signal, string>>;
}

export async function insertOtlpProcess(lake: Lake, exe: string, startNs: bigint): Promise<OtlpService> {
  const processId = randomUUID();
  await lake.db.query(
    `INSERT INTO processes(process_id, exe, username, realname, computer, distro, cpu_brand, tsc_frequency, start_time, start_ticks, insert_time, parent_process_id, properties)
     VALUES ($1, $2, 'owner', 'owner', 'host-1', 'linux', 'cpu', 1000000000, $3, $4, now(), NULL, ARRAY[ROW('otel.resource.service.name', $5::text)::micromegas_property])`,
    [processId, exe, iso(startNs), startNs.toString(), exe],
  );
  return { processId, exe, startNs, streams: {} };
}

export async function insertOtlpBlock(lake: Lake, svc: OtlpService, signal: Signal, objects: Uint8Array, nbObjects: number, beginNs: bigint, endNs: bigint): Promise<string> {
  let streamId = svc.streams[signal];
  if (!streamId) {
    streamId = randomUUID();
    svc.streams[signal] = streamId;
    await lake.db.query(
      `INSERT INTO streams(stream_id, process_id, dependencies_metadata, objects_metadata, tags, properties, insert_time, format)
       VALUES ($1, $2, $3, $3, ARRAY[$4], ARRAY[]::micromegas_property[], now(), $5)`,
      [streamId, svc.processId, Uint8Array.of(0x80), TAGS[signal], `otlp/v1/${signal}`],
    );
  }
  const blockId = randomUUID();
  const payload = encodeBlockPayload({ dependencies: new Uint8Array(), objects });
  await lake.blobs.putIfAbsent(blockObjectKey({ processId: svc.processId, streamId, blockId }), payload);
  await lake.db.query(
    `INSERT INTO blocks(block_id, stream_id, process_id, begin_time, begin_ticks, end_time, end_ticks, nb_objects, object_offset, payload_size, insert_time)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, now())`,
    [blockId, streamId, svc.processId, iso(beginNs), beginNs.toString(), iso(endNs), endNs.toString(), nbObjects, payload.length],
  );
  return blockId;
}

export const kv = (key: string, v: string | number | boolean | bigint) => ({
  key,
  value: typeof v === 'string' ? { stringValue: v } : typeof v === 'boolean' ? { boolValue: v } : typeof v === 'bigint' ? { intValue: v } : { doubleValue: v },
});
