// The ingestion service: decodes the three native envelopes and records them in the data lake
// exactly as upstream does (rows in PostgreSQL, block payloads in the object store).
import {
  TransitFormatError,
  decodeBlock,
  decodeProcessInfo,
  decodeStreamInfo,
  encodeBlockPayload,
  encodeUdtList,
} from '@micromegas/transit';
import { blockObjectKey, checkReady, type Lake } from '@micromegas/lake';
import { BadRequestError, UnavailableError, isDataException } from './errors.ts';
import { BlockRowWriter } from './block_rows.ts';
import { toPgTimestamp } from './timestamp.ts';
import type { BlockPayload } from '@micromegas/transit';

/** A processes row computed by the server (OTLP); times are PostgreSQL timestamp text. */
export interface ProcessRow {
  processId: string;
  exe: string;
  username: string;
  realname: string;
  computer: string;
  distro: string;
  cpuBrand: string;
  tscFrequency: bigint;
  startTime: string;
  startTicks: bigint;
  parentProcessId: string | null;
  properties: [string, string][];
}

export interface StreamRow {
  streamId: string;
  processId: string;
  dependenciesMetadata: Uint8Array;
  objectsMetadata: Uint8Array;
  tags: string[];
  format: string;
}

export interface BlockRow {
  blockId: string;
  streamId: string;
  processId: string;
  beginTime: string;
  beginTicks: bigint;
  endTime: string;
  endTicks: bigint;
  nbObjects: number;
}

const RESERVED_PROPERTY_PREFIX = 'micromegas.';
const MAX_VARCHAR = 255;
const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const READY_CACHE_MS = 1000;

export interface IngestionStats {
  processes: number;
  streams: number;
  blocks: number;
  duplicateBlocks: number;
  blockBytes: number;
  badRequests: number;
  failures: number;
}

/** The object key of a block payload (re-exported: it belongs to the lake's layout). */
export { blockObjectKey };

function decodeOrReject<T>(what: string, body: Uint8Array, decode: (b: Uint8Array) => T): T {
  if (body.length === 0) throw new BadRequestError(`${what}: empty body`);
  try {
    return decode(body);
  } catch (err) {
    if (err instanceof TransitFormatError) throw new BadRequestError(`${what}: ${err.message}`);
    throw err;
  }
}

function propertyColumns(properties: Map<string, string>): [string[], string[]] {
  const keys: string[] = [];
  const values: string[] = [];
  for (const [k, v] of properties) {
    if (k.startsWith(RESERVED_PROPERTY_PREFIX)) continue;
    keys.push(k);
    values.push(v);
  }
  return [keys, values];
}

// Upstream's native path lets PostgreSQL reject an over-long value, which fails the request forever
// (clients retry a 500, then drop the process). Keeping the first 255 characters loses far less.
function varchar(s: string): string {
  if (s.length <= MAX_VARCHAR) return s;
  const chars = Array.from(s);
  return chars.length <= MAX_VARCHAR ? s : chars.slice(0, MAX_VARCHAR).join('');
}

function int64(value: bigint, field: string): string {
  if (value < I64_MIN || value > I64_MAX) throw new BadRequestError(`${field}: ${value} does not fit a signed 64-bit integer`);
  return value.toString();
}

const PROPERTIES_SQL = (keys: string, values: string) =>
  `ARRAY(SELECT ROW(k, v)::micromegas_property FROM unnest(${keys}::text[], ${values}::text[]) WITH ORDINALITY AS t(k, v, i) ORDER BY i)`;

const INSERT_PROCESS = `INSERT INTO processes VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now(), $11, ${PROPERTIES_SQL('$12', '$13')})
  ON CONFLICT (process_id) DO NOTHING`;
const INSERT_STREAM = `INSERT INTO streams (stream_id, process_id, dependencies_metadata, objects_metadata, tags, properties, insert_time, format)
  VALUES ($1, $2, $3, $4, $5, ${PROPERTIES_SQL('$6', '$7')}, now(), $8)
  ON CONFLICT (stream_id) DO NOTHING`;

export class IngestionService {
  readonly stats: IngestionStats = {
    processes: 0,
    streams: 0,
    blocks: 0,
    duplicateBlocks: 0,
    blockBytes: 0,
    badRequests: 0,
    failures: 0,
  };
  private readyUntil = 0;
  private readonly blockRows: BlockRowWriter;

  constructor(readonly lake: Lake) {
    this.blockRows = new BlockRowWriter(lake.db);
  }

