// Metadata of the raw lake as analytics sees it: processes, streams and blocks read from the
// PostgreSQL data-lake tables, with exact 64-bit ticks and nanosecond timestamps.
import type { SqlExecutor } from '@micromegas/lake';
import { parsePropertiesLiteral } from '@micromegas/lake';
import { decodeUdtList, type UserDefinedType } from '@micromegas/transit';
import { formatTimestampNanos, parseTimestampNanos, type Nanos } from './time.ts';

export interface ProcessMeta {
  processId: string;
  exe: string;
  username: string;
  realname: string;
  computer: string;
  distro: string;
  cpuBrand: string;
  tscFrequency: bigint;
  startTimeNs: Nanos;
  startTicks: bigint;
  insertTimeNs: Nanos;
  parentProcessId: string | null;
  properties: Map<string, string>;
}

export interface StreamMeta {
  streamId: string;
  processId: string;
  dependenciesMetadata: UserDefinedType[];
  objectsMetadata: UserDefinedType[];
  /** The CBOR bytes as stored (the `blocks` view exposes them). */
  dependenciesMetadataBytes: Uint8Array;
  objectsMetadataBytes: Uint8Array;
  tags: string[];
  properties: Map<string, string>;
  format: string;
  insertTimeNs: Nanos;
}

export interface BlockMeta {
  blockId: string;
  streamId: string;
  processId: string;
  beginTimeNs: Nanos;
  /** Relative to the process's start ticks. */
  beginTicks: bigint;
  endTimeNs: Nanos;
  endTicks: bigint;
  nbObjects: number;
  objectOffset: bigint;
  payloadSize: bigint;
  insertTimeNs: Nanos;
}

/** A block with the stream and process it belongs to (one row of the `blocks` view). */
export interface BlockWithContext {
  block: BlockMeta;
  stream: StreamMeta;
  process: ProcessMeta;
}

export function propertiesFromLiteral(text: string | null | undefined): Map<string, string> {
  const map = new Map<string, string>();
  for (const { key, value } of parsePropertiesLiteral(text)) if (value !== null) map.set(key, value);
  return map;
}

type Row = Record<string, unknown>;

const str = (v: unknown): string => (v === null || v === undefined ? '' : String(v));
const big = (v: unknown): bigint => BigInt(v as string | number);
const ts = (v: unknown): Nanos => parseTimestampNanos(String(v));

export function processFromRow(r: Row, prefix = ''): ProcessMeta {
  const p = (k: string) => r[prefix + k];
  return {
    processId: str(p('process_id')),
    exe: str(p('exe')),
    username: str(p('username')),
    realname: str(p('realname')),
    computer: str(p('computer')),
    distro: str(p('distro')),
    cpuBrand: str(p('cpu_brand')),
    tscFrequency: big(p('tsc_frequency')),
    startTimeNs: ts(p('start_time')),
    startTicks: big(p('start_ticks')),
    insertTimeNs: ts(p('insert_time')),
    parentProcessId: p('parent_process_id') === null || p('parent_process_id') === undefined ? null : str(p('parent_process_id')),
    properties: propertiesFromLiteral(p('properties') as string | null),
  };
}

export function streamFromRow(r: Row, prefix = ''): StreamMeta {
  const p = (k: string) => r[prefix + k];
  const deps = (p('dependencies_metadata') as Uint8Array | null) ?? new Uint8Array();
  const objs = (p('objects_metadata') as Uint8Array | null) ?? new Uint8Array();
  return {
    streamId: str(p('stream_id')),
    processId: str(p('process_id')),
    dependenciesMetadata: deps.length ? decodeUdtList(deps) : [],
    objectsMetadata: objs.length ? decodeUdtList(objs) : [],
    dependenciesMetadataBytes: deps,
    objectsMetadataBytes: objs,
    tags: (p('tags') as string[] | null) ?? [],
    properties: propertiesFromLiteral(p('properties') as string | null),
    format: str(p('format')) || 'micromegas-transit',
    insertTimeNs: ts(p('insert_time')),
  };
}

