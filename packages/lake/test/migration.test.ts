import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  DATA_LAKE_SCHEMA_VERSION,
  migrateDataLake,
  openDatabase,
  readDataLakeSchemaVersion,
  type Database,
} from '../src/index.ts';
import { createTestDatabase, type TestDatabase } from '../src/testing.ts';
import { EXPECTED_V7, schemaSnapshot, UPSTREAM_V1_STATEMENTS } from './schema_snapshot.ts';

const PROCESS = '11111111-2222-3333-4444-555555555555';
const BLOCK = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';

async function seedV1(db: Database): Promise<void> {
  for (const sql of UPSTREAM_V1_STATEMENTS) await db.query(sql);
  // Duplicate rows would make the v3 unique indexes fail; one row per id is what upstream had.
  await db.query(
    `INSERT INTO blocks VALUES ($1, $2, $3, '2024-01-01T00:00:00Z', 1, '2024-01-01T00:00:01.5Z', 2, 3, 0, 10)`,
    [BLOCK, PROCESS, PROCESS],
  );
  await db.query('INSERT INTO processes(process_id, exe) VALUES ($1, $2)', [PROCESS, 'old.exe']);
}

async function assertUpgradedV1(db: Database): Promise<void> {
  assert.equal(await migrateDataLake(db), 7);
  assert.deepEqual(await schemaSnapshot(db), EXPECTED_V7);
  const blocks = await db.query<{ insert_time: string }>('SELECT insert_time FROM blocks');
  assert.deepEqual(blocks.rows, [{ insert_time: '2024-01-01T00:00:01.500000Z' }], 'v2 backfills insert_time = end_time');
  const streams = await db.query('SELECT * FROM streams');
  assert.equal(streams.rowCount, 0);
  const proc = await db.query<{ exe: string }>('SELECT exe FROM processes');
  assert.deepEqual(proc.rows, [{ exe: 'old.exe' }]);
}

describe('migrateDataLake on PostgreSQL', () => {
  const created: TestDatabase[] = [];
  const opened: Database[] = [];
  const fresh = async (poolSize?: number) => {
    const t = await createTestDatabase('mm_lake_mig');
    created.push(t);
    const db = await openDatabase({ connectionString: t.connectionString, dataDir: '/unused' }, { poolSize });
    opened.push(db);
    return { t, db };
  };
  after(async () => {
    for (const db of opened) await db.close();
    for (const t of created) await t.drop();
  });

  test('creates exactly the upstream v7 schema, idempotently', async () => {
    const { db } = await fresh();
    assert.equal(DATA_LAKE_SCHEMA_VERSION, 7);
    assert.equal(await readDataLakeSchemaVersion(db), 0);
    assert.equal(await migrateDataLake(db), 7);
    const first = await schemaSnapshot(db);
    assert.deepEqual(first, EXPECTED_V7);
    assert.deepEqual((await db.query('SELECT version FROM migration')).rows, [{ version: 7 }]);
    assert.equal(await migrateDataLake(db), 7);
    assert.deepEqual(await schemaSnapshot(db), first);
    assert.deepEqual((await db.query('SELECT version FROM migration')).rows, [{ version: 7 }]);
  });

  test('four concurrent migrations from separate pools produce one schema', async () => {
    const { t, db } = await fresh();
    const pools = await Promise.all(
      [1, 2, 3, 4].map(() => openDatabase({ connectionString: t.connectionString, dataDir: '/unused' }, { poolSize: 2 })),
    );
    opened.push(...pools);
    const versions = await Promise.all(pools.map((p) => migrateDataLake(p)));
    assert.deepEqual(versions, [7, 7, 7, 7]);
    assert.deepEqual(await schemaSnapshot(db), EXPECTED_V7);
    assert.deepEqual((await db.query('SELECT version FROM migration')).rows, [{ version: 7 }]);
  });

  test('upgrades a v1 database created by hand the way upstream does', async () => {
    const { db } = await fresh();
    await seedV1(db);
    assert.equal(await readDataLakeSchemaVersion(db), 1);
    await assertUpgradedV1(db);
  });

  test('v6 backfills the audience of existing ingestion keys with public and enforces its charset', async () => {
    const { db } = await fresh();
    // A v5 database as upstream left it: migrate fully, then undo the v6 and v7 steps.
    await migrateDataLake(db);
    await db.query('DROP TABLE audience_grants');
    await db.query('ALTER TABLE ingestion_api_keys DROP COLUMN audience');
    await db.query('UPDATE migration SET version = 5');
    await db.query(
      `INSERT INTO ingestion_api_keys(key_id, key_hash, name, created_at, created_by)
       VALUES (gen_random_uuid(), '\\x01', 'k', now(), 'me')`,
    );
    assert.equal(await migrateDataLake(db), 7);
    assert.deepEqual((await db.query('SELECT audience FROM ingestion_api_keys')).rows, [{ audience: 'public' }]);
    await assert.rejects(
      db.query(
        `INSERT INTO ingestion_api_keys(key_id, key_hash, name, created_at, created_by, audience)
         VALUES (gen_random_uuid(), '\\x02', 'k2', now(), 'me', 'bad audience!')`,
      ),
      (err: Error & { code?: string }) => err.code === '23514',
    );
  });

  test('a newer upstream version is left untouched', async () => {
    const { db } = await fresh();
    await migrateDataLake(db);
    await db.query('UPDATE migration SET version = 9');
    assert.equal(await migrateDataLake(db), 9);
  });
});

describe('migrateDataLake on PGlite', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mm-lake-mig-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('creates the same v7 schema, idempotently, and keeps it across reopen', async () => {
    const dataDir = join(dir, 'fresh');
    let db = await openDatabase({ dataDir });
    try {
      assert.equal(db.kind, 'pglite');
      assert.equal(await migrateDataLake(db), 7);
      assert.deepEqual(await schemaSnapshot(db), EXPECTED_V7);
      assert.equal(await migrateDataLake(db), 7);
    } finally {
      await db.close();
    }
    db = await openDatabase({ dataDir });
    try {
      assert.equal(await readDataLakeSchemaVersion(db), 7);
      assert.equal(await migrateDataLake(db), 7);
      assert.deepEqual(await schemaSnapshot(db), EXPECTED_V7);
    } finally {
      await db.close();
    }
  });

  test('concurrent migrate calls on one PGlite are serialized', async () => {
    const db = await openDatabase({ dataDir: ':memory:' });
    try {
      assert.deepEqual(await Promise.all([1, 2, 3, 4].map(() => migrateDataLake(db))), [7, 7, 7, 7]);
      assert.deepEqual(await schemaSnapshot(db), EXPECTED_V7);
    } finally {
      await db.close();
    }
  });

  test('upgrades a hand-made v1 database', async () => {
    const db = await openDatabase({ dataDir: ':memory:' });
    try {
      await seedV1(db);
      await assertUpgradedV1(db);
    } finally {
      await db.close();
    }
  });
});
