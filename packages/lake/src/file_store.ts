// Object store in a local directory. Writes are create-only and durable: the object is created with
// O_EXCL under its final name (EEXIST when the key is taken, so concurrent writers race safely),
// written, fdatasync'ed, then its directory is fsync'ed (grouped across concurrent writers). On a
// journaling file system that is one journal commit per object; writing a temp file, syncing it and
// linking it afterwards costs two (and measured at 60-70 % of this rate). A crash can leave an
// object short, but never acknowledged (the caller answers only after this resolves); the retry
// that follows finds it and completes it. Readers find objects through block rows, which are
// inserted only after the object is durable, so they never see one being written.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidObjectKeyError, ObjectStoreError } from './errors.ts';
import { compareKeys, validateListPrefix, validateObjectKey } from './object_key.ts';
import type { ObjectStore } from './object_store.ts';

// Partial writes are named `.mm-<random>.partial` beside their final name; such names are reserved.
const TEMP_PREFIX = '.mm-';
const TEMP_SUFFIX = '.partial';
const isTempName = (name: string): boolean => name.startsWith(TEMP_PREFIX) && name.endsWith(TEMP_SUFFIX);

function storeError(action: string, key: string, err: unknown): ObjectStoreError {
  const code = (err as NodeJS.ErrnoException).code;
  return new ObjectStoreError(`file store: ${action} '${key}' failed: ${code ?? (err as Error).message}`, { cause: err });
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** mkdir -p that also fsyncs the parents of every directory it created, so new entries survive a crash. */
async function makeDirDurable(dir: string): Promise<void> {
  const firstCreated = await mkdir(dir, { recursive: true });
  if (firstCreated === undefined) return;
  let current = dir;
  const created: string[] = [];
  while (current.length >= firstCreated.length) {
    created.push(current);
    current = dirname(current);
  }
  for (const d of created.reverse()) await fsyncDir(dirname(d));
}

// Directories known to exist, so the hot path skips mkdir; bounded to stay small on huge lakes.
const MAX_KNOWN_DIRS = 100_000;

interface DirSync {
  running: Promise<void> | null;
  queued: Promise<void> | null;
}

const MAX_OPEN_DIRS = 256;

/**
 * Group commit for directory fsyncs: a writer needs a sync that *starts* after it created its file. One that
 * arrives while a sync runs joins the single next one, so N concurrent writers to a directory cost
 * about two fsyncs instead of N.
 */
class DirSyncer {
  private readonly syncs = new Map<string, DirSync>();
  // Directory handles stay open between syncs (one thread-pool hop per sync instead of three);
  // insertion order doubles as least-recently-used order.
  private readonly handles = new Map<string, Promise<FileHandle>>();

  private async syncWithCachedHandle(dir: string): Promise<void> {
    let handle = this.handles.get(dir);
    if (handle) {
      this.handles.delete(dir);
    } else {
      handle = open(dir, 'r');
      handle.catch(() => this.handles.delete(dir));
    }
    this.handles.set(dir, handle);
    if (this.handles.size > MAX_OPEN_DIRS) {
      for (const [oldDir, old] of this.handles) {
        if (this.syncs.get(oldDir)?.running) continue; // in use
        this.handles.delete(oldDir);
        void old.then((h) => h.close()).catch(() => {});
        break;
      }
    }
    await (await handle).sync();
  }

  /** Closes every cached directory handle. */
  async close(): Promise<void> {
    const handles = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(handles.map((h) => h.then((x) => x.close()).catch(() => {})));
  }

  sync(dir: string): Promise<void> {
    let e = this.syncs.get(dir);
    if (!e) {
      e = { running: null, queued: null };
      this.syncs.set(dir, e);
    }
    if (e.queued) return e.queued;
    if (!e.running) return this.start(dir, e);
    const entry = e;
    const queued = e.running
      .then(
        () => undefined,
        () => undefined,
      )
      .then(() => {
        entry.queued = null;
        return this.start(dir, entry);
      });
    e.queued = queued;
    return queued;
  }

  private start(dir: string, e: DirSync): Promise<void> {
    const p: Promise<void> = this.syncWithCachedHandle(dir).finally(() => {
      if (e.running !== p) return;
      e.running = null;
      if (!e.queued) this.syncs.delete(dir);
    });
    e.running = p;
    return p;
  }
}

export function openFileStore(uri: string): ObjectStore {
  let root: string;
  try {
    root = fileURLToPath(uri);
  } catch (err) {
    throw new ObjectStoreError(`invalid file URI '${uri}': ${(err as Error).message}`, { cause: err });
  }
  const knownDirs = new Set<string>();
  // The last write queued for each key being written by this process (see withKeyLock).
  const keyLocks = new Map<string, Promise<void>>();
  const dirSyncer = new DirSyncer();

  async function ensureDir(dir: string): Promise<void> {
    if (knownDirs.has(dir)) return;
    await makeDirDurable(dir);
    if (knownDirs.size >= MAX_KNOWN_DIRS) knownDirs.clear();
    knownDirs.add(dir);
  }

  const pathOf = (key: string): string => {
    validateObjectKey(key);
    if (key.split('/').some(isTempName)) throw new InvalidObjectKeyError(key, `names like '${TEMP_PREFIX}*${TEMP_SUFFIX}' are reserved`);
    return join(root, ...key.split('/'));
  };

  /**
   * Runs the writes of one key in this process one after the other, so that a writer never sees
   * another's half-written file and mistakes it for one a crash left short.
   */
  async function withKeyLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
    const before = keyLocks.get(path);
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    keyLocks.set(path, mine);
    if (before) await before;
    try {
      return await fn();
    } finally {
      release();
      if (keyLocks.get(path) === mine) keyLocks.delete(path);
    }
  }

  /** Creates the object's file with O_EXCL, or says the key is taken. */
  async function createExclusive(finalPath: string, dir: string): Promise<FileHandle | 'taken'> {
    try {
      return await open(finalPath, 'wx', 0o644);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return 'taken';
      if (code !== 'ENOENT') throw err;
    }
    // A directory we remembered was removed behind our back: recreate it and try once more.
    knownDirs.clear();
    await dirSyncer.close(); // its cached handles may point at removed directories
    await ensureDir(dir);
    try {
      return await open(finalPath, 'wx', 0o644);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return 'taken';
      throw err;
    }
  }

  /**
   * The key is taken by a complete object, or by one a crash left short: an object that holds
   * exactly a strict prefix of our bytes (often nothing) is completed by atomically replacing it.
   * Anything else is a real object and stays untouched. (A complete stored block payload, a
   * self-delimiting CBOR document, is never a strict prefix of another.) One process writes a
   * file:// store; replicas share an s3:// store instead.
   */
  async function settleExisting(finalPath: string, bytes: Uint8Array): Promise<'created' | 'exists'> {
    const existing = await readFile(finalPath);
    if (existing.length >= bytes.length || !Buffer.from(bytes.buffer, bytes.byteOffset, existing.length).equals(existing)) {
      return 'exists';
    }
    const dir = dirname(finalPath);
    const tempPath = join(dir, `${TEMP_PREFIX}${randomBytes(12).toString('hex')}${TEMP_SUFFIX}`);
    try {
      const fh = await open(tempPath, 'wx', 0o644);
      try {
        await fh.writeFile(bytes);
        await fh.datasync();
      } finally {
        await fh.close();
      }
      await rename(tempPath, finalPath);
    } finally {
      await unlink(tempPath).catch(() => {});
    }
    await dirSyncer.sync(dir);
    return 'created';
  }

  /** Collects keys under dir (relative key prefix keyDir) in byte order, stopping at limit. */
  async function walk(dir: string, keyDir: string, prefix: string, out: string[], limit: number): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw err;
    }
    // Sort as full keys would sort: a directory 'a' contributes keys 'a/...', which sort after 'a.c'.
    const named = entries
      .filter((e) => !isTempName(e.name))
      .map((e) => ({ e, sortKey: e.isDirectory() ? `${e.name}/` : e.name }))
      .sort((x, y) => compareKeys(x.sortKey, y.sortKey));
    for (const { e } of named) {
      if (out.length >= limit) return;
      const key = keyDir + e.name;
      if (e.isDirectory()) {
        const sub = `${key}/`;
        // Descend only where keys may still match the prefix.
        if (sub.startsWith(prefix) || prefix.startsWith(sub)) await walk(join(dir, e.name), sub, prefix, out, limit);
      } else if (e.isFile() && key.startsWith(prefix)) {
        out.push(key);
      }
    }
  }

  return {
    uri,
    async putIfAbsent(key, bytes) {
      const finalPath = pathOf(key);
      const dir = dirname(finalPath);
      try {
        return await withKeyLock(finalPath, async () => {
          await ensureDir(dir);
          const fh = await createExclusive(finalPath, dir);
          if (fh === 'taken') return await settleExisting(finalPath, bytes);
          try {
            await fh.writeFile(bytes);
            await fh.datasync();
          } catch (err) {
            // Leave no partial object behind for a retry to trip over.
            await unlink(finalPath).catch(() => {});
            throw err;
          } finally {
            await fh.close();
          }
          await dirSyncer.sync(dir);
          return 'created' as const;
        });
      } catch (err) {
        throw storeError('put', key, err);
      }
    },
    async get(key) {
      const path = pathOf(key);
      try {
        const buf = await readFile(path);
        return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return undefined;
        throw storeError('get', key, err);
      }
    },
    async list(prefix, limit = Infinity) {
      validateListPrefix(prefix);
      const out: string[] = [];
      if (limit <= 0) return out;
      // Start the walk at the deepest directory the prefix names in full.
      const cut = prefix.lastIndexOf('/');
      const keyDir = cut >= 0 ? prefix.slice(0, cut + 1) : '';
      try {
        await walk(join(root, ...keyDir.split('/').filter(Boolean)), keyDir, prefix, out, limit);
      } catch (err) {
        throw storeError('list', prefix, err);
      }
      return out;
    },
    async delete(key) {
      const path = pathOf(key);
      try {
        await unlink(path);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return;
        throw storeError('delete', key, err);
      }
    },
    async probe() {
      try {
        await makeDirDurable(root);
        await readdir(root);
      } catch (err) {
        throw storeError('probe', root, err);
      }
    },
    async close() {
      await dirSyncer.close();
    },
  };
}