export function blockFromRow(r: Row, prefix = ''): BlockMeta {
  const p = (k: string) => r[prefix + k];
  return {
    blockId: str(p('block_id')),
    streamId: str(p('stream_id')),
    processId: str(p('process_id')),
    beginTimeNs: ts(p('begin_time')),
    beginTicks: big(p('begin_ticks')),
    endTimeNs: ts(p('end_time')),
    endTicks: big(p('end_ticks')),
    nbObjects: Number(p('nb_objects')),
    objectOffset: big(p('object_offset')),
    payloadSize: big(p('payload_size')),
    insertTimeNs: ts(p('insert_time')),
  };
}

const PROCESS_COLUMNS = ['process_id', 'exe', 'username', 'realname', 'computer', 'distro', 'cpu_brand', 'tsc_frequency', 'start_time', 'start_ticks', 'insert_time', 'parent_process_id', 'properties'];
const STREAM_COLUMNS = ['stream_id', 'process_id', 'dependencies_metadata', 'objects_metadata', 'tags', 'properties', 'insert_time', 'format'];
const BLOCK_COLUMNS = ['block_id', 'stream_id', 'process_id', 'begin_time', 'begin_ticks', 'end_time', 'end_ticks', 'nb_objects', 'object_offset', 'payload_size', 'insert_time'];

const select = (alias: string, prefix: string, cols: string[]) =>
  cols.map((c) => `${alias}.${c}${c.endsWith('_id') ? '::text' : c === 'properties' ? '::text' : ''} AS "${prefix}${c}"`).join(', ');

/** The SELECT list of a block row (alias b), as blockFromRow reads it with prefix 'b.'. */
export const BLOCK_SELECT = select('b', 'b.', BLOCK_COLUMNS);

export async function findProcess(db: SqlExecutor, processId: string): Promise<ProcessMeta | undefined> {
  const { rows } = await db.query<Row>(`SELECT ${PROCESS_COLUMNS.map((c) => `${c}${c.endsWith('_id') || c === 'properties' ? '::text' : ''} AS ${c}`).join(', ')} FROM processes WHERE process_id = $1`, [processId]);
  return rows[0] ? processFromRow(rows[0]) : undefined;
}

export async function findStream(db: SqlExecutor, streamId: string): Promise<StreamMeta | undefined> {
  const { rows } = await db.query<Row>(`SELECT ${STREAM_COLUMNS.map((c) => `${c}${c.endsWith('_id') || c === 'properties' ? '::text' : ''} AS ${c}`).join(', ')} FROM streams WHERE stream_id = $1`, [streamId]);
  return rows[0] ? streamFromRow(rows[0]) : undefined;
}

export interface ThreadStream {
  streamId: string;
  properties: Map<string, string>;
}

/**
 * The process's thread (`cpu`) streams, ordered by stream id; with a range, only those with a block
 * that began before its end and was inserted after its start (as upstream lists them from `blocks`).
 */
export async function findThreadStreams(db: SqlExecutor, processId: string, range?: { begin: Nanos; end: Nanos }): Promise<ThreadStream[]> {
  const params: unknown[] = [processId];
  let inRange = '';
  if (range) {
    params.push(formatTimestampNanos(range.end), formatTimestampNanos(range.begin));
    inRange = 'AND b.begin_time <= $2 AND b.insert_time >= $3';
  }
  const { rows } = await db.query<{ stream_id: string; properties: string | null }>(
    `SELECT s.stream_id::text AS stream_id, s.properties::text AS properties FROM streams s
      WHERE s.process_id = $1 AND 'cpu' = ANY(s.tags)
        AND EXISTS (SELECT 1 FROM blocks b WHERE b.stream_id = s.stream_id ${inRange})
      ORDER BY s.stream_id`,
    params,
  );
  return rows.map((r) => ({ streamId: r.stream_id, properties: propertiesFromLiteral(r.properties) }));
}

const threadProperty = (t: ThreadStream, key: string) => [...t.properties].find(([k]) => k.toLowerCase() === key)?.[1] ?? '';

/** "name-id", else the id, else the stream id (upstream process_streams.rs). */
export function threadDisplayName(t: ThreadStream): string {
  const name = threadProperty(t, 'thread-name');
  const id = threadProperty(t, 'thread-id') || t.streamId;
  return name ? `${name}-${id}` : id;
}

/** The numeric thread id property truncated to i32, 0 when absent or not a number (as upstream). */
export function threadNumericId(t: ThreadStream): number {
  const text = threadProperty(t, 'thread-id');
  if (!/^[+-]?\d+$/.test(text)) return 0;
  return Number(BigInt.asIntN(32, BigInt(text)));
}
