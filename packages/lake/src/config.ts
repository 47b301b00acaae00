// Reads and validates where a data lake lives: the PostgreSQL connection string and the object store URI,
// using the upstream variable names. Flags win over the environment; empty values count as unset.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from './errors.ts';

export { ConfigError };

export interface LakeConfig {
  /** PostgreSQL URL; undefined means embedded PGlite persisted in `<dataDir>/pg`. */
  connectionString?: string;
  /** `file:///abs/path`, `s3://bucket/prefix` or `memory://`. */
  objectStoreUri: string;
  /** Absolute directory for embedded state, or ':memory:' for a throw-away in-memory lake. */
  dataDir: string;
}

export interface LakeFlags {
  dataDir?: string;
  connectionString?: string;
  objectStoreUri?: string;
}

export const ENV_SQL_CONNECTION_STRING = 'MICROMEGAS_SQL_CONNECTION_STRING';
export const ENV_OBJECT_STORE_URI = 'MICROMEGAS_OBJECT_STORE_URI';
export const DEFAULT_DATA_DIR = './micromegas-data';
/** dataDir value selecting an in-memory PGlite and, unless told otherwise, a memory:// object store. */
export const IN_MEMORY_DATA_DIR = ':memory:';

function nonEmpty(v: string | undefined): string | undefined {
  const t = v?.trim();
  return t ? t : undefined;
}

/** Returns a problem description, or undefined when the URL is an acceptable PostgreSQL URL. */
export function checkConnectionString(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'malformed PostgreSQL URL (expected postgres://user@host:port/database)';
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    return `unsupported scheme '${url.protocol.replace(/:$/, '')}' (expected postgres:// or postgresql://)`;
  }
  // A Unix socket can be given as ?host=/path with an empty authority.
  if (!url.hostname && !url.searchParams.get('host')) return 'missing host in PostgreSQL URL';
  if (url.port && !/^\d+$/.test(url.port)) return `invalid port '${url.port}'`;
  return undefined;
}

/** Returns a problem description, or undefined when the object store URI is supported. */
export function checkObjectStoreUri(value: string): string | undefined {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/.exec(value);
  if (!m) return `malformed URI '${value}' (expected file:///absolute/path, s3://bucket/prefix or memory://)`;
  const scheme = m[1]!.toLowerCase();
  const rest = m[2]!;
  switch (scheme) {
    case 'file':
      if (!rest.startsWith('/')) return `file URI must hold an absolute path (file:///absolute/path), got '${value}'`;
      if (rest.split('/').includes('..')) return `file URI must not contain '..' segments, got '${value}'`;
      return undefined;
    case 's3': {
      const bucket = rest.split('/')[0] ?? '';
      if (!bucket) return `missing bucket name in '${value}' (expected s3://bucket/prefix)`;
      if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) return `invalid S3 bucket name '${bucket}'`;
      return undefined;
    }
    case 'memory':
      return undefined;
    default:
      return `unsupported scheme '${scheme}' (expected file://, s3:// or memory://)`;
  }
}

export function lakeConfigFrom(env: NodeJS.ProcessEnv, flags: LakeFlags = {}): LakeConfig {
  const problems: string[] = [];
  const dataDirFlag = nonEmpty(flags.dataDir);
  const dataDir =
    dataDirFlag === IN_MEMORY_DATA_DIR ? IN_MEMORY_DATA_DIR : resolve(dataDirFlag ?? DEFAULT_DATA_DIR);

  const fromFlag = nonEmpty(flags.connectionString);
  const connectionString = fromFlag ?? nonEmpty(env[ENV_SQL_CONNECTION_STRING]);
  if (connectionString !== undefined) {
    const problem = checkConnectionString(connectionString);
    if (problem) problems.push(`${fromFlag ? '--connection-string' : ENV_SQL_CONNECTION_STRING}: ${problem}`);
  }

  const uriFlag = nonEmpty(flags.objectStoreUri);
  const explicitUri = uriFlag ?? nonEmpty(env[ENV_OBJECT_STORE_URI]);
  let objectStoreUri: string;
  if (explicitUri !== undefined) {
    objectStoreUri = explicitUri;
    const problem = checkObjectStoreUri(explicitUri);
    if (problem) problems.push(`${uriFlag ? '--object-store-uri' : ENV_OBJECT_STORE_URI}: ${problem}`);
  } else if (dataDir === IN_MEMORY_DATA_DIR) {
    objectStoreUri = 'memory://';
  } else {
    objectStoreUri = pathToFileURL(resolve(dataDir, 'objects')).href;
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return connectionString !== undefined ? { connectionString, objectStoreUri, dataDir } : { objectStoreUri, dataDir };
}
