// Error classes shared by the lake modules. Callers (ingestion, analytics) use them to tell a storage
// outage (retry later, answer 503/500) from a programming error or bad input.

/** One or more configuration values are invalid; `problems` holds one line per bad value. */
export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** The database could not be reached or failed in a way that a retry may fix (connection lost, shutdown, deadlock...). */
export class LakeUnavailableError extends Error {
  /** SQLSTATE or Node.js error code of the underlying failure, when known. */
  readonly code: string | undefined;
  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(message, { cause: options?.cause });
    this.name = 'LakeUnavailableError';
    this.code = options?.code;
  }
}

/** The object store failed (unreachable, timed out, refused the request). Transient by nature. */
export class ObjectStoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { cause: options?.cause });
    this.name = 'ObjectStoreError';
  }
}

/** An object key is not acceptable (empty, absolute, contains `..`, ...). A programming error, not transient. */
export class InvalidObjectKeyError extends Error {
  constructor(key: string, reason: string) {
    super(`invalid object key ${JSON.stringify(key)}: ${reason}`);
    this.name = 'InvalidObjectKeyError';
  }
}

// SQLSTATE classes/codes after which the same statement may succeed later.
const TRANSIENT_SQLSTATE_CLASSES = ['08', '53', '58'];
const TRANSIENT_SQLSTATES = new Set(['57P01', '57P02', '57P03', '40001', '40P01', '55P03']);
const TRANSIENT_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
]);
// node-postgres reports several connection failures only through the message.
const TRANSIENT_PG_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Cannot use a pool after calling end',
  'Client was closed and is not queryable',
  'PGlite is closed',
];

function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** True when the error looks like a database outage rather than a bad statement or bad data. */
export function isTransientDatabaseError(err: unknown): boolean {
  if (err instanceof LakeUnavailableError) return true;
  if (!(err instanceof Error)) return false;
  const code = errorCode(err);
  if (code !== undefined) {
    if (/^[0-9A-Z]{5}$/.test(code)) {
      return TRANSIENT_SQLSTATES.has(code) || TRANSIENT_SQLSTATE_CLASSES.includes(code.slice(0, 2));
    }
    if (TRANSIENT_NODE_CODES.has(code)) return true;
  }
  if (err instanceof AggregateError) return err.errors.some(isTransientDatabaseError);
  return TRANSIENT_PG_MESSAGES.some((m) => err.message.includes(m));
}

/** True for failures worth retrying: database outages and object store failures. */
export function isTransient(err: unknown): boolean {
  return err instanceof ObjectStoreError || isTransientDatabaseError(err);
}

/** Wraps outage-like errors into LakeUnavailableError; returns any other error unchanged. */
export function classifyDatabaseError(err: unknown, what: string): unknown {
  if (err instanceof LakeUnavailableError) return err;
  if (isTransientDatabaseError(err)) {
    const e = err as Error;
    return new LakeUnavailableError(`database unavailable (${what}): ${e.message || errorCode(e) || 'unknown error'}`, {
      cause: err,
      code: errorCode(err),
    });
  }
  return err;
}
