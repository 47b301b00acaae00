// Helpers for tests that need real services: a throw-away database on the real PostgreSQL server
// and a moto S3-compatible server on loopback. Not used by production code.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import pg from 'pg';
import { migrateDataLake, openDatabase, openObjectStore, type Database, type Lake } from './index.ts';

export const TEST_PG_ADMIN_URL = process.env.MICROMEGAS_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDatabase {
  connectionString: string;
  drop(): Promise<void>;
}

/** Creates an empty database with a unique name; `drop()` removes it (terminating stray connections). */
export async function createTestDatabase(prefix = 'mm_test'): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(TEST_PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    connectionString: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: TEST_PG_ADMIN_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface TestS3Server {
  endpoint: string;
  stop(): Promise<void>;
}

/** Starts moto's S3-compatible HTTP server on a free loopback port. */
export async function startTestS3Server(): Promise<TestS3Server> {
  const port = await freePort();
  const child: ChildProcess = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  // A test process that dies without calling stop() must not leave moto running.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited: ${stderr.slice(-500)}`);
    try {
      const res = await fetch(`${endpoint}/moto-api/`);
      if (res.status < 500) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`moto_server did not start on ${endpoint}: ${stderr.slice(-500)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    endpoint,
    async stop() {
      if (child.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    },
  };
}

export interface TestLake extends Lake {
  /** Closes the lake and drops its PostgreSQL database. */
  drop(): Promise<void>;
}

export interface OpenTestDatabase {
  db: Database;
  /** Set for PostgreSQL. */
  connectionString?: string;
  /** Closes the database and drops it (PostgreSQL). */
  drop(): Promise<void>;
}

/** An empty database: a new one on the real PostgreSQL server, or in-memory PGlite. */
export async function openTestDatabase(kind: 'postgres' | 'pglite', prefix = 'mm_test'): Promise<OpenTestDatabase> {
  if (kind === 'pglite') {
    const db = await openDatabase({ dataDir: ':memory:' });
    return { db, drop: () => db.close() };
  }
  const t = await createTestDatabase(prefix);
  const db = await openDatabase({ connectionString: t.connectionString, dataDir: '' });
  return {
    db,
    connectionString: t.connectionString,
    async drop() {
      await db.close();
      await t.drop();
    },
  };
}

/**
 * A fresh, migrated lake: a new database on the real PostgreSQL server, or in-memory PGlite; a memory
 * object store unless `storeUri` says otherwise.
 */
export async function openTestLake(kind: 'postgres' | 'pglite', storeUri = `memory://${randomUUID()}`, prefix = 'mm_lake'): Promise<TestLake> {
  const { db, connectionString, drop: dropDb } = await openTestDatabase(kind, prefix);
  await migrateDataLake(db);
  const blobs = openObjectStore(storeUri);
  return {
    config: { connectionString, dataDir: ':memory:', objectStoreUri: storeUri },
    db,
    blobs,
    async close() {
      await db.close();
      await blobs.close();
    },
    async drop() {
      await blobs.close();
      await dropDb();
    },
  };
}

/** A seeded pseudo-random generator (mulberry32) of numbers in [0, 1): reproducible test and bench data. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
