import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openDatabase, type Database, type SqlExecutor } from '@micromegas/lake';
import { createTestDatabase, openTestDatabase } from '@micromegas/lake/testing';
import {
  LAKEHOUSE_SCHEMA_VERSION,
  LakehouseMigrationError,
  migrateLakehouse,
  readLakehouseSchemaVersion,
} from '../src/lakehouse/catalog/index.ts';

const PARTITION_COLUMNS = [
  ['view_set_name', 'character varying', 'YES'],
  ['view_instance_id', 'character varying', 'YES'],
  ['begin_insert_time', 'timestamp with time zone', 'YES'],
  ['end_insert_time', 'timestamp with time zone', 'YES'],
  ['min_event_time', 'timestamp with time zone', 'YES'],
  ['max_event_time', 'timestamp with time zone', 'YES'],
  ['updated', 'timestamp with time zone', 'YES'],
  ['file_path', 'character varying', 'YES'],
  ['file_size', 'bigint', 'YES'],
  ['file_schema_hash', 'bytea', 'YES'],
  ['source_data_hash', 'bytea', 'YES'],
  ['num_rows', 'bigint', 'NO'],
  ['partition_format_version', 'integer', 'NO'],
  ['sort_order', 'ARRAY', 'YES'],
  ['max_sort_key_time', 'timestamp with time zone', 'YES'],
];

async function columns(db: SqlExecutor, table: string): Promise<string[][]> {
  const res = await db.query<{ column_name: string; data_type: string; is_nullable: string }>(
    `SELECT column_name, data_type, is_nullable FROM information_schema.columns
      WHERE table_name = $1 ORDER BY ordinal_position`,
    [table],
  );
  return res.rows.map((r) => [r.column_name, r.data_type, r.is_nullable]);
}

/** Everything a migration leaves behind, to compare a fresh catalog with an upgraded one. */
async function schemaSnapshot(db: SqlExecutor) {
  const indexes = await db.query<{ indexname: string; indexdef: string }>(
    `SELECT indexname, indexdef FROM pg_indexes
      WHERE tablename IN ('lakehouse_partitions', 'temporary_files', 'query_deny_list') ORDER BY indexname`,
  );
  const constraints = await db.query<{ conname: string; def: string }>(
    `SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
      WHERE conrelid IN ('lakehouse_partitions'::regclass, 'query_deny_list'::regclass) ORDER BY conname`,
  );
  const tables = await db.query<{ t: string }>(
    `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`,
  );
  return {
    partitions: await columns(db, 'lakehouse_partitions'),
    temporaryFiles: await columns(db, 'temporary_files'),
    denyList: await columns(db, 'query_deny_list'),
    indexes: indexes.rows,
    constraints: constraints.rows,
    tables: tables.rows.map((r) => r.t),
  };
}

/** The catalog as upstream left it at v6 (before sort_order and the exclusion constraint). */
async function createUpstreamV6(db: SqlExecutor): Promise<void> {
  for (const sql of [
    `CREATE TABLE lakehouse_partitions(view_set_name VARCHAR(255), view_instance_id VARCHAR(255),
       begin_insert_time TIMESTAMPTZ, end_insert_time TIMESTAMPTZ, min_event_time TIMESTAMPTZ,
       max_event_time TIMESTAMPTZ, updated TIMESTAMPTZ, file_path VARCHAR(2047), file_size BIGINT,
       file_schema_hash bytea, source_data_hash bytea, file_metadata bytea)`,
    'CREATE INDEX lh_part_begin_insert ON lakehouse_partitions(view_set_name, view_instance_id, begin_insert_time)',
    'CREATE INDEX lh_part_end_insert ON lakehouse_partitions(view_set_name, view_instance_id, end_insert_time)',
    'CREATE INDEX lh_part_min_time ON lakehouse_partitions(view_set_name, view_instance_id, min_event_time)',
    'CREATE INDEX lh_part_max_time ON lakehouse_partitions(view_set_name, view_instance_id, max_event_time)',
    'ALTER TABLE lakehouse_partitions ADD num_rows BIGINT NOT NULL',
    'CREATE INDEX lakehouse_partitions_file_path ON lakehouse_partitions(file_path)',
    'ALTER TABLE lakehouse_partitions DROP COLUMN file_metadata',
    'ALTER TABLE lakehouse_partitions ADD COLUMN partition_format_version INTEGER NOT NULL DEFAULT 1',
    'CREATE TABLE temporary_files(file_path VARCHAR(2047), file_size BIGINT, expiration TIMESTAMPTZ)',
    'CREATE INDEX temporary_files_expiration ON temporary_files(expiration)',
    'CREATE TABLE lakehouse_migration(version integer)',
    'INSERT INTO lakehouse_migration VALUES (6)',
  ]) {
    await db.query(sql);
  }
}

