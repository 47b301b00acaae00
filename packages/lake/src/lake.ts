// A data lake handle: its configuration, the metadata database and the blob store, opened together.
import type { LakeConfig } from './config.ts';
import type { Database, DatabaseOptions } from './database.ts';
import { openDatabase } from './database.ts';
import { migrateDataLake } from './migration.ts';
import type { ObjectStore } from './object_store.ts';
import { openObjectStore } from './object_store.ts';

export interface Lake {
  readonly config: LakeConfig;
  readonly db: Database;
  readonly blobs: ObjectStore;
  close(): Promise<void>;
}

export interface OpenLakeOptions extends DatabaseOptions {
  /** Create/upgrade the data-lake schema (default true). */
  migrate?: boolean;
  /** Environment for the object store (AWS_* variables); defaults to process.env. */
  env?: NodeJS.ProcessEnv;
}

export async function openLake(config: LakeConfig, options: OpenLakeOptions = {}): Promise<Lake> {
  const blobs = openObjectStore(config.objectStoreUri, options.env ?? process.env);
  let db: Database | undefined;
  try {
    db = await openDatabase(config, options);
    if (options.migrate ?? true) await migrateDataLake(db);
  } catch (err) {
    await db?.close().catch(() => {});
    await blobs.close().catch(() => {});
    throw err;
  }
  const opened = db;
  let closing: Promise<void> | undefined;
  return {
    config,
    db: opened,
    blobs,
    close() {
      closing ??= Promise.allSettled([opened.close(), blobs.close()]).then((results) => {
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
      });
      return closing;
    },
  };
}

export const READY_TIMEOUT_MS = 2000;

export class NotReadyError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NotReadyError';
  }
}

async function within<T>(what: string, ms: number, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new NotReadyError(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work(), timeout]);
  } catch (err) {
    if (err instanceof NotReadyError) throw err;
    throw new NotReadyError(`${what}: ${(err as Error).message}`, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves when the database answers SELECT 1 and the object store can be listed, each within 2 s. */
export async function checkReady(lake: Pick<Lake, 'db' | 'blobs'>, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
  await Promise.all([
    within('database', timeoutMs, () => lake.db.query('SELECT 1')),
    within('object store', timeoutMs, () => lake.blobs.probe()),
  ]);
}
