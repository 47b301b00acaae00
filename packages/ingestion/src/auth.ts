// Bearer-token authentication of the ingestion routes, from upstream's MICROMEGAS_API_KEYS keyring.
import { createHash, timingSafeEqual } from 'node:crypto';

export interface ApiKey {
  name: string;
  key: string;
}

export class KeyringError extends Error {
  override readonly name = 'KeyringError';
}

/** Parses `[{"name": "...", "key": "..."}]`; throws a one-line KeyringError on anything else. */
export function parseApiKeys(json: string, source = 'MICROMEGAS_API_KEYS'): ApiKey[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new KeyringError(`${source}: not valid JSON (expected [{"name": "...", "key": "..."}])`);
  }
  if (!Array.isArray(parsed)) throw new KeyringError(`${source}: expected a JSON array of {"name", "key"} objects`);
  return parsed.map((entry, i) => {
    const e = entry as Partial<ApiKey> | null;
    if (!e || typeof e.name !== 'string' || typeof e.key !== 'string' || e.key.length === 0) {
      throw new KeyringError(`${source}: entry ${i} needs a string "name" and a non-empty string "key"`);
    }
    return { name: e.name, key: e.key };
  });
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Checks `Authorization: Bearer <key>` in constant time; returns the key's name or undefined. */
export class Keyring {
  private readonly entries: { name: string; hash: Buffer }[];

  constructor(keys: ApiKey[]) {
    this.entries = keys.map((k) => ({ name: k.name, hash: digest(k.key) }));
  }

  authenticate(authorization: string | undefined): string | undefined {
    if (!authorization || !authorization.startsWith('Bearer ')) return undefined;
    const presented = digest(authorization.slice('Bearer '.length));
    let found: string | undefined;
    // Compare against every key so timing does not reveal which one matched.
    for (const e of this.entries) if (timingSafeEqual(e.hash, presented)) found ??= e.name;
    return found;
  }
}
