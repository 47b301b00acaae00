import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { migrateDataLake, openObjectStore, type Database, type ObjectStore } from '@micromegas/lake';
import { openTestDatabase } from '@micromegas/lake/testing';
import { formatTimestampNanos, parseTimestampNanos, type Nanos } from '../src/time.ts';
import {
  addTemporaryFile,
  deleteExpiredTemporaryFiles,
  deleteOldData,
  insertPartition,
  listPartitions,
  migrateLakehouse,
  NANOS_PER_DAY,
  nowNanos,
  objectCountHash,
  type Partition,
} from '../src/lakehouse/catalog/index.ts';

const NOW = parseTimestampNanos('2024-06-01T12:00:00Z');
const HORIZON = NOW - 30n * NANOS_PER_DAY;
const OLD = HORIZON - NANOS_PER_DAY;
const RECENT = NOW - NANOS_PER_DAY;
const HOUR = 3_600_000_000_000n;

async function addProcess(db: Database, insertTime: Nanos): Promise<string> {
  const id = randomUUID();
  await db.query('INSERT INTO processes(process_id, exe, start_time, insert_time) VALUES ($1, $2, $3, $3)', [
    id,
    'exe',
    formatTimestampNanos(insertTime),
  ]);
  return id;
}

async function addStream(db: Database, processId: string, insertTime: Nanos): Promise<string> {
  const id = randomUUID();
  await db.query('INSERT INTO streams(stream_id, process_id, tags, insert_time) VALUES ($1, $2, $3, $4)', [
    id,
    processId,
    ['log'],
    formatTimestampNanos(insertTime),
  ]);
  return id;
}

/** Adds a block row and (unless withBlob is false) its payload; returns the blob key. */
async function addBlock(db: Database, store: ObjectStore, processId: string, streamId: string, insertTime: Nanos, withBlob = true) {
  const id = randomUUID();
  const t = formatTimestampNanos(insertTime);
  await db.query(
    `INSERT INTO blocks(block_id, stream_id, process_id, begin_time, begin_ticks, end_time, end_ticks, nb_objects,
                        object_offset, payload_size, insert_time)
     VALUES ($1, $2, $3, $4, 0, $4, 10, 1, 0, 3, $4)`,
    [id, streamId, processId, t],
  );
  const key = `blobs/${processId}/${streamId}/${id}`;
  if (withBlob) await store.putIfAbsent(key, new Uint8Array([1, 2, 3]));
  return { id, key };
}

function partition(set: string, begin: Nanos, end: Nanos, filePath: string | null): Partition {
  const empty = filePath === null;
  return {
    viewSetName: set,
    viewInstanceId: 'global',
    beginInsertTime: begin,
    endInsertTime: end,
    minEventTime: empty ? null : begin,
    maxEventTime: empty ? null : end,
    updated: end,
    filePath,
    fileSize: empty ? 0n : 3n,
    fileSchemaHash: new Uint8Array([1]),
    sourceDataHash: objectCountHash(1),
    numRows: empty ? 0n : 1n,
    sortOrder: null,
    maxSortKeyTime: null,
  };
}

async function ids(db: Database, table: string, column: string): Promise<Set<string>> {
  const res = await db.query<Record<string, string>>(`SELECT ${column} AS id FROM ${table}`);
  return new Set(res.rows.map((r) => r.id!));
}

const backends = (['postgres', 'pglite'] as const).map((kind) => ({
  kind,
  async open(): Promise<{ db: Database; done: () => Promise<void> }> {
    const t = await openTestDatabase(kind, 'mm_catalog_ret');
    return { db: t.db, done: t.drop };
  },
}));

