// Object key rules shared by every store: keys are relative paths that can never escape the root.
import { InvalidObjectKeyError } from './errors.ts';

/** Throws InvalidObjectKeyError unless key is a relative path of non-empty, non-dot segments. */
export function validateObjectKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw new InvalidObjectKeyError(String(key), 'empty key');
  if (key.startsWith('/')) throw new InvalidObjectKeyError(key, 'absolute keys are not allowed');
  if (key.includes('\\')) throw new InvalidObjectKeyError(key, 'backslashes are not allowed');
  if (key.includes('\0')) throw new InvalidObjectKeyError(key, 'NUL characters are not allowed');
  if (key.length > 1024) throw new InvalidObjectKeyError(key, 'longer than 1024 characters');
  for (const segment of key.split('/')) {
    if (segment === '') throw new InvalidObjectKeyError(key, 'empty path segment');
    if (segment === '..' || segment === '.') throw new InvalidObjectKeyError(key, `'${segment}' segments are not allowed`);
  }
}

/** Throws InvalidObjectKeyError for prefixes that could escape the store's root. '' lists everything. */
export function validateListPrefix(prefix: string): void {
  if (prefix === '') return;
  if (prefix.startsWith('/')) throw new InvalidObjectKeyError(prefix, 'absolute prefixes are not allowed');
  if (prefix.includes('\\') || prefix.includes('\0')) throw new InvalidObjectKeyError(prefix, 'invalid character');
  const segments = prefix.split('/');
  if (segments.some((s) => s === '..' || s === '.')) throw new InvalidObjectKeyError(prefix, 'dot segments are not allowed');
}

/** Byte-wise (UTF-8) order, the order S3 lists keys in. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** The object key of a block payload, shared by every writer and reader of the lake. */
export function blockObjectKey(b: { processId: string; streamId: string; blockId: string }): string {
  return `blobs/${b.processId}/${b.streamId}/${b.blockId}`;
}
