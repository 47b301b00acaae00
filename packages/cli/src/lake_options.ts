// Options and environment shared by every command that opens the data lake.
import { ConfigError, lakeConfigFrom, openLake, type Lake } from '@micromegas/lake';
import { Keyring, KeyringError, parseApiKeys } from '@micromegas/ingestion';
import { UsageError, type OptionSpec } from './command.ts';

export const LAKE_OPTIONS: Record<string, OptionSpec> = {
  'data-dir': {
    type: 'string',
    valueName: 'dir',
    description: 'where the embedded database and the local object store live',
    defaultText: './micromegas-data',
  },
  'sql-connection-string': {
    type: 'string',
    valueName: 'url',
    description: 'PostgreSQL URL; without it an embedded PGlite database is used',
    defaultText: '$MICROMEGAS_SQL_CONNECTION_STRING',
  },
  'object-store-uri': {
    type: 'string',
    valueName: 'uri',
    description: 'file:///path, s3://bucket/prefix or memory://',
    defaultText: '$MICROMEGAS_OBJECT_STORE_URI or file://<data-dir>/objects',
  },
};

export const LAKE_ENVIRONMENT: Record<string, string> = {
  MICROMEGAS_SQL_CONNECTION_STRING: 'PostgreSQL connection string (postgres://user:pass@host:5432/db)',
  MICROMEGAS_OBJECT_STORE_URI: 'object store root (file://, s3://, memory://)',
  'AWS_ENDPOINT_URL, AWS_REGION, …': 'standard AWS variables for s3:// stores (S3-compatible endpoints too)',
};

export async function openLakeFromOptions(values: Record<string, string | boolean | undefined>): Promise<Lake> {
  try {
    const config = lakeConfigFrom(process.env, {
      dataDir: values['data-dir'] as string | undefined,
      connectionString: values['sql-connection-string'] as string | undefined,
      objectStoreUri: values['object-store-uri'] as string | undefined,
    });
    return await openLake(config);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
}

/** The keyring from MICROMEGAS_API_KEYS, or null when authentication is off. */
export function keyringFromEnvironment(options: { disableAuth: boolean; requireKeys: boolean }): Keyring | null {
  if (options.disableAuth) return null;
  const json = process.env.MICROMEGAS_API_KEYS;
  if (!json) {
    if (options.requireKeys) {
      throw new UsageError('no credentials configured: set MICROMEGAS_API_KEYS=\'[{"name":"...","key":"..."}]\' or pass --disable-auth');
    }
    return null;
  }
  try {
    return new Keyring(parseApiKeys(json));
  } catch (err) {
    if (err instanceof KeyringError) throw new UsageError(err.message);
    throw err;
  }
}

export function describeLake(lake: Lake): string {
  const db = lake.db.kind === 'pglite' ? `embedded PostgreSQL (PGlite) in ${lake.config.dataDir}` : 'PostgreSQL';
  return `data lake: ${db}, objects in ${lake.blobs.uri}`;
}
