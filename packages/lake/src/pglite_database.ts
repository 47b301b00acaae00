// Database backed by embedded PGlite (PostgreSQL compiled to WASM), persisted in a directory.
// PGlite has one connection; its own mutex serializes top-level queries and transactions, so a
// caller's transaction never interleaves with another caller's statements.
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { btree_gist } from '@electric-sql/pglite/contrib/btree_gist';
import type { Database, QueryResult, SqlExecutor } from './database.ts';
import { classifyDatabaseError, LakeUnavailableError } from './errors.ts';
import { normalizeParam, RESULT_PARSERS } from './sql_types.ts';

type PgliteLike = Pick<PGlite, 'query'> | Transaction;

async function run<R>(target: PgliteLike, sql: string, params?: unknown[]): Promise<QueryResult<R>> {
  try {
    const res = await target.query<R>(sql, params?.map(normalizeParam));
    const rowCount = res.fields.length > 0 ? res.rows.length : (res.affectedRows ?? 0);
    return { rows: res.rows, rowCount };
  } catch (err) {
    if (isRuntimeFailure(err)) {
      throw new LakeUnavailableError(`embedded database failed: ${(err as Error).message}`, { cause: err });
    }
    throw classifyDatabaseError(err, 'query');
  }
}

/** The WASM runtime aborted or the instance is closed: the database is gone, not the statement wrong. */
function isRuntimeFailure(err: unknown): boolean {
  return (
    err instanceof Error &&
    !('code' in err) &&
    /RuntimeError|ExitStatus|closed|abort/i.test(`${err.constructor.name} ${err.name} ${err.message}`)
  );
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** PGlite corrupts a data directory opened twice at once; a pid lock file refuses the second opener. */
async function acquireDirLock(lockPath: string): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(lockPath, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number((await readFile(lockPath, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) {
        throw new LakeUnavailableError(
          `embedded database ${lockPath.replace(/\.lock$/, '')} is in use by process ${pid}` +
            (pid === process.pid ? ' (this process)' : ''),
        );
      }
      await rm(lockPath, { force: true }); // stale lock of a dead process
    }
  }
  throw new LakeUnavailableError(`could not lock ${lockPath}`);
}

/** Opens PGlite in `<dataDir>/pg` (created when missing), or in memory when dataDir is undefined. */
export async function openPgliteDatabase(dataDir: string | undefined): Promise<Database> {
  let pgDir: string | undefined;
  let lockPath: string | undefined;
  if (dataDir !== undefined) {
    pgDir = join(dataDir, 'pg');
    lockPath = `${pgDir}.lock`;
    await mkdir(pgDir, { recursive: true });
    await acquireDirLock(lockPath);
  }
  let db: PGlite;
  try {
    // btree_gist backs the lakehouse's partition no-overlap exclusion constraint; PGlite can only
    // CREATE EXTENSION what was loaded at construction.
    db = await PGlite.create(pgDir, { parsers: RESULT_PARSERS, extensions: { btree_gist } });
  } catch (err) {
    if (lockPath) await rm(lockPath, { force: true });
    throw new LakeUnavailableError(`cannot open embedded database in ${pgDir ?? 'memory'}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  // Marks async contexts running inside a transaction callback: a top-level query there would wait
  // forever on the mutex the transaction holds, so it is refused instead.
  const inTransaction = new AsyncLocalStorage<boolean>();
  const refuseNested = () => {
    if (inTransaction.getStore()) {
      throw new Error('PGlite: use the transaction executor (tx.query), not the Database, inside transaction()');
    }
  };
  let closed: Promise<void> | undefined;

  return {
    kind: 'pglite',
    async query<R = Record<string, unknown>>(sql: string, params?: unknown[]) {
      refuseNested();
      return run<R>(db, sql, params);
    },
    async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      refuseNested();
      try {
        return await db.transaction((t) =>
          inTransaction.run(true, () => fn({ query: (sql, params) => run(t, sql, params) })),
        );
      } catch (err) {
        throw isRuntimeFailure(err) && !(err instanceof LakeUnavailableError)
          ? new LakeUnavailableError(`embedded database failed: ${(err as Error).message}`, { cause: err })
          : err;
      }
    },
    close() {
      closed ??= (async () => {
        try {
          await db.close();
        } finally {
          if (lockPath) await rm(lockPath, { force: true });
        }
      })();
      return closed;
    },
  };
}
