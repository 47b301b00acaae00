import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  checkReady,
  lakeConfigFrom,
  NotReadyError,
  openDatabase,
  openLake,
  openMemoryStore,
  openS3Store,
  readDataLakeSchemaVersion,
} from '../src/index.ts';
import { createTestDatabase, freePort, type TestDatabase } from '../src/testing.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

describe('openLake', () => {
  let dir: string;
  let pgTest: TestDatabase;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mm-lake-lake-'));
    pgTest = await createTestDatabase('mm_lake_open');
  });
  after(async () => {
    await pgTest.drop();
    await rm(dir, { recursive: true, force: true });
  });

  test('the default embedded lake migrates, is ready, and keeps blobs and rows across reopen', async () => {
    const config = lakeConfigFrom({}, { dataDir: join(dir, 'embedded') });
    let lake = await openLake(config);
    try {
      assert.equal(lake.db.kind, 'pglite');
      assert.equal(await readDataLakeSchemaVersion(lake.db), 7);
      await checkReady(lake);
      assert.equal(await lake.blobs.putIfAbsent('blobs/p/s/b', new Uint8Array([5])), 'created');
      await lake.db.query('INSERT INTO blocks(block_id, payload_size) VALUES (gen_random_uuid(), $1)', ['1']);
    } finally {
      await lake.close();
    }
    lake = await openLake(config);
    try {
      assert.deepEqual(await lake.blobs.get('blobs/p/s/b'), new Uint8Array([5]));
      assert.deepEqual((await lake.db.query('SELECT payload_size FROM blocks')).rows, [{ payload_size: '1' }]);
    } finally {
      await lake.close();
    }
  });

  test('PostgreSQL + memory store; migrate: false leaves the schema alone', async () => {
    const config = lakeConfigFrom({ MICROMEGAS_SQL_CONNECTION_STRING: pgTest.connectionString }, { objectStoreUri: 'memory://' });
    const bare = await openLake(config, { migrate: false });
    try {
      assert.equal(bare.db.kind, 'postgres');
      assert.equal(await readDataLakeSchemaVersion(bare.db), 0);
      await checkReady(bare);
    } finally {
      await bare.close();
    }
    const lake = await openLake(config);
    try {
      assert.equal(await readDataLakeSchemaVersion(lake.db), 7);
    } finally {
      await lake.close();
      await lake.close(); // closing twice is harmless
    }
  });

  test('a failed migration closes what was opened and rethrows', async () => {
    const port = await freePort();
    const config = lakeConfigFrom({}, { connectionString: `postgres://postgres@127.0.0.1:${port}/x`, objectStoreUri: 'memory://' });
    await assert.rejects(openLake(config, { connectTimeoutMs: 500 }), /database unavailable/);
  });
});

describe('checkReady', () => {
  test('fails with a reason when the database is unreachable', async () => {
    const port = await freePort();
    const db = await openDatabase({ connectionString: `postgres://postgres@127.0.0.1:${port}/x`, dataDir: '/unused' });
    try {
      await assert.rejects(checkReady({ db, blobs: openMemoryStore() }), (err: unknown) => {
        assert.ok(err instanceof NotReadyError);
        assert.match(err.message, /^database: /);
        return true;
      });
    } finally {
      await db.close();
    }
  });

  test('fails within the deadline when the object store never answers', async () => {
    const sockets: Socket[] = [];
    const server = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const db = await openDatabase({ dataDir: ':memory:' });
    const blobs = openS3Store('s3://silent-bucket/x', {
      AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`,
      AWS_ACCESS_KEY_ID: 'k',
      AWS_SECRET_ACCESS_KEY: 's',
    }, { requestTimeoutMs: 5000, maxAttempts: 1 });
    try {
      const started = Date.now();
      await assert.rejects(checkReady({ db, blobs }, 300), /object store: no answer within 300 ms/);
      assert.ok(Date.now() - started < 2000);
    } finally {
      await blobs.close();
      await db.close();
      for (const s of sockets) s.destroy();
      server.close();
    }
  });
});
