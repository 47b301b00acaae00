import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openDatabase, type Database } from '../src/index.ts';

/** A gist exclusion constraint over (text =, tstzrange &&) needs btree_gist for the text equality. */
async function insertOverlap(db: Database): Promise<unknown> {
  await db.query(`INSERT INTO ranges VALUES ('a', '2024-01-01', '2024-01-02')`);
  await db.query(`INSERT INTO ranges VALUES ('b', '2024-01-01', '2024-01-02')`); // other key: allowed
  return db.query(`INSERT INTO ranges VALUES ('a', '2024-01-01 12:00', '2024-01-03')`).then(
    () => undefined,
    (e: unknown) => e,
  );
}

test('pglite: btree_gist is available, and still after reopening a persisted directory', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mm-lake-gist-'));
  try {
    let db = await openDatabase({ dataDir: dir });
    try {
      await db.query('CREATE EXTENSION IF NOT EXISTS btree_gist');
      await db.query(`CREATE TABLE ranges(k text, b timestamptz, e timestamptz,
                        CONSTRAINT ranges_no_overlap EXCLUDE USING gist (k WITH =, tstzrange(b, e) WITH &&))`);
      const err = (await insertOverlap(db)) as { code?: string; constraint?: string } | undefined;
      assert.equal(err?.code, '23P01');
      assert.equal(err?.constraint, 'ranges_no_overlap');
    } finally {
      await db.close();
    }
    db = await openDatabase({ dataDir: dir });
    try {
      // Using the gist index after reopen needs the extension's code loaded again.
      await db.query(`INSERT INTO ranges VALUES ('c', '2024-01-01', '2024-01-02')`);
      await assert.rejects(
        db.query(`INSERT INTO ranges VALUES ('c', '2024-01-01 06:00', '2024-01-01 07:00')`),
        (e: { code?: string }) => e.code === '23P01',
      );
      assert.equal((await db.query('SELECT count(*)::int AS n FROM ranges')).rows[0]!.n, 3);
    } finally {
      await db.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('pglite in memory: CREATE EXTENSION btree_gist succeeds', async () => {
  const db = await openDatabase({ dataDir: ':memory:' });
  try {
    await db.query('CREATE EXTENSION IF NOT EXISTS btree_gist');
    const res = await db.query<{ extname: string }>("SELECT extname FROM pg_extension WHERE extname = 'btree_gist'");
    assert.deepEqual(res.rows, [{ extname: 'btree_gist' }]);
  } finally {
    await db.close();
  }
});
