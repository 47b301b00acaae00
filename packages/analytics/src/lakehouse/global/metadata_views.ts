// The global metadata views built straight from the PostgreSQL data-lake tables (reference
// analytics.md §1.4.1–§1.4.3): `blocks` (one row per block with its stream and process), and
// `processes` / `streams` (one row per process / stream seen in the insert range).
import { Schema, Binary, Utf8, Int32, Int64 } from 'apache-arrow';
import { bigintRange, BytesColumn, Int32Column, Int64Column, Utf8ListColumn } from '../../arrow/builders.ts';
import { makeBatch } from '../../arrow/batch.ts';
import { binary, dictBinary, field, int32, int64, timestampNs, utf8, utf8List } from '../../arrow/types.ts';
import { formatTimestampNanos, type Nanos } from '../../time.ts';
import type { BlockWithContext } from '../../metadata.ts';
import { fetchBlocksWithContext } from '../../metadata_cache.ts';
import { JsonbPropertiesColumn } from '../../views/process_columns.ts';
import type { GlobalView, LakehouseContext, PartitionRows } from '../view.ts';
import { NS_PER_DAY, NS_PER_HOUR } from '../view.ts';

const range = (begin: Nanos, end: Nanos) => [formatTimestampNanos(begin), formatTimestampNanos(end)];

async function blocksInRange(ctx: LakehouseContext, begin: Nanos, end: Nanos): Promise<BlockWithContext[]> {
  return fetchBlocksWithContext(ctx.lake.db, 'b.insert_time >= $1 AND b.insert_time < $2', range(begin, end));
}

