// The embedded DuckDB the lakehouse uses for its SQL views (log_stats, processes/streams merges) and
// for merging partitions: it reads Parquet partitions and writes the result as one Parquet file.
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
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
      await this.withConnection((c) => c.run(`COPY (${sql}) TO ${sqlString(out)} (FORMAT parquet, COMPRESSION lz4_raw, ROW_GROUP_SIZE 131072)`));
      return new Uint8Array(await readFile(out));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  close(): void {
    this.instance.closeSync();
  }
}

/**
 * Local paths of objects for DuckDB to read: the files themselves for a file:// store, otherwise
 * copies in a temporary directory that `release` removes.
 */
export async function localObjectPaths(store: ObjectStore, keys: readonly string[]): Promise<{ paths: string[]; release: () => Promise<void> }> {
  if (store.uri.startsWith('file://')) {
    const root = fileURLToPath(store.uri);
    return { paths: keys.map((k) => join(root, ...k.split('/'))), release: async () => {} };
  }
  const dir = await mkdtemp(join(tmpdir(), 'mm-objects-'));
  const paths: string[] = [];
  try {
    for (const key of keys) {
      const bytes = await store.get(key);
      if (!bytes) throw new Error(`object ${key} is missing from the store`);
      const path = join(dir, ...key.split('/'));
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, bytes);
      paths.push(path);
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return { paths, release: () => rm(dir, { recursive: true, force: true }) };
}
