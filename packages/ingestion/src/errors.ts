// Failures of an ingestion request, by what the client should do about them.

/** The request itself is wrong (400): retrying the same bytes can never succeed. */
export class BadRequestError extends Error {
  override readonly name = 'BadRequestError';
}

/** Storage or database trouble (503): the client should retry later with the same bytes. */
export class UnavailableError extends Error {
  override readonly name = 'UnavailableError';
}

/** The PostgreSQL SQLSTATE of an error (or of one of its causes), if it has one. */
export function sqlState(err: unknown): string | undefined {
  for (let e: unknown = err; e && typeof e === 'object'; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

/** SQLSTATE class 22, data exception (e.g. a NUL character in a text): retrying cannot help. */
export const isDataException = (err: unknown): boolean => sqlState(err)?.startsWith('22') === true;
