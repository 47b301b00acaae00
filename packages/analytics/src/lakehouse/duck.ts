// The embedded DuckDB the lakehouse uses for its SQL views (log_stats, processes/streams merges) and
// for merging partitions: it reads Parquet partitions and writes the result as one Parquet file.
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { ObjectStore } from '@micromegas/lake';

export function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

/** A SQL list literal of file paths for read_parquet. */
export function parquetList(paths: readonly string[]): string {
  return `[${paths.map(sqlString).join(', ')}]`;
}

export class DuckEngine {
  private constructor(private readonly instance: DuckDBInstance) {}

  static async create(options: { threads?: number; memoryLimit?: string } = {}): Promise<DuckEngine> {
    const instance = await DuckDBInstance.create(':memory:', {
      threads: String(options.threads ?? 2),
      memory_limit: options.memoryLimit ?? '1GB',
    });
    return new DuckEngine(instance);
  }

  async withConnection<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    const c = await this.instance.connect();
    try {
      return await fn(c);
    } finally {
      c.closeSync();
    }
  }

  /** Rows of a query as plain objects (bigint for BIGINT, etc.). */
  async rows(sql: string): Promise<Record<string, unknown>[]> {
    return this.withConnection(async (c) => (await c.runAndReadAll(sql)).getRowObjects() as Record<string, unknown>[]);
  }

  /** Runs `sql` and returns its result as a Parquet file (LZ4_RAW, 128 Ki-row groups). */
  async queryToParquet(sql: string): Promise<Uint8Array> {
    const dir = await mkdtemp(join(tmpdir(), 'mm-duck-'));
    try {
      const out = join(dir, 'out.parquet');
      // No Bloom filters: DuckDB 1.5.6 probes those of dictionary-encoded BLOB columns wrongly, so
      // `trace_id = unhex(…)` missed rows of merged files (duckdb/duckdb#24994).
      await this.withConnection((c) => c.run(`COPY (${sql}) TO ${sqlString(out)} (FORMAT parquet, COMPRESSION lz4_raw, ROW_GROUP_SIZE 131072, WRITE_BLOOM_FILTER false)`));
      return new Uint8Array(await readFile(out));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  close(): void {
    this.instance.closeSync();
  }
}

/** Where copies of remote partition files are kept (they are immutable: unique names, never rewritten). */
export const PARTITION_CACHE_DIR = join(tmpdir(), 'micromegas-partition-cache');
const CACHE_MAX_BYTES = 4 * 1024 ** 3;
let cachedBytes = -1;

async function cacheUsage(dir: string): Promise<{ path: string; size: number; atime: number }[]> {
  const out: { path: string; size: number; atime: number }[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else {
        const st = await stat(p).catch(() => undefined);
        if (st) out.push({ path: p, size: st.size, atime: st.atimeMs });
      }
    }
  };
  await walk(dir);
  return out;
}

/** Deletes the least recently used copies until the cache holds at most maxBytes. */
export async function prunePartitionCache(maxBytes = CACHE_MAX_BYTES): Promise<void> {
  const files = await cacheUsage(PARTITION_CACHE_DIR);
  let total = files.reduce((s, f) => s + f.size, 0);
  files.sort((a, b) => a.atime - b.atime);
  for (const f of files) {
    if (total <= maxBytes) break;
    await rm(f.path, { force: true });
    total -= f.size;
  }
  cachedBytes = total;
}

/** The local folder holding a store's objects: the store itself (file://) or its cache copy. */
export function localStoreRoot(storeUri: string): string {
  if (storeUri.startsWith('file://')) return fileURLToPath(storeUri);
  return join(PARTITION_CACHE_DIR, createHash('sha256').update(storeUri).digest('hex').slice(0, 16));
}

/**
 * Local paths of objects for DuckDB to read: the files themselves for a file:// store, otherwise
 * copies kept in a local cache (downloaded once; least recently used ones pruned beyond 4 GiB).
 */
export async function localObjectPaths(store: ObjectStore, keys: readonly string[]): Promise<{ paths: string[]; release: () => Promise<void> }> {
  const root = localStoreRoot(store.uri);
  if (store.uri.startsWith('file://')) {
    return { paths: keys.map((k) => join(root, ...k.split('/'))), release: async () => {} };
  }
  const paths = await Promise.all(
    keys.map(async (key) => {
      const path = join(root, ...key.split('/'));
      if (await stat(path).then(() => true, () => false)) return path;
      const bytes = await store.get(key);
      if (!bytes) throw new Error(`object ${key} is missing from the store`);
      await mkdir(dirname(path), { recursive: true });
      const partial = `${path}.${randomUUID()}.partial`;
      await writeFile(partial, bytes);
      await rename(partial, path);
      if (cachedBytes >= 0) cachedBytes += bytes.length;
      return path;
    }),
  );
  if (cachedBytes < 0 || cachedBytes > CACHE_MAX_BYTES) await prunePartitionCache();
  return { paths, release: async () => {} };
}
