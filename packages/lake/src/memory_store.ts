// In-process object store for tests and throw-away lakes: a Map with the same create-only semantics.
import type { ObjectStore } from './object_store.ts';
import { compareKeys, validateListPrefix, validateObjectKey } from './object_key.ts';

export function openMemoryStore(uri = 'memory://'): ObjectStore {
  const objects = new Map<string, Uint8Array>();
  return {
    uri,
    async putIfAbsent(key, bytes) {
      validateObjectKey(key);
      if (objects.has(key)) return 'exists';
      // Copy: the caller may reuse its buffer after the write resolves.
      objects.set(key, bytes.slice());
      return 'created';
    },
    async get(key) {
      validateObjectKey(key);
      return objects.get(key)?.slice();
    },
    async list(prefix, limit) {
      validateListPrefix(prefix);
      const keys = [...objects.keys()].filter((k) => k.startsWith(prefix)).sort(compareKeys);
      return limit === undefined ? keys : keys.slice(0, limit);
    },
    async delete(key) {
      validateObjectKey(key);
      objects.delete(key);
    },
    async probe() {},
    async close() {},
  };
}