async function insertLegacy(db: SqlExecutor, path: string, begin: string, end: string, hash = 1): Promise<void> {
  await db.query(
    `INSERT INTO lakehouse_partitions(view_set_name, view_instance_id, begin_insert_time, end_insert_time,
       updated, file_path, file_size, file_schema_hash, source_data_hash, num_rows)
     VALUES ('log_entries', 'global', $1, $2, now(), $3, 10, $4, $5, 1)`,
    [begin, end, path, new Uint8Array([hash]), new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0])],
  );
}

const backends = (['postgres', 'pglite'] as const).map((kind) => ({
  kind,
  async open(): Promise<{ db: Database; done: () => Promise<void> }> {
    const t = await openTestDatabase(kind, 'mm_catalog_mig');
    return { db: t.db, done: t.drop };
  },
}));

for (const backend of backends) {
  describe(`lakehouse migration on ${backend.kind}`, () => {
    let fresh: { db: Database; done: () => Promise<void> };
    let upgraded: { db: Database; done: () => Promise<void> };
    before(async () => {
      [fresh, upgraded] = await Promise.all([backend.open(), backend.open()]);
    });
    after(async () => {
      await fresh?.done();
      await upgraded?.done();
    });

    test('creates the v9 schema and is idempotent', async () => {
      const { db } = fresh;
      assert.equal(await readLakehouseSchemaVersion(db), 0);
      assert.equal(await migrateLakehouse(db), LAKEHOUSE_SCHEMA_VERSION);
      const first = await schemaSnapshot(db);
      assert.equal(await migrateLakehouse(db), 9);
      assert.deepEqual(await schemaSnapshot(db), first);
      assert.deepEqual((await db.query('SELECT version FROM lakehouse_migration')).rows, [{ version: 9 }]);
      assert.deepEqual(first.partitions, PARTITION_COLUMNS);
      assert.deepEqual(first.temporaryFiles, [
        ['file_path', 'character varying', 'YES'],
        ['file_size', 'bigint', 'YES'],
        ['expiration', 'timestamp with time zone', 'YES'],
      ]);
      assert.deepEqual(
        first.denyList.map((c) => c[0]),
        ['rule_id', 'created_at', 'created_by', 'reason', 'match_expr', 'last_hit_at'],
      );
      assert.deepEqual(
        first.indexes.map((i) => i.indexname),
        [
          'lakehouse_partitions_file_path',
          'lakehouse_partitions_no_overlap',
          'lh_part_begin_insert',
          'lh_part_end_insert',
          'lh_part_max_time',
          'lh_part_min_time',
          'query_deny_list_pkey',
          'temporary_files_expiration',
        ],
      );
      const noOverlap = first.constraints.find((c) => c.conname === 'lakehouse_partitions_no_overlap');
      assert.match(noOverlap?.def ?? '', /EXCLUDE USING gist .*file_schema_hash WITH =.*tstzrange\(begin_insert_time, end_insert_time\) WITH &&/);
      assert.ok(!first.tables.includes('partition_metadata'));
      // the version column default applies to rows written without one (pre-v5 writers)
      await insertLegacy(db, 'p', '2024-01-01', '2024-01-02');
      assert.deepEqual((await db.query('SELECT partition_format_version AS v FROM lakehouse_partitions')).rows, [{ v: 1 }]);
    });

    test('upgrades an upstream v6 catalog to the same schema, naming overlapping partitions first', async () => {
      const { db } = upgraded;
      await createUpstreamV6(db);
      await insertLegacy(db, 'views/a.parquet', '2024-01-01T00:00:00Z', '2024-01-01T02:00:00Z');
      await insertLegacy(db, 'views/b.parquet', '2024-01-01T01:00:00Z', '2024-01-01T03:00:00Z');
      // allowed to stay: other schema hash, touching ranges, and single instants
      await insertLegacy(db, 'views/c.parquet', '2024-01-01T01:00:00Z', '2024-01-01T03:00:00Z', 2);
      await insertLegacy(db, 'views/d.parquet', '2024-01-01T03:00:00Z', '2024-01-01T04:00:00Z');
      await insertLegacy(db, 'views/e.parquet', '2024-01-01T03:30:00Z', '2024-01-01T03:30:00Z');
      await assert.rejects(
        migrateLakehouse(db),
        (e: unknown) =>
          e instanceof LakehouseMigrationError &&
          /views\/a\.parquet.*overlaps views\/b\.parquet/.test(e.message) &&
          !/[cde]\.parquet/.test(e.message),
      );
      assert.equal(await readLakehouseSchemaVersion(db), 6, 'the failed step rolled back');
      await db.query(`DELETE FROM lakehouse_partitions WHERE file_path = 'views/b.parquet'`);
      assert.equal(await migrateLakehouse(db), 9);
      const snapshot = await schemaSnapshot(db);
      assert.deepEqual(snapshot, await schemaSnapshot(fresh.db));
      const kept = await db.query<{ file_path: string; sort_order: string[] | null }>(
        'SELECT file_path, sort_order FROM lakehouse_partitions ORDER BY file_path',
      );
      assert.deepEqual(
        kept.rows.map((r) => [r.file_path, r.sort_order]),
        [
          ['views/a.parquet', null],
          ['views/c.parquet', null],
          ['views/d.parquet', null],
          ['views/e.parquet', null],
        ],
      );
    });
  });
}

