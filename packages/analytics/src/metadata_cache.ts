// Streams and processes never change once ingested (rows are only inserted, or deleted by
// retention), so the just-in-time path keeps them in memory by id instead of reading them again for
// every query and joining their metadata to every block row.
import type { SqlExecutor } from '@micromegas/lake';
import { BLOCK_SELECT, blockFromRow, findProcess, findStream, type BlockWithContext, type ProcessMeta, type StreamMeta } from './metadata.ts';

const MAX_ENTRIES = 20_000;

/** A map of at most `max` entries that forgets the least recently used. */
class LruMap<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly max: number) {}

  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  set(key: string, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }

  delete(key: string): void {
    this.map.delete(key);
  }
}

export class MetadataCache {
  private readonly streams = new LruMap<Promise<StreamMeta | undefined>>(MAX_ENTRIES);
  private readonly processes = new LruMap<Promise<ProcessMeta | undefined>>(MAX_ENTRIES);

  constructor(private readonly db: SqlExecutor) {}

  private cached<T>(map: LruMap<Promise<T | undefined>>, id: string, load: () => Promise<T | undefined>): Promise<T | undefined> {
    let entry = map.get(id);
    if (!entry) {
      entry = load();
      map.set(id, entry);
      // Absent rows (or failed reads) are not remembered: they may be ingested later.
      entry.then((v) => v === undefined && map.delete(id), () => map.delete(id));
    }
    return entry;
  }

  stream(streamId: string): Promise<StreamMeta | undefined> {
    return this.cached(this.streams, streamId, () => findStream(this.db, streamId));
  }

  process(processId: string): Promise<ProcessMeta | undefined> {
    return this.cached(this.processes, processId, () => findProcess(this.db, processId));
  }

  /**
   * Blocks matching a WHERE clause over aliases b (blocks) and s (streams), ordered by insert time
   * then id, with their stream and process from the cache; a block whose stream or process is gone
   * is left out.
   */
  async blocksWithContext(where: string, params: unknown[] = []): Promise<BlockWithContext[]> {
    const { rows } = await this.db.query<Record<string, unknown>>(
      `SELECT ${BLOCK_SELECT} FROM blocks b JOIN streams s ON s.stream_id = b.stream_id WHERE ${where} ORDER BY b.insert_time, b.block_id`,
      params,
    );
    const blocks = rows.map((r) => blockFromRow(r, 'b.'));
    const out: BlockWithContext[] = [];
    for (const block of blocks) {
      const [stream, process] = await Promise.all([this.stream(block.streamId), this.process(block.processId)]);
      if (stream && process) out.push({ block, stream, process });
    }
    return out;
  }
}

const caches = new WeakMap<SqlExecutor, MetadataCache>();

/** The cache of one data lake's database. */
export function metadataCache(db: SqlExecutor): MetadataCache {
  let cache = caches.get(db);
  if (!cache) caches.set(db, (cache = new MetadataCache(db)));
  return cache;
}

/** Blocks (with their stream and process) matching a WHERE clause over aliases b and s, ordered by insert time then id. */
export function fetchBlocksWithContext(db: SqlExecutor, where: string, params: unknown[] = []): Promise<BlockWithContext[]> {
  return metadataCache(db).blocksWithContext(where, params);
}
