// Error kinds → gRPC status codes. The engine's QueryError carries the same kinds.
import { status, type ServiceError, Metadata } from '@grpc/grpc-js';

export type ErrorKind = 'invalid_argument' | 'permission_denied' | 'resource_exhausted' | 'unimplemented' | 'not_found' | 'internal' | 'deadline_exceeded' | 'unauthenticated';

const CODES: Record<ErrorKind, status> = {
  invalid_argument: status.INVALID_ARGUMENT,
  permission_denied: status.PERMISSION_DENIED,
  resource_exhausted: status.RESOURCE_EXHAUSTED,
  unimplemented: status.UNIMPLEMENTED,
  not_found: status.NOT_FOUND,
  internal: status.INTERNAL,
  deadline_exceeded: status.DEADLINE_EXCEEDED,
  unauthenticated: status.UNAUTHENTICATED,
};

/** An error raised by the server itself, with the status it answers with. */
export class FlightSqlError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'FlightSqlError';
  }
}

/** Turns anything thrown while serving a call into a gRPC status; unknown errors become INTERNAL. */
export function toServiceError(err: unknown): Partial<ServiceError> {
  const e = err as { kind?: unknown; message?: unknown } | null;
  const kind = typeof e?.kind === 'string' && Object.hasOwn(CODES, e.kind) ? (e.kind as ErrorKind) : 'internal';
  const message = typeof e?.message === 'string' ? e.message : String(err);
  return { code: CODES[kind], details: message, message, metadata: new Metadata() };
}
