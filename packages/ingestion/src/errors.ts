// Failures of an ingestion request, by what the client should do about them.

/** The request itself is wrong (400): retrying the same bytes can never succeed. */
export class BadRequestError extends Error {
  override readonly name = 'BadRequestError';
}

/** Storage or database trouble (503): the client should retry later with the same bytes. */
export class UnavailableError extends Error {
  override readonly name = 'UnavailableError';
}