async function countBlocks(ctx: LakehouseContext, begin: Nanos, end: Nanos): Promise<bigint> {
  const { rows } = await ctx.lake.db.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM blocks b JOIN streams s ON s.stream_id = b.stream_id JOIN processes p ON p.process_id = b.process_id
     WHERE b.insert_time >= $1 AND b.insert_time < $2`,
    range(begin, end),
  );
  return BigInt(rows[0]!.n);
}

/** Rows grouped in the view's column order: each column knows how to take its value from an item. */
type Column<T> = { name: string; add(item: T): void; finish(): import('apache-arrow').Data };

function utf8Col<T>(name: string, get: (t: T) => string): Column<T> {
  const c = new BytesColumn();
  return { name, add: (t) => c.pushString(get(t)), finish: () => c.finish(new Utf8()) };
}
function binaryCol<T>(name: string, get: (t: T) => Uint8Array): Column<T> {
  const c = new BytesColumn();
  return { name, add: (t) => c.pushBytes(get(t)), finish: () => c.finish(new Binary()) };
}
function i64Col<T>(name: string, get: (t: T) => bigint, ts = false): Column<T> {
  const c = new Int64Column();
  return { name, add: (t) => c.push(get(t)), finish: () => c.finish(ts ? timestampNs() : new Int64()) };
}
function i32Col<T>(name: string, get: (t: T) => number): Column<T> {
  const c = new Int32Column();
  return { name, add: (t) => c.push(get(t)), finish: () => c.finish(new Int32()) };
}
function propsCol<T>(name: string, get: (t: T) => ReadonlyMap<string, string>): Column<T> {
  const c = new JsonbPropertiesColumn();
  return { name, add: (t) => c.pushId(c.idForMap(get(t))), finish: () => c.finish() };
}
function tagsCol<T>(name: string, get: (t: T) => readonly string[]): Column<T> {
  const c = new Utf8ListColumn(utf8List());
  return { name, add: (t) => c.push(get(t)), finish: () => c.finish() };
}

function toBatch<T>(schema: Schema, columns: Column<T>[], items: readonly T[]) {
  for (const item of items) for (const c of columns) c.add(item);
  return makeBatch(schema, columns.map((c) => c.finish()));
}

function minMax(values: Nanos[]): [Nanos | undefined, Nanos | undefined] {
  const { min, max } = bigintRange(values);
  return [min, max];
}

// ---- blocks ---------------------------------------------------------------------------------

export const blocksSchema = new Schema([
  field('block_id', utf8()), field('stream_id', utf8()), field('process_id', utf8()),
  field('begin_time', timestampNs()), field('begin_ticks', int64()),
  field('end_time', timestampNs()), field('end_ticks', int64()),
  field('nb_objects', int32()), field('object_offset', int64()), field('payload_size', int64()),
  field('insert_time', timestampNs()),
  field('streams.dependencies_metadata', binary()), field('streams.objects_metadata', binary()),
  field('streams.tags', utf8List(), true), field('streams.properties', dictBinary()),
  field('streams.insert_time', timestampNs()), field('streams.format', utf8()),
  field('processes.start_time', timestampNs()), field('processes.start_ticks', int64()), field('processes.tsc_frequency', int64()),
  field('processes.exe', utf8()), field('processes.username', utf8()), field('processes.realname', utf8()),
  field('processes.computer', utf8()), field('processes.distro', utf8()), field('processes.cpu_brand', utf8()),
  field('processes.insert_time', timestampNs()), field('processes.parent_process_id', utf8()),
  field('processes.properties', dictBinary()),
]);

function blocksColumns(): Column<BlockWithContext>[] {
  return [
    utf8Col('block_id', (x) => x.block.blockId), utf8Col('stream_id', (x) => x.block.streamId), utf8Col('process_id', (x) => x.block.processId),
    i64Col('begin_time', (x) => x.block.beginTimeNs, true), i64Col('begin_ticks', (x) => x.block.beginTicks),
    i64Col('end_time', (x) => x.block.endTimeNs, true), i64Col('end_ticks', (x) => x.block.endTicks),
    i32Col('nb_objects', (x) => x.block.nbObjects), i64Col('object_offset', (x) => x.block.objectOffset), i64Col('payload_size', (x) => x.block.payloadSize),
    i64Col('insert_time', (x) => x.block.insertTimeNs, true),
    binaryCol('streams.dependencies_metadata', (x) => x.stream.dependenciesMetadataBytes), binaryCol('streams.objects_metadata', (x) => x.stream.objectsMetadataBytes),
    tagsCol('streams.tags', (x) => x.stream.tags), propsCol('streams.properties', (x) => x.stream.properties),
    i64Col('streams.insert_time', (x) => x.stream.insertTimeNs, true), utf8Col('streams.format', (x) => x.stream.format),
    i64Col('processes.start_time', (x) => x.process.startTimeNs, true), i64Col('processes.start_ticks', (x) => x.process.startTicks), i64Col('processes.tsc_frequency', (x) => x.process.tscFrequency),
    utf8Col('processes.exe', (x) => x.process.exe), utf8Col('processes.username', (x) => x.process.username), utf8Col('processes.realname', (x) => x.process.realname),
    utf8Col('processes.computer', (x) => x.process.computer), utf8Col('processes.distro', (x) => x.process.distro), utf8Col('processes.cpu_brand', (x) => x.process.cpuBrand),
    i64Col('processes.insert_time', (x) => x.process.insertTimeNs, true), utf8Col('processes.parent_process_id', (x) => x.process.parentProcessId ?? ''),
    propsCol('processes.properties', (x) => x.process.properties),
  ];
}

export const blocksView: GlobalView = {
  setName: 'blocks',
  instanceId: 'global',
  schema: blocksSchema,
  schemaHash: Uint8Array.of(3),
  updateGroup: 1000,
  eventTimeColumns: ['begin_time', 'insert_time'],
  mergeSortOrder: ['insert_time'],
  maxPartitionDelta: (s) => (s === 'source' ? NS_PER_HOUR : NS_PER_DAY),
  sourceCount: countBlocks,
  mergeQuery: (source) => `SELECT * FROM ${source} ORDER BY insert_time, block_id`,
  async build(ctx, begin, end): Promise<PartitionRows> {
    const blocks = await blocksInRange(ctx, begin, end);
    const [minBegin] = minMax(blocks.map((b) => b.block.beginTimeNs));
    const [, maxInsert] = minMax(blocks.map((b) => b.block.insertTimeNs));
    return {
      batches: blocks.length ? [toBatch(blocksSchema, blocksColumns(), blocks)] : [],
      numRows: blocks.length,
      minEventTime: minBegin,
      maxEventTime: maxInsert,
      sortOrder: ['insert_time'],
    };
  },
};

// ---- processes ----------------------------------------------------------------------------

export const processesSchema = new Schema([
  field('process_id', utf8()), field('exe', utf8()), field('username', utf8()), field('realname', utf8()),
  field('computer', utf8()), field('distro', utf8()), field('cpu_brand', utf8()), field('tsc_frequency', int64()),
  field('start_time', timestampNs()), field('start_ticks', int64()), field('insert_time', timestampNs()),
  field('parent_process_id', utf8()), field('properties', dictBinary()),
  field('last_update_time', timestampNs()), field('last_block_end_ticks', int64()), field('last_block_end_time', timestampNs()),
]);

interface ProcessRow {
  first: BlockWithContext;
  lastUpdate: Nanos;
  lastEndTicks: bigint;
  lastEndTime: Nanos;
}

export const processesView: GlobalView = {
  setName: 'processes',
  instanceId: 'global',
  schema: processesSchema,
  schemaHash: Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 1),
  updateGroup: 2000,
  eventTimeColumns: ['insert_time', 'last_update_time'],
  maxPartitionDelta: () => NS_PER_DAY,
  sourceCount: (ctx, b, e) => countBlocks(ctx, b, e),
  mergeQuery: (source) => `SELECT process_id, first(exe) AS exe, first(username) AS username, first(realname) AS realname,
    first(computer) AS computer, first(distro) AS distro, first(cpu_brand) AS cpu_brand, first(tsc_frequency) AS tsc_frequency,
    first(start_time) AS start_time, first(start_ticks) AS start_ticks, first(insert_time) AS insert_time,
    first(parent_process_id) AS parent_process_id, first(properties) AS properties, max(last_update_time) AS last_update_time,
    max(last_block_end_ticks) AS last_block_end_ticks, max(last_block_end_time) AS last_block_end_time
    FROM ${source} GROUP BY process_id ORDER BY process_id`,
  async build(ctx, begin, end) {
    const byProcess = new Map<string, ProcessRow>();
    for (const b of await blocksInRange(ctx, begin, end)) {
      const row = byProcess.get(b.process.processId);
      if (!row) byProcess.set(b.process.processId, { first: b, lastUpdate: b.block.insertTimeNs, lastEndTicks: b.block.endTicks, lastEndTime: b.block.endTimeNs });
      else {
        if (b.block.insertTimeNs > row.lastUpdate) row.lastUpdate = b.block.insertTimeNs;
        if (b.block.endTicks > row.lastEndTicks) row.lastEndTicks = b.block.endTicks;
        if (b.block.endTimeNs > row.lastEndTime) row.lastEndTime = b.block.endTimeNs;
      }
    }
    const rows = [...byProcess.values()];
    const columns: Column<ProcessRow>[] = [
      utf8Col('process_id', (r) => r.first.process.processId), utf8Col('exe', (r) => r.first.process.exe),
      utf8Col('username', (r) => r.first.process.username), utf8Col('realname', (r) => r.first.process.realname),
      utf8Col('computer', (r) => r.first.process.computer), utf8Col('distro', (r) => r.first.process.distro),
      utf8Col('cpu_brand', (r) => r.first.process.cpuBrand), i64Col('tsc_frequency', (r) => r.first.process.tscFrequency),
      i64Col('start_time', (r) => r.first.process.startTimeNs, true), i64Col('start_ticks', (r) => r.first.process.startTicks),
      i64Col('insert_time', (r) => r.first.process.insertTimeNs, true), utf8Col('parent_process_id', (r) => r.first.process.parentProcessId ?? ''),
      propsCol('properties', (r) => r.first.process.properties), i64Col('last_update_time', (r) => r.lastUpdate, true),
      i64Col('last_block_end_ticks', (r) => r.lastEndTicks), i64Col('last_block_end_time', (r) => r.lastEndTime, true),
    ];
    const [minInsert] = minMax(rows.map((r) => r.first.process.insertTimeNs));
    const [, maxUpdate] = minMax(rows.map((r) => r.lastUpdate));
    return { batches: rows.length ? [toBatch(processesSchema, columns, rows)] : [], numRows: rows.length, minEventTime: minInsert, maxEventTime: maxUpdate };
  },
};

// ---- streams ------------------------------------------------------------------------------

export const streamsSchema = new Schema([
  field('stream_id', utf8()), field('process_id', utf8()), field('dependencies_metadata', binary()), field('objects_metadata', binary()),
  field('tags', utf8List(), true), field('properties', dictBinary()), field('insert_time', timestampNs()), field('format', utf8()),
  field('last_update_time', timestampNs()),
]);

interface StreamRow {
  first: BlockWithContext;
  lastUpdate: Nanos;
}

export const streamsView: GlobalView = {
  setName: 'streams',
  instanceId: 'global',
  schema: streamsSchema,
  schemaHash: Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 2),
  updateGroup: 2000,
  eventTimeColumns: ['insert_time', 'last_update_time'],
  maxPartitionDelta: () => NS_PER_DAY,
  sourceCount: (ctx, b, e) => countBlocks(ctx, b, e),
  mergeQuery: (source) => `SELECT stream_id, first(process_id) AS process_id, first(dependencies_metadata) AS dependencies_metadata,
    first(objects_metadata) AS objects_metadata, first(tags) AS tags, first(properties) AS properties, first(insert_time) AS insert_time,
    first(format) AS format, max(last_update_time) AS last_update_time FROM ${source} GROUP BY stream_id ORDER BY stream_id`,
  async build(ctx, begin, end) {
    const byStream = new Map<string, StreamRow>();
    for (const b of await blocksInRange(ctx, begin, end)) {
      const row = byStream.get(b.stream.streamId);
      if (!row) byStream.set(b.stream.streamId, { first: b, lastUpdate: b.block.insertTimeNs });
      else if (b.block.insertTimeNs > row.lastUpdate) row.lastUpdate = b.block.insertTimeNs;
    }
    const rows = [...byStream.values()];
    const columns: Column<StreamRow>[] = [
      utf8Col('stream_id', (r) => r.first.stream.streamId), utf8Col('process_id', (r) => r.first.stream.processId),
      binaryCol('dependencies_metadata', (r) => r.first.stream.dependenciesMetadataBytes), binaryCol('objects_metadata', (r) => r.first.stream.objectsMetadataBytes),
      tagsCol('tags', (r) => r.first.stream.tags), propsCol('properties', (r) => r.first.stream.properties),
      i64Col('insert_time', (r) => r.first.stream.insertTimeNs, true), utf8Col('format', (r) => r.first.stream.format),
      i64Col('last_update_time', (r) => r.lastUpdate, true),
    ];
    const [minInsert] = minMax(rows.map((r) => r.first.stream.insertTimeNs));
    const [, maxUpdate] = minMax(rows.map((r) => r.lastUpdate));
    return { batches: rows.length ? [toBatch(streamsSchema, columns, rows)] : [], numRows: rows.length, minEventTime: minInsert, maxEventTime: maxUpdate };
  },
};
