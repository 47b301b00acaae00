import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  isTransient,
  LakeUnavailableError,
  migrateDataLake,
  openDatabase,
  parsePropertiesLiteral,
  type Database,
} from '../src/index.ts';
import { createTestDatabase, freePort, type TestDatabase } from '../src/testing.ts';

const BIG = '9007199254740993'; // 2^53 + 1: not representable as a JS number
const PROCESS_ID = '0b6c3e3a-5f7e-4d1b-9b1e-2f1e0c9d8a7b';
const BYTES = new Uint8Array([0, 1, 2, 254, 255]);

/** Runs the same statements on a backend and returns what came back, for comparison across backends. */
async function roundTrip(db: Database) {
  const scalars = await db.query(
    `SELECT $1::bigint AS big, $2::timestamptz AS ts, $3::bytea AS bytes, $4::text[] AS tags, $5::uuid AS id,
            $6::int AS n, $7::float8 AS f, $8::bool AS b, $9::text AS nothing, $10::bigint AS from_bigint,
            '2024-03-01 12:00:00.5-05:30'::timestamptz AS offset_ts, ARRAY[$1::bigint, NULL] AS bigs,
            ARRAY[$2::timestamptz] AS stamps, 12.50::numeric AS num, '2024-02-29'::date AS day,
            '2024-02-29 01:02:03.4'::timestamp AS naive, '{"a":[1]}'::jsonb AS doc`,
    [BIG, '2024-01-02T03:04:05.123456Z', BYTES, ['a', 'b "c"', 'd,e', ''], PROCESS_ID, 42, 1.5, true, null, 2n ** 62n],
  );
  await migrateDataLake(db);
  await db.query(
    `INSERT INTO processes VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now(), $11,
       ARRAY(SELECT ROW(k, v)::micromegas_property FROM unnest($12::text[], $13::text[]) AS t(k, v)))`,
    [PROCESS_ID, 'exe', 'user', 'real', 'host', 'linux', 'cpu', '1000000000', '2024-01-02T03:04:05.000001Z', BIG, null,
      ['k1', 'key "two"', 'comma,key'], ['v1', 'with (parens)', 'x\\y']],
  );
  const process = await db.query(
    'SELECT process_id, tsc_frequency, start_time, start_ticks, parent_process_id, properties FROM processes',
  );
  const asJson = await db.query('SELECT array_to_json(properties)::text AS props FROM processes');
  const conflict = await db.query('INSERT INTO processes(process_id) VALUES ($1) ON CONFLICT (process_id) DO NOTHING', [
    PROCESS_ID,
  ]);
  return { scalars: scalars.rows, process: process.rows, asJson: asJson.rows, conflictCount: conflict.rowCount };
}