for (const backend of backends) {
  describe(`retention and temporary files on ${backend.kind}`, () => {
    let db: Database;
    let done: () => Promise<void>;
    let dir: string;
    let store: ObjectStore;
    before(async () => {
      ({ db, done } = await backend.open());
      await migrateDataLake(db);
      await migrateLakehouse(db);
      dir = await mkdtemp(join(tmpdir(), 'mm-catalog-ret-'));
      store = openObjectStore(`file://${dir}`);
    });
    after(async () => {
      await store?.close();
      await done?.();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    test('deleteOldData removes exactly the expired rows and blobs, then temp files expire', async () => {
      // all old: everything goes
      const pOld = await addProcess(db, OLD);
      const sOld = await addStream(db, pOld, OLD);
      const oldBlocks = [await addBlock(db, store, pOld, sOld, OLD), await addBlock(db, store, pOld, sOld, HORIZON)];
      const missingBlob = await addBlock(db, store, pOld, sOld, OLD, false);
      // old process keeps a recent stream; its old stream empties and goes
      const pMixed = await addProcess(db, OLD);
      const sMixedOld = await addStream(db, pMixed, OLD);
      const mixedOldBlock = await addBlock(db, store, pMixed, sMixedOld, OLD);
      const sRecent = await addStream(db, pMixed, RECENT);
      const recentBlock = await addBlock(db, store, pMixed, sRecent, RECENT);
      // old stream with a block inserted just after the horizon stays, and so does its process
      const pLate = await addProcess(db, OLD);
      const sLate = await addStream(db, pLate, OLD);
      const lateBlock = await addBlock(db, store, pLate, sLate, HORIZON + 1_000n);
      // recent process without streams stays
      const pFresh = await addProcess(db, RECENT);
      // partitions: ended before the horizon (retired), at the horizon and recent (kept)
      const expired = partition('ret_view', OLD - HOUR, OLD, 'views/ret_view/global/expired.parquet');
      const expiredEmpty = partition('ret_view', OLD, OLD + HOUR, null);
      const atHorizon = partition('ret_view', HORIZON - HOUR, HORIZON, 'views/ret_view/global/horizon.parquet');
      const recent = partition('ret_view', RECENT, RECENT + HOUR, 'views/ret_view/global/recent.parquet');
      for (const p of [expired, expiredEmpty, atHorizon, recent]) {
        if (p.filePath) await store.putIfAbsent(p.filePath, new Uint8Array([9]));
        await insertPartition(db, p, 'containment');
      }

      const counts = await deleteOldData(db, store, 30, NOW);
      assert.deepEqual(counts, { blocks: 4, streams: 2, processes: 1, partitions: 2 });
      assert.deepEqual(await ids(db, 'blocks', 'block_id'), new Set([recentBlock.id, lateBlock.id]));
      assert.deepEqual(await ids(db, 'streams', 'stream_id'), new Set([sRecent, sLate]));
      assert.deepEqual(await ids(db, 'processes', 'process_id'), new Set([pMixed, pLate, pFresh]));
      for (const b of [...oldBlocks, missingBlob, mixedOldBlock]) assert.equal(await store.get(b.key), undefined, b.key);
      for (const b of [recentBlock, lateBlock]) assert.deepEqual(await store.get(b.key), new Uint8Array([1, 2, 3]));
      const left = await listPartitions(db, 'ret_view', 'global');
      assert.deepEqual(left.map((p) => p.filePath), [atHorizon.filePath, recent.filePath]);
      // the expired partition's file stays readable until its grace period ends
      assert.deepEqual(await store.get(expired.filePath!), new Uint8Array([9]));
      const temp = await db.query<{ file_path: string }>('SELECT file_path FROM temporary_files');
      assert.deepEqual(temp.rows.map((r) => r.file_path), [expired.filePath]);

      // a second pass has nothing left to do
      assert.deepEqual(await deleteOldData(db, store, 30, NOW), { blocks: 0, streams: 0, processes: 0, partitions: 0 });

      // temporary files: an unexpired one and one expiring exactly at the cutoff survive
      const cutoff = nowNanos() + 2n * HOUR;
      await store.putIfAbsent('views/tmp/later.parquet', new Uint8Array([7]));
      await store.putIfAbsent('views/tmp/at_cutoff.parquet', new Uint8Array([7]));
      await db.transaction(async (tx) => {
        await addTemporaryFile(tx, 'views/tmp/later.parquet', 1, cutoff + HOUR);
        await addTemporaryFile(tx, 'views/tmp/at_cutoff.parquet', 1, cutoff);
        await addTemporaryFile(tx, 'views/tmp/already_gone.parquet', 1, cutoff - HOUR);
      });
      assert.equal(await deleteExpiredTemporaryFiles(db, store), 0, 'nothing has expired yet');
      assert.equal(await deleteExpiredTemporaryFiles(db, store, cutoff), 2);
      assert.equal(await store.get(expired.filePath!), undefined);
      assert.deepEqual(await store.get('views/tmp/later.parquet'), new Uint8Array([7]));
      assert.deepEqual(await store.get('views/tmp/at_cutoff.parquet'), new Uint8Array([7]));
      assert.deepEqual(await store.get(recent.filePath!), new Uint8Array([9]));
      const remaining = await db.query<{ file_path: string }>('SELECT file_path FROM temporary_files ORDER BY 1');
      assert.deepEqual(remaining.rows.map((r) => r.file_path), ['views/tmp/at_cutoff.parquet', 'views/tmp/later.parquet']);
    });

    test('batches: thousands of expired rows all go, in several passes of 1000', async () => {
      const mem = openObjectStore(`memory://retention-batches-${backend.kind}`);
      const p = await addProcess(db, RECENT);
      const s = await addStream(db, p, RECENT);
      const kept = await addBlock(db, mem, p, s, RECENT);
      await db.query(
        `INSERT INTO blocks(block_id, stream_id, process_id, insert_time)
         SELECT gen_random_uuid(), $1, $2, $3::timestamptz - i * interval '1 second' FROM generate_series(1, 2500) AS i`,
        [s, p, formatTimestampNanos(OLD)],
      );
      // 1200 adjacent one-minute partitions, all expired
      await db.query(
        `INSERT INTO lakehouse_partitions(view_set_name, view_instance_id, begin_insert_time, end_insert_time,
           updated, file_path, file_size, file_schema_hash, source_data_hash, num_rows, partition_format_version)
         SELECT 'batch_view', 'global', $1::timestamptz + i * interval '1 minute', $1::timestamptz + (i + 1) * interval '1 minute',
                now(), 'views/batch_view/' || i, 1, $2, $3, 1, 2
           FROM generate_series(0, 1199) AS i`,
        [formatTimestampNanos(OLD - 30n * NANOS_PER_DAY), new Uint8Array([1]), objectCountHash(1)],
      );
      const counts = await deleteOldData(db, mem, 30, NOW);
      assert.deepEqual(counts, { blocks: 2500, streams: 0, processes: 0, partitions: 1200 });
      const left = await db.query<{ id: string }>('SELECT block_id AS id FROM blocks WHERE stream_id = $1', [s]);
      assert.deepEqual(left.rows, [{ id: kept.id }]);
      assert.equal((await listPartitions(db, 'batch_view', 'global')).length, 0);
      const temp = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM temporary_files WHERE file_path LIKE 'views/batch_view/%'`);
      assert.equal(temp.rows[0]!.n, 1200);
      await mem.putIfAbsent('views/batch_view/7', new Uint8Array([1]));
      const deleted = await deleteExpiredTemporaryFiles(db, mem, nowNanos() + 2n * HOUR);
      assert.ok(deleted >= 1200, `deleted ${deleted}`);
      assert.equal(await mem.get('views/batch_view/7'), undefined);
      const after = await db.query(`SELECT count(*)::int AS n FROM temporary_files WHERE file_path LIKE 'views/batch_view/%'`);
      assert.deepEqual(after.rows, [{ n: 0 }]);
      await mem.close();
    });
  });
}
