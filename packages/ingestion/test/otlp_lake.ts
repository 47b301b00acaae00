// Reading back what the OTLP endpoints stored: rows in PostgreSQL/PGlite and payloads in the object store.
import { blockObjectKey, type Lake } from '@micromegas/lake';
import { decodeBlockPayload } from '@micromegas/transit';
import type { KeyValue, Signal } from '@micromegas/otlp';

export interface BlockInfo {
  block_id: string;
  stream_id: string;
  process_id: string;
  begin_ticks: string;
  end_ticks: string;
  begin_time: string;
  end_time: string;
  nb_objects: number;
  object_offset: string;
  payload_size: string;
}

export async function blocksOf(lake: Lake, processId: string, signal: Signal): Promise<BlockInfo[]> {
  const { rows } = await lake.db.query<BlockInfo>(
    `SELECT b.block_id::text, b.stream_id::text, b.process_id::text, b.begin_ticks::text, b.end_ticks::text,
            to_char(b.begin_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS begin_time,
            to_char(b.end_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS end_time,
            b.nb_objects, b.object_offset::text, b.payload_size::text
       FROM blocks b JOIN streams s ON s.stream_id = b.stream_id
      WHERE b.process_id = $1 AND s.format = $2 ORDER BY b.begin_ticks`,
    [processId, `otlp/v1/${signal}`],
  );
  return rows.map((r) => ({ ...r, nb_objects: Number(r.nb_objects) }));
}

export async function processRow(lake: Lake, processId: string) {
  const { rows } = await lake.db.query<{
    exe: string; username: string; realname: string; computer: string; distro: string; cpu_brand: string;
    tsc_frequency: string; start_ticks: string; start_time: string; parent_process_id: string | null; props: string[] | string;
  }>(
    `SELECT exe, username, realname, computer, distro, cpu_brand, tsc_frequency::text, start_ticks::text,
            to_char(start_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS start_time, parent_process_id::text,
            ARRAY(SELECT (p).key || '=' || (p).value FROM unnest(properties) AS p) AS props
       FROM processes WHERE process_id = $1`,
    [processId],
  );
  return rows[0];
}

export async function streamRow(lake: Lake, streamId: string) {
  const { rows } = await lake.db.query<{ process_id: string; tags: string[] | string; format: string; deps: string; objs: string; nprops: number }>(
    `SELECT process_id::text, tags, format, encode(dependencies_metadata, 'hex') AS deps, encode(objects_metadata, 'hex') AS objs,
            cardinality(properties) AS nprops
       FROM streams WHERE stream_id = $1`,
    [streamId],
  );
  return rows[0];
}

/** The protobuf Resource* bytes stored for a block, checking the CBOR envelope (no LZ4, no deps). */
export async function storedObjects(lake: Lake, b: BlockInfo): Promise<Uint8Array> {
  const key = blockObjectKey({ processId: b.process_id, streamId: b.stream_id, blockId: b.block_id });
  const bytes = await lake.blobs.get(key);
  if (bytes === undefined || bytes === null) throw new Error(`missing object ${key}`);
  if (String(bytes.length) !== b.payload_size) throw new Error(`payload_size ${b.payload_size} != ${bytes.length}`);
  const payload = decodeBlockPayload(bytes);
  if (payload.dependencies.length !== 0) throw new Error('OTLP blocks carry no dependencies');
  return payload.objects;
}

/** KeyValues as the JS SDK exports attributes: strings, integers as int64. */
export function kvs(attrs: Record<string, string | number>): KeyValue[] {
  return Object.entries(attrs).map(([key, v]) => ({
    key,
    value: typeof v === 'string' ? { stringValue: v } : { intValue: BigInt(v) },
  }));
}

/** PG arrays come back as JS arrays from node-postgres and PGlite; be lenient about text form. */
export function asArray(v: string[] | string): string[] {
  if (Array.isArray(v)) return v;
  return v.replace(/^\{|\}$/g, '').split(',').filter((s) => s !== '').map((s) => s.replace(/^"|"$/g, ''));
}