describe('Database backends', () => {
  let pgTest: TestDatabase;
  let pgDb: Database;
  let liteDb: Database;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mm-lake-db-'));
    pgTest = await createTestDatabase('mm_lake_db');
    pgDb = await openDatabase({ connectionString: pgTest.connectionString, dataDir: dir });
    liteDb = await openDatabase({ dataDir: join(dir, 'lite') });
  });
  after(async () => {
    await pgDb?.close();
    await liteDb?.close();
    await pgTest?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  test('bind the same params and return the same JS values on PostgreSQL and PGlite', async () => {
    assert.equal(pgDb.kind, 'postgres');
    assert.equal(liteDb.kind, 'pglite');
    const fromPg = await roundTrip(pgDb);
    const fromLite = await roundTrip(liteDb);
    assert.deepStrictEqual(fromLite, fromPg);

    const s = fromPg.scalars[0]!;
    assert.equal(s.big, BIG);
    assert.equal(s.from_bigint, (2n ** 62n).toString());
    assert.equal(s.ts, '2024-01-02T03:04:05.123456Z');
    assert.equal(s.offset_ts, '2024-03-01T17:30:00.500000Z');
    assert.deepStrictEqual(s.bytes, BYTES);
    assert.equal(Object.getPrototypeOf(s.bytes), Uint8Array.prototype, 'a plain Uint8Array, not a Buffer');
    assert.deepEqual(s.tags, ['a', 'b "c"', 'd,e', '']);
    assert.equal(s.id, PROCESS_ID);
    assert.equal(s.n, 42);
    assert.equal(s.f, 1.5);
    assert.equal(s.b, true);
    assert.equal(s.nothing, null);
    assert.deepEqual(s.bigs, [BIG, null]);
    assert.deepEqual(s.stamps, ['2024-01-02T03:04:05.123456Z']);
    assert.equal(s.num, '12.50');
    assert.equal(s.day, '2024-02-29');
    assert.equal(s.naive, '2024-02-29T01:02:03.400000');
    assert.deepEqual(s.doc, { a: [1] });

    const p = fromPg.process[0]!;
    assert.equal(p.tsc_frequency, '1000000000');
    assert.equal(p.start_ticks, BIG);
    assert.equal(p.start_time, '2024-01-02T03:04:05.000001Z');
    assert.equal(p.parent_process_id, null);
    assert.deepEqual(parsePropertiesLiteral(p.properties as string), [
      { key: 'k1', value: 'v1' },
      { key: 'key "two"', value: 'with (parens)' },
      { key: 'comma,key', value: 'x\\y' },
    ]);
    assert.deepEqual(JSON.parse(fromPg.asJson[0]!.props as string), [
      { key: 'k1', value: 'v1' },
      { key: 'key "two"', value: 'with (parens)' },
      { key: 'comma,key', value: 'x\\y' },
    ]);
    assert.equal(fromPg.conflictCount, 0, 'ON CONFLICT DO NOTHING reports no affected row');
  });

  for (const kind of ['postgres', 'pglite'] as const) {
    test(`${kind}: transaction commits, rolls back on throw, and isolates concurrent callers`, async () => {
      const db = kind === 'postgres' ? pgDb : liteDb;
      await db.query('CREATE TABLE IF NOT EXISTS counter_tx(n int)');
      await db.query('DELETE FROM counter_tx');
      const ret = await db.transaction(async (tx) => {
        await tx.query('INSERT INTO counter_tx VALUES (1)');
        return 'done';
      });
      assert.equal(ret, 'done');
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.query('INSERT INTO counter_tx VALUES (2)');
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.deepEqual((await db.query('SELECT n FROM counter_tx')).rows, [{ n: 1 }]);

      // 10 concurrent read-modify-write transactions, each pausing mid-way. On PGlite the queue keeps
      // them from interleaving; on PostgreSQL the row lock does. Either way no increment is lost.
      await db.query('CREATE TABLE IF NOT EXISTS counter_rmw(id int primary key, n int)');
      await db.query('INSERT INTO counter_rmw VALUES (1, 0) ON CONFLICT (id) DO UPDATE SET n = 0');
      await Promise.all(
        Array.from({ length: 10 }, () =>
          db.transaction(async (tx) => {
            const cur = await tx.query<{ n: number }>('SELECT n FROM counter_rmw WHERE id = 1 FOR UPDATE');
            await new Promise((r) => setTimeout(r, 5));
            await tx.query('UPDATE counter_rmw SET n = $1 WHERE id = 1', [cur.rows[0]!.n + 1]);
          }),
        ),
      );
      assert.deepEqual((await db.query('SELECT n FROM counter_rmw')).rows, [{ n: 10 }]);
    });

    test(`${kind}: SQL errors keep their SQLSTATE and are not transient`, async () => {
      const db = kind === 'postgres' ? pgDb : liteDb;
      const err = await db.query('SELEC 1').catch((e: unknown) => e);
      assert.equal((err as { code?: string }).code, '42601');
      assert.equal(isTransient(err), false);
      assert.ok(!(err instanceof LakeUnavailableError));
    });
  }

  test('pglite: using the Database inside its own transaction fails fast instead of deadlocking', async () => {
    await assert.rejects(
      liteDb.transaction(async () => {
        await liteDb.query('SELECT 1');
      }),
      /use the transaction executor/,
    );
    assert.deepEqual((await liteDb.query('SELECT 1 AS one')).rows, [{ one: 1 }]);
  });

  test('pglite: data persists across close and reopen, and a second opener is refused', async () => {
    const dataDir = join(dir, 'persist');
    const db = await openDatabase({ dataDir });
    await db.query('CREATE TABLE kept(v bigint)');
    await db.query('INSERT INTO kept VALUES ($1)', [BIG]);
    await assert.rejects(openDatabase({ dataDir }), (e: unknown) => e instanceof LakeUnavailableError && /in use/.test((e as Error).message));
    await db.close();
    assert.ok((await stat(join(dataDir, 'pg'))).isDirectory());
    const again = await openDatabase({ dataDir });
    try {
      assert.deepEqual((await again.query('SELECT v FROM kept')).rows, [{ v: BIG }]);
    } finally {
      await again.close();
    }
  });

  test('pglite: queries after close are reported as unavailable', async () => {
    const db = await openDatabase({ dataDir: ':memory:' });
    await db.close();
    const err = await db.query('SELECT 1').catch((e: unknown) => e);
    assert.ok(err instanceof LakeUnavailableError, String(err));
    assert.equal(isTransient(err), true);
  });

  test('postgres: an unreachable server is reported as LakeUnavailableError quickly', async () => {
    const port = await freePort();
    const db = await openDatabase(
      { connectionString: `postgres://postgres@127.0.0.1:${port}/nope`, dataDir: dir },
      { connectTimeoutMs: 1000 },
    );
    try {
      const started = Date.now();
      const err = await db.query('SELECT 1').catch((e: unknown) => e);
      assert.ok(err instanceof LakeUnavailableError, String(err));
      assert.equal(isTransient(err), true);
      const txErr = await db.transaction(async () => 1).catch((e: unknown) => e);
      assert.ok(txErr instanceof LakeUnavailableError, String(txErr));
      assert.ok(Date.now() - started < 5000);
    } finally {
      await db.close();
    }
  });

  test('postgres: a server-side terminated connection is transient', async () => {
    const db = await openDatabase({ connectionString: pgTest.connectionString, dataDir: dir }, { poolSize: 1 });
    try {
      const err = await db
        .transaction(async (tx) => {
          await tx.query('SELECT pg_terminate_backend(pg_backend_pid())');
        })
        .catch((e: unknown) => e);
      assert.ok(err instanceof LakeUnavailableError, String(err));
      // The pool replaces the dead connection.
      assert.deepEqual((await db.query('SELECT 1 AS one')).rows, [{ one: 1 }]);
    } finally {
      await db.close();
    }
  });
});
