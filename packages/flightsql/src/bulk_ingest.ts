// Bulk ingest (DoPut CommandStatementIngest): rows of the lake's metadata tables, or block payloads,
// copied verbatim into this lake, as upstream's replication does (reference analytics.md §4.2).
// Columns are read by name; PostgreSQL rows are inserted with ON CONFLICT DO NOTHING and payloads
// are put-if-absent, so replaying the same data is harmless.
import { RecordBatchReader, TimeUnit, type RecordBatch, type Vector } from 'apache-arrow';
import { blobKey, decodeJsonb, formatTimestampNanos } from '@micromegas/analytics';
import type { Caller } from './contract.ts';
import { FlightSqlError } from './errors.ts';
import type { FlightDataParts } from './ipc.ts';

/** What a bulk ingest needs of a lake (a `Lake` from @micromegas/lake fits). */
export interface BulkIngestLake {
  db: {
    transaction<T>(fn: (tx: { query(sql: string, params?: unknown[]): Promise<unknown> }) => Promise<T>): Promise<T>;
  };
  blobs: { putIfAbsent(key: string, bytes: Uint8Array): Promise<'created' | 'exists'> };
}

/** Ingests the batches into `table`; returns the number of rows received. */
export type BulkIngest = (table: string, batches: RecordBatch[], caller: Caller) => Promise<number>;

/** Re-frames FlightData messages as an IPC stream (continuation, length, padded metadata, body) and reads it. */
export function flightDataToBatches(messages: FlightDataParts[]): RecordBatch[] {
  const chunks: Uint8Array[] = [];
  for (const { dataHeader, dataBody } of messages) {
    if (dataHeader.byteLength === 0) continue; // app_metadata-only messages carry no IPC message
    const padded = Math.ceil(dataHeader.byteLength / 8) * 8;
    const prefix = new Uint8Array(8);
    const view = new DataView(prefix.buffer);
    view.setUint32(0, 0xffffffff, true);
    view.setInt32(4, padded, true);
    chunks.push(prefix, dataHeader, new Uint8Array(padded - dataHeader.byteLength), dataBody);
  }
  if (chunks.length === 0) return [];
  chunks.push(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0));
  try {
    return RecordBatchReader.from(Buffer.concat(chunks)).readAll();
  } catch (e) {
    throw new FlightSqlError('invalid_argument', `bulk ingest: invalid Arrow IPC data: ${(e as Error).message}`);
  }
}

const bad = (msg: string) => new FlightSqlError('invalid_argument', `bulk ingest: ${msg}`);

/** A column by name, or an error naming what is missing. */
function column(batch: RecordBatch, name: string): Vector {
  const v = batch.getChild(name);
  if (!v) throw bad(`missing column "${name}"`);
  return v;
}

/** Strings (plain or dictionary-encoded). Null reads as "" as upstream's accessor does. */
function str(batch: RecordBatch, name: string): (row: number) => string {
  const v = column(batch, name);
  return (row) => {
    const x = v.get(row);
    if (x === null || x === undefined) return '';
    if (typeof x !== 'string') throw bad(`column "${name}" is not a string column`);
    return x;
  };
}

function int64(batch: RecordBatch, name: string): (row: number) => string | null {
  const v = column(batch, name);
  return (row) => {
    const x = v.get(row);
    if (x === null || x === undefined) return null;
    if (typeof x !== 'bigint' && typeof x !== 'number') throw bad(`column "${name}" is not an integer column`);
    return x.toString();
  };
}

const UNIT_TO_NS: Record<number, bigint> = { [TimeUnit.SECOND]: 1_000_000_000n, [TimeUnit.MILLISECOND]: 1_000_000n, [TimeUnit.MICROSECOND]: 1_000n, [TimeUnit.NANOSECOND]: 1n };

