// Where block payloads (and later Parquet partitions) live: a local directory, S3 (or a compatible
// server) or memory. Keys are relative to the URI's root, e.g. blobs/{process}/{stream}/{block}.
import { InvalidObjectKeyError, ObjectStoreError } from './errors.ts';
import { openFileStore } from './file_store.ts';
import { blockObjectKey, compareKeys, validateListPrefix, validateObjectKey } from './object_key.ts';
import { openMemoryStore } from './memory_store.ts';
import { openS3Store } from './s3_store.ts';

export { blockObjectKey, compareKeys, InvalidObjectKeyError, ObjectStoreError, validateListPrefix, validateObjectKey };

export interface ObjectStore {
  readonly uri: string;
  /** Create-only write; resolves once durable. 'exists' when an object already has that key (left untouched). */
  putIfAbsent(key: string, bytes: Uint8Array): Promise<'created' | 'exists'>;
  /** The object's bytes, or undefined when there is none under that key. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Keys starting with prefix, in ascending byte order, at most limit of them (all when omitted). */
  list(prefix: string, limit?: number): Promise<string[]>;
  /** Removes the object; deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Cheap reachability probe for /ready (lists one key). Throws when unreachable. */
  probe(): Promise<void>;
  close(): Promise<void>;
}

/** Opens the store named by a file://, s3:// or memory:// URI (see lakeConfigFrom for validation). */
export function openObjectStore(uri: string, env: NodeJS.ProcessEnv = process.env): ObjectStore {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(uri)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'file':
      return openFileStore(uri);
    case 's3':
      return openS3Store(uri, env);
    case 'memory':
      return openMemoryStore(uri);
    default:
      throw new ObjectStoreError(
        `unsupported object store URI '${uri}' (expected file://, s3:// or memory://)`,
      );
  }
}
