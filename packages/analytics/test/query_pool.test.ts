import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { DuckDBConnection } from '@duckdb/node-api';
import { DEFAULT_GLOBAL_VIEWS, openLakehouse, type Lakehouse } from '../src/index.ts';
import { QueryError } from '../src/query/engine.ts';
import { InstancePool, type SandboxInstance } from '../src/query/instance_pool.ts';
import { LakehouseQueryEngine } from '../src/query/lakehouse_engine.ts';
import { openTestLake, type TestLake } from './fixtures.ts';

async function runQuery(engine: LakehouseQueryEngine, sql: string): Promise<{ rows: Record<string, unknown>[] }> {
  const result = await engine.execute({ sql, caller: { name: 'test', admin: false }, queryId: 'q1' });
  const rows: Record<string, unknown>[] = [];
  for await (const b of result.batches) rows.push(...b.toArray().map((r) => r.toJSON() as Record<string, unknown>));
  return { rows };
}

const tempDirOf = async (c: DuckDBConnection) => (await c.runAndReadAll(`SELECT current_setting('temp_directory') AS t`)).getRowObjects()[0]!.t as string;

async function withConnection<T>(instance: SandboxInstance, fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
  const c = await instance.connect();
  try {
    return await fn(c);
  } finally {
    c.closeSync();
  }
}

async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(check(), what);
}

describe('instance pool', () => {
  let dir: string;
  let pool: InstancePool;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mm-pool-'));
    await mkdir(join(dir, 'views', 'a'), { recursive: true });
    await writeFile(join(dir, 'views', 'a', 'in.csv'), 'x\n42\n');
    await writeFile(join(dir, 'outside.csv'), 'x\n7\n');
    pool = new InstancePool({ size: 1, prewarm: 0, threads: 1, memoryLimit: '64MB', readable: [join(dir, 'views')], setup: [] });
  });
  after(async () => {
    await pool.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('a long-lived instance stays sandboxed and locked for every connection', async () => {
    const lease = await pool.acquire();
    // Earlier connections (earlier queries) leave nothing behind for later ones.
    await withConnection(lease.instance, (c) => c.run(`CREATE TEMP VIEW v AS SELECT 1 AS one`));
    await withConnection(lease.instance, async (c) => {
      const refused = async (sql: string, message: RegExp) => {
        await assert.rejects(c.run(sql), (e: Error) => message.test(e.message), sql);
      };
      const rows = (await c.runAndReadAll(`SELECT x, now() IS NOT NULL AS macro, current_setting('TimeZone') AS tz FROM read_csv('${join(dir, 'views', 'a', 'in.csv')}')`)).getRowObjects();
      assert.deepEqual(rows, [{ x: 42n, macro: true, tz: 'UTC' }]);
      await refused('SELECT * FROM v', /Catalog Error/);
      const denied = /Permission Error|disabled/;
      await refused(`SELECT * FROM read_csv('/etc/passwd')`, denied);
      await refused(`SELECT * FROM read_text('/etc/hostname')`, denied);
      await refused(`SELECT * FROM read_csv('${join(dir, 'outside.csv')}')`, denied);
      await refused(`SELECT * FROM read_csv('${dir}/views/a/../../outside.csv')`, denied);
      await refused(`SELECT * FROM glob('${dir}/*')`, denied);
      await refused(`COPY (SELECT 1) TO '${join(dir, 'copy.csv')}'`, denied);
      await refused(`COPY (SELECT 1) TO '${join(tmpdir(), 'mm-pool-copy.csv')}'`, denied);
      await refused(`ATTACH '${join(dir, 'x.db')}'`, denied);
      await refused('INSTALL httpfs', denied);
      await refused('LOAD httpfs', denied);
      const locked = /configuration has been locked/;
      for (const sql of ['SET enable_external_access = true', `SET allowed_directories = ['/']`, 'RESET allowed_directories', `SET memory_limit = '10GB'`,
        "PRAGMA memory_limit = '10GB'", 'SET threads = 8', `SET TimeZone = 'Europe/Paris'`, 'SET lock_configuration = false', `SET GLOBAL temp_directory = '/tmp'`]) {
        await refused(sql, locked);
      }
      assert.ok(!existsSync(join(dir, 'copy.csv')) && !existsSync(join(dir, 'x.db')));
    });
    lease.release(true);
  });

  test('a healthy instance is reused; an unhealthy one is destroyed and replaced', async () => {
    const first = await pool.acquire();
    const temp = await withConnection(first.instance, tempDirOf);
    first.release(true);
    const again = await pool.acquire();
    assert.equal(again.instance, first.instance);
    again.release(false);
    assert.equal(pool.size, 1, 'replaced in the background, not one more');
    const next = await pool.acquire();
    assert.notEqual(next.instance, first.instance);
    assert.notEqual(await withConnection(next.instance, tempDirOf), temp);
    await eventually(() => !existsSync(temp), 'the discarded instance took its temp directory along');
    // Waiters queue for the single instance.
    let waited = false;
    const waiting = pool.acquire().then((l) => {
      waited = true;
      return l;
    });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(waited, false);
    next.release(true);
    (await waiting).release(true);
  });
});