describe('lakehouse migration concurrency', () => {
  test('postgres: four concurrent migrators on separate pools all end at v9', async () => {
    const t = await createTestDatabase('mm_catalog_conc');
    const dbs = await Promise.all(
      [0, 1, 2, 3].map(() => openDatabase({ connectionString: t.connectionString, dataDir: ':memory:' }, { poolSize: 2 })),
    );
    try {
      const versions = await Promise.all(dbs.map((db) => migrateLakehouse(db)));
      assert.deepEqual(versions, [9, 9, 9, 9]);
      assert.deepEqual((await dbs[0]!.query('SELECT version FROM lakehouse_migration')).rows, [{ version: 9 }]);
      const ext = await dbs[0]!.query("SELECT count(*)::int AS n FROM pg_extension WHERE extname = 'btree_gist'");
      assert.deepEqual(ext.rows, [{ n: 1 }]);
    } finally {
      await Promise.all(dbs.map((db) => db.close()));
      await t.drop();
    }
  });

  test('pglite: concurrent migrators on one instance all end at v9', async () => {
    const db = await openDatabase({ dataDir: ':memory:' });
    try {
      assert.deepEqual(await Promise.all([0, 1, 2, 3].map(() => migrateLakehouse(db))), [9, 9, 9, 9]);
      assert.deepEqual((await db.query('SELECT version FROM lakehouse_migration')).rows, [{ version: 9 }]);
    } finally {
      await db.close();
    }
  });
});