  async insertProcess(body: Uint8Array): Promise<void> {
    const p = decodeOrReject('insert_process', body, decodeProcessInfo);
    const startTime = toPgTimestamp(p.startTime, 'start_time');
    const [keys, values] = propertyColumns(p.properties);
    await this.store('insert_process', () =>
      this.lake.db.query(INSERT_PROCESS, [
        p.processId,
        varchar(p.exe),
        varchar(p.username),
        varchar(p.realname),
        varchar(p.computer),
        varchar(p.distro),
        varchar(p.cpuBrand),
        int64(p.tscFrequency, 'tsc_frequency'),
        startTime,
        int64(p.startTicks, 'start_ticks'),
        p.parentProcessId,
        keys,
        values,
      ]),
    );
    this.stats.processes++;
  }

  async insertStream(body: Uint8Array): Promise<void> {
    const s = decodeOrReject('insert_stream', body, decodeStreamInfo);
    const [keys, values] = propertyColumns(s.properties);
    await this.store('insert_stream', () =>
      this.lake.db.query(INSERT_STREAM, [
        s.streamId,
        s.processId,
        encodeUdtList(s.dependenciesMetadata),
        encodeUdtList(s.objectsMetadata),
        s.tags,
        keys,
        values,
        'micromegas-transit',
      ]),
    );
    this.stats.streams++;
  }

  /** Records a process row built by the server (OTLP): same statement as insert_process. */
  async writeProcessRow(p: ProcessRow): Promise<void> {
    await this.store('insert_process', () =>
      this.lake.db.query(INSERT_PROCESS, [
        p.processId, varchar(p.exe), varchar(p.username), varchar(p.realname), varchar(p.computer),
        varchar(p.distro), varchar(p.cpuBrand), p.tscFrequency.toString(), p.startTime, p.startTicks.toString(),
        p.parentProcessId, p.properties.map((kv) => kv[0]), p.properties.map((kv) => kv[1]),
      ]),
    );
    this.stats.processes++;
  }

  /** Records a stream row built by the server (OTLP): same statement as insert_stream. */
  async writeStreamRow(s: StreamRow): Promise<void> {
    await this.store('insert_stream', () =>
      this.lake.db.query(INSERT_STREAM, [
        s.streamId, s.processId, s.dependenciesMetadata, s.objectsMetadata, s.tags, [], [], s.format,
      ]),
    );
    this.stats.streams++;
  }

  /** Stores a block built by the server (OTLP) through the same object + row path as insert_block. */
  async writeBlock(b: BlockRow, payload: BlockPayload): Promise<void> {
    await this.storeBlock(
      b,
      [b.blockId, b.streamId, b.processId, b.beginTime, b.beginTicks.toString(), b.endTime, b.endTicks.toString(), b.nbObjects, '0'],
      encodeBlockPayload(payload),
    );
  }

  async insertBlock(body: Uint8Array): Promise<void> {
    const b = decodeOrReject('insert_block', body, decodeBlock);
    const beginTime = toPgTimestamp(b.beginTime, 'begin_time');
    const endTime = toPgTimestamp(b.endTime, 'end_time');
    const params = [
      b.blockId,
      b.streamId,
      b.processId,
      beginTime,
      int64(b.beginTicks, 'begin_ticks'),
      endTime,
      int64(b.endTicks, 'end_ticks'),
      b.nbObjects,
      int64(b.objectOffset, 'object_offset'),
    ];
    await this.storeBlock(b, params, encodeBlockPayload(b.payload));
  }

  private async storeBlock(
    b: { processId: string; streamId: string; blockId: string },
    params: unknown[],
    payload: Uint8Array,
  ): Promise<void> {
    // The object first, then the row: a row never points at a missing object. The row is inserted
    // even when the object already existed, which heals a previous attempt that stopped in between.
    const outcome = await this.store('insert_block', () => this.lake.blobs.putIfAbsent(blockObjectKey(b), payload));
    const inserted = await this.store('insert_block', () => this.blockRows.insert([...params, payload.length]));
    if (outcome === 'exists' && !inserted) this.stats.duplicateBlocks++;
    this.stats.blocks++;
    this.stats.blockBytes += payload.length;
  }

  /** Throws an UnavailableError when the database or the object store cannot be reached. */
  async checkReady(): Promise<void> {
    if (Date.now() < this.readyUntil) return;
    await this.store('ready', () => checkReady(this.lake));
    this.readyUntil = Date.now() + READY_CACHE_MS;
  }

  private async store<T>(what: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      if (err instanceof BadRequestError) throw err;
      const reason = (err instanceof Error ? err.message : String(err)).split('\n')[0];
      if (isDataException(err)) throw new BadRequestError(`${what}: ${reason}`);
      this.stats.failures++;
      throw new UnavailableError(`${what}: ${reason}`);
    }
  }
}