/** Timestamps as RFC 3339 with nanoseconds, read from the raw 64-bit values (no float rounding). */
function timestamp(batch: RecordBatch, name: string): (row: number) => string | null {
  const v = column(batch, name);
  const unit = (v.type as { unit?: number }).unit;
  const scale = unit === undefined ? undefined : UNIT_TO_NS[unit];
  if (scale === undefined || !v.data.every((d) => d.values instanceof BigInt64Array)) throw bad(`column "${name}" is not a timestamp column`);
  const starts: number[] = [];
  let n = 0;
  for (const d of v.data) {
    starts.push(n);
    n += d.length;
  }
  return (row) => {
    if (!v.isValid(row)) return null;
    let k = starts.length - 1;
    while (starts[k]! > row) k--;
    const d = v.data[k]!;
    return formatTimestampNanos((d.values as BigInt64Array)[d.offset + row - starts[k]!]! * scale);
  };
}

function binary(batch: RecordBatch, name: string): (row: number) => Uint8Array | null {
  const v = column(batch, name);
  return (row) => {
    const x = v.get(row);
    if (x === null || x === undefined) return null;
    if (!(x instanceof Uint8Array)) throw bad(`column "${name}" is not a binary column`);
    return x;
  };
}

function stringList(batch: RecordBatch, name: string): (row: number) => string[] {
  const v = column(batch, name);
  return (row) => {
    const x = v.get(row) as Iterable<unknown> | null;
    if (x === null || x === undefined) return [];
    return Array.from(x, (s) => (s === null || s === undefined ? '' : String(s)));
  };
}

/** Properties as list<struct<key, value>>, a map or a JSONB object: parallel key and value arrays, in order. */
function properties(batch: RecordBatch, name: string): (row: number) => [string[], string[]] {
  const v = column(batch, name);
  return (row) => {
    const x = v.get(row) as Iterable<unknown> | null;
    const keys: string[] = [];
    const values: string[] = [];
    if (x === null || x === undefined) return [keys, values];
    if (x instanceof Uint8Array) {
      // JSONB object, as our processes/streams views return them: string values kept, others as JSON text.
      let decoded: unknown;
      try {
        decoded = decodeJsonb(x);
      } catch (err) {
        throw bad(`column "${name}": invalid JSONB properties (${(err as Error).message})`);
      }
      if (decoded === null || typeof decoded !== 'object' || Array.isArray(decoded)) throw bad(`column "${name}": JSONB properties must be an object`);
      for (const [k, val] of Object.entries(decoded)) {
        keys.push(k);
        values.push(typeof val === 'string' ? val : JSON.stringify(val, (_k, v) => (typeof v === 'bigint' ? String(v) : v)));
      }
      return [keys, values];
    }
    for (const item of x) {
      // A list element is a StructRow ({key, value}); a map entry iterates as [key, value].
      const [k, val] = Array.isArray(item) ? item : [(item as { key?: unknown }).key, (item as { value?: unknown }).value];
      if (typeof k !== 'string') throw bad(`column "${name}" must be a list of {key, value} string structs`);
      keys.push(k);
      values.push(val === null || val === undefined ? '' : String(val));
    }
    return [keys, values];
  };
}

const PROPERTIES_SQL = (keys: string, values: string) =>
  `ARRAY(SELECT ROW(k, v)::micromegas_property FROM unnest(${keys}::text[], ${values}::text[]) WITH ORDINALITY AS t(k, v, i) ORDER BY i)`;

const INSERT_PROCESS = `INSERT INTO processes (process_id, exe, username, realname, computer, distro, cpu_brand, tsc_frequency, start_time, start_ticks, insert_time, parent_process_id, properties)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, ${PROPERTIES_SQL('$13', '$14')})
  ON CONFLICT (process_id) DO NOTHING`;
const INSERT_STREAM = `INSERT INTO streams (stream_id, process_id, dependencies_metadata, objects_metadata, tags, properties, insert_time, format)
  VALUES ($1, $2, $3, $4, $5, ${PROPERTIES_SQL('$6', '$7')}, $8, $9)
  ON CONFLICT (stream_id) DO NOTHING`;
const INSERT_BLOCK = `INSERT INTO blocks (block_id, stream_id, process_id, begin_time, begin_ticks, end_time, end_ticks, nb_objects, object_offset, payload_size, insert_time)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
  ON CONFLICT (block_id) DO NOTHING`;

type RowParams = (row: number) => unknown[];

