// Files scheduled for deletion: replaced partition files stay readable for a grace period so queries
// that already planned them can finish, then the cleanup pass deletes them (upstream temp.rs).
import type { Database, ObjectStore, SqlExecutor } from '@micromegas/lake';
import { formatTimestampNanos, type Nanos } from '../../time.ts';

/** How long a retired partition file outlives its catalog row. */
export const TEMPORARY_FILE_GRACE_NS: Nanos = 3_600n * 1_000_000_000n;

export const CLEANUP_BATCH_SIZE = 1000;

export function nowNanos(): Nanos {
  return BigInt(Date.now()) * 1_000_000n;
}

/** Expiration for a file retired now: now + 1 h, like upstream's add_file_for_cleanup. */
export function cleanupExpiration(now: Nanos = nowNanos()): Nanos {
  return now + TEMPORARY_FILE_GRACE_NS;
}

export async function addTemporaryFile(
  tx: SqlExecutor,
  filePath: string,
  fileSize: bigint | number,
  expiration: Nanos,
): Promise<void> {
  await tx.query('INSERT INTO temporary_files(file_path, file_size, expiration) VALUES ($1, $2, $3)', [
    filePath,
    BigInt(fileSize),
    formatTimestampNanos(expiration),
  ]);
}

const DELETE_CONCURRENCY = 16;

/** Deletes objects a few at a time (a missing object is not an error for any store). */
export async function deleteObjects(store: ObjectStore, keys: string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += DELETE_CONCURRENCY) {
    await Promise.all(keys.slice(i, i + DELETE_CONCURRENCY).map((k) => store.delete(k)));
  }
}

/**
 * Deletes the temporary files that expired before `now` (rows and objects), 1000 per transaction.
 * A batch's rows are only removed once its objects are gone, so a failing store leaves them for the
 * next pass. Returns the number of files deleted.
 */
export async function deleteExpiredTemporaryFiles(db: Database, store: ObjectStore, now: Nanos = nowNanos()): Promise<number> {
  const cutoff = formatTimestampNanos(now);
  let total = 0;
  for (;;) {
    const count = await db.transaction(async (tx) => {
      // ctid rather than file_path: the table has no key and a path may be listed twice.
      const res = await tx.query<{ file_path: string | null }>(
        `DELETE FROM temporary_files
          WHERE ctid IN (SELECT ctid FROM temporary_files WHERE expiration < $1 LIMIT $2)
          RETURNING file_path`,
        [cutoff, CLEANUP_BATCH_SIZE],
      );
      const paths = [...new Set(res.rows.map((r) => r.file_path).filter((p): p is string => p !== null))];
      await deleteObjects(store, paths);
      return res.rows.length;
    });
    total += count;
    if (count < CLEANUP_BATCH_SIZE) return total;
  }
}
