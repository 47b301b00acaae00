// Object store in a local directory. Writes are durable and atomic create-only: the bytes go to a
// temp file under <root>/.tmp (same file system), are fsynced, then hard-linked to the final name;
// link() fails with EEXIST when the key is taken, so concurrent writers race safely and a partial
// object never appears under a final name.
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, readFile, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidObjectKeyError, ObjectStoreError } from './errors.ts';
import { compareKeys, validateListPrefix, validateObjectKey } from './object_key.ts';
import type { ObjectStore } from './object_store.ts';

const TEMP_DIR = '.tmp';

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

export function openFileStore(uri: string): ObjectStore {
  let root: string;
  try {
    root = fileURLToPath(uri);
  } catch (err) {
    throw new ObjectStoreError(`invalid file URI '${uri}': ${(err as Error).message}`, { cause: err });
  }
  const tempDir = join(root, TEMP_DIR);

  const pathOf = (key: string): string => {
    validateObjectKey(key);
    if (key === TEMP_DIR || key.startsWith(`${TEMP_DIR}/`)) throw new InvalidObjectKeyError(key, `'${TEMP_DIR}' is reserved`);
    return join(root, ...key.split('/'));
  };

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
      .filter((e) => !(keyDir === '' && e.name === TEMP_DIR))
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
      const tempPath = join(tempDir, `${randomBytes(12).toString('hex')}.partial`);
      try {
        await makeDirDurable(tempDir);
        const fh = await open(tempPath, 'wx', 0o644);
        try {
          await fh.writeFile(bytes);
          await fh.sync();
        } finally {
          await fh.close();
        }
        const dir = dirname(finalPath);
        await makeDirDurable(dir);
        try {
          await link(tempPath, finalPath);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EEXIST') return 'exists';
          throw err;
        }
        await fsyncDir(dir);
        return 'created';
      } catch (err) {
        throw storeError('put', key, err);
      } finally {
        await unlink(tempPath).catch(() => {});
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
    async close() {},
  };
}