const ROWS: Record<'processes' | 'streams' | 'blocks', { sql: string; params: (b: RecordBatch) => RowParams }> = {
  processes: {
    sql: INSERT_PROCESS,
    params: (b) => {
      const s = ['process_id', 'exe', 'username', 'realname', 'computer', 'distro', 'cpu_brand'].map((n) => str(b, n));
      const tsc = int64(b, 'tsc_frequency');
      const start = timestamp(b, 'start_time');
      const ticks = int64(b, 'start_ticks');
      const inserted = timestamp(b, 'insert_time');
      const parent = str(b, 'parent_process_id');
      const props = properties(b, 'properties');
      // An empty parent id means "no parent" (upstream sends "" for it).
      return (r) => [...s.map((f) => f(r)), tsc(r), start(r), ticks(r), inserted(r), parent(r) || null, ...props(r)];
    },
  },
  streams: {
    sql: INSERT_STREAM,
    params: (b) => {
      const streamId = str(b, 'stream_id');
      const processId = str(b, 'process_id');
      const deps = binary(b, 'dependencies_metadata');
      const objs = binary(b, 'objects_metadata');
      const tags = stringList(b, 'tags');
      const props = properties(b, 'properties');
      const inserted = timestamp(b, 'insert_time');
      const format = str(b, 'format');
      return (r) => [streamId(r), processId(r), deps(r), objs(r), tags(r), ...props(r), inserted(r), format(r)];
    },
  },
  blocks: {
    sql: INSERT_BLOCK,
    params: (b) => {
      const ids = ['block_id', 'stream_id', 'process_id'].map((n) => str(b, n));
      const beginTime = timestamp(b, 'begin_time');
      const beginTicks = int64(b, 'begin_ticks');
      const endTime = timestamp(b, 'end_time');
      const endTicks = int64(b, 'end_ticks');
      const nbObjects = int64(b, 'nb_objects');
      const objectOffset = int64(b, 'object_offset');
      const payloadSize = int64(b, 'payload_size');
      const inserted = timestamp(b, 'insert_time');
      return (r) => [...ids.map((f) => f(r)), beginTime(r), beginTicks(r), endTime(r), endTicks(r), nbObjects(r), objectOffset(r), payloadSize(r), inserted(r)];
    },
  },
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function ingestPayloads(lake: BulkIngestLake, batches: RecordBatch[]): Promise<number> {
  let rows = 0;
  for (const b of batches) {
    const ids = ['process_id', 'stream_id', 'block_id'].map((n) => str(b, n));
    const payload = binary(b, 'payload');
    for (let r = 0; r < b.numRows; r++) {
      const parts = ids.map((f) => f(r));
      // The ids become an object key: only UUIDs, so no row can write outside blobs/.
      if (!parts.every((p) => UUID.test(p))) throw bad(`payloads row ${rows + r}: process_id, stream_id and block_id must be UUIDs`);
      const bytes = payload(r);
      if (!bytes) throw bad(`payloads row ${rows + r}: payload is null`);
      // Put-if-absent: block objects are write-once, an existing one is the same block already copied.
      await lake.blobs.putIfAbsent(blobKey({ processId: parts[0]!, streamId: parts[1]!, blockId: parts[2]! }), bytes);
    }
    rows += b.numRows;
  }
  return rows;
}

/** The DoPut bulk ingest of a lake: processes, streams and blocks rows in one transaction per put; payloads to the object store. */
export function makeBulkIngest(lake: BulkIngestLake): BulkIngest {
  return async (table, batches) => {
    if (table === 'payloads') return ingestPayloads(lake, batches);
    if (table !== 'processes' && table !== 'streams' && table !== 'blocks') {
      throw new FlightSqlError('invalid_argument', `bulk ingest for table ${table} not supported`);
    }
    const { sql, params } = ROWS[table];
    return lake.db.transaction(async (tx) => {
      let rows = 0;
      for (const b of batches) {
        const rowParams = params(b);
        for (let r = 0; r < b.numRows; r++) await tx.query(sql, rowParams(r));
        rows += b.numRows;
      }
      return rows;
    });
  };
}