describe('query engine on the pool', () => {
  let lake: TestLake;
  let house: Lakehouse;
  let store: string;
  before(async () => {
    store = await mkdtemp(join(tmpdir(), 'mm-pool-lake-'));
    lake = await openTestLake('postgres', pathToFileURL(store).href);
    house = await openLakehouse(lake, { log: () => {} });
  });
  after(async () => {
    await house.close();
    await lake.drop();
    await rm(store, { recursive: true, force: true });
  });
  const tempOf = async (engine: LakehouseQueryEngine) => (await runQuery(engine, `SELECT current_setting('temp_directory') AS t`)).rows[0]!.t as string;

  test('queries share an instance without seeing each other; timeouts and out-of-memory replace it', async () => {
    const engine = new LakehouseQueryEngine(house, { maxConcurrentQueries: 1, threads: 1, memoryLimit: '32MB', timeoutMs: 1500 });
    try {
      const temp = await tempOf(engine);
      assert.equal(await tempOf(engine), temp, 'one instance serves query after query');
      await runQuery(engine, 'SELECT * FROM list_view_sets()');
      const leftovers = await runQuery(engine, `SELECT (SELECT count(*) FROM duckdb_tables() WHERE temporary) AS t, (SELECT count(*) FROM duckdb_views() WHERE NOT internal) AS v`);
      const views = BigInt(DEFAULT_GLOBAL_VIEWS.length + 3);
      assert.deepEqual(leftovers.rows, [{ t: 0n, v: views }], 'no table-function tables of earlier queries; the global views + 3 partition views, once');
      assert.equal(await tempOf(engine), temp);

      const timeout = await runQuery(engine, 'SELECT sum(a.range * b.range) AS s FROM range(200000) a, range(200000) b').then(() => undefined, (e: unknown) => e);
      assert.ok(timeout instanceof QueryError && timeout.kind === 'deadline_exceeded', String(timeout));
      const afterTimeout = await tempOf(engine);
      assert.notEqual(afterTimeout, temp, 'an interrupted instance is not reused');
      await eventually(() => !existsSync(temp), 'the interrupted instance is gone');

      const oom = await runQuery(engine, 'SELECT length(list(range)) AS n FROM range(20000000)').then(() => undefined, (e: unknown) => e);
      assert.ok(oom instanceof QueryError && oom.kind === 'resource_exhausted', String(oom));
      assert.notEqual(await tempOf(engine), afterTimeout, 'an instance that ran out of memory is not reused');

      // A refused query leaves the instance as it was.
      const current = await tempOf(engine);
      await assert.rejects(runQuery(engine, 'SELECT nope'), (e: QueryError) => e.kind === 'invalid_argument');
      await assert.rejects(runQuery(engine, `SELECT * FROM read_csv('/etc/passwd')`), (e: QueryError) => e.kind === 'permission_denied');
      assert.equal(await tempOf(engine), current);
    } finally {
      await engine.close();
    }
    await assert.rejects(engine.execute({ sql: 'SELECT 1', caller: { name: 't', admin: false }, queryId: 'late' }));
  });

  test('concurrent queries run on distinct instances, at most maxConcurrentQueries of them', async () => {
    const engine = new LakehouseQueryEngine(house, { maxConcurrentQueries: 2, threads: 1, prewarm: 2 });
    const caller = { name: 't', admin: false };
    const sql = `SELECT current_setting('temp_directory') AS t`;
    try {
      const [a, b] = await Promise.all([engine.execute({ sql, caller, queryId: 'a' }), engine.execute({ sql, caller, queryId: 'b' })]);
      let started = false;
      const c = engine.execute({ sql, caller, queryId: 'c' }).then((r) => {
        started = true;
        return r;
      });
      const temps: string[] = [];
      for await (const batch of a!.batches) temps.push(batch.get(0)!.t as string);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(started, true, 'a slot freed once a result is consumed');
      for await (const batch of b!.batches) temps.push(batch.get(0)!.t as string);
      for await (const batch of (await c).batches) temps.push(batch.get(0)!.t as string);
      assert.notEqual(temps[0], temps[1]);
      assert.ok(temps.slice(0, 2).includes(temps[2]!), 'the third query reuses an instance');
    } finally {
      await engine.close();
    }
  });
});
