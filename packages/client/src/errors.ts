// Typed errors: every failed call becomes a FlightClientError carrying the server's message and the
// gRPC status; an unreachable server is a FlightConnectionError so callers can tell the two apart.
import { status, type ServiceError } from '@grpc/grpc-js';

const CODE_NAMES = new Map<number, string>(Object.entries(status).filter(([, v]) => typeof v === 'number').map(([k, v]) => [v as number, k]));

/** A failed FlightSQL call: `code` is the gRPC status (e.g. 3 = INVALID_ARGUMENT), `details` the server's message. */
export class FlightClientError extends Error {
  override name = 'FlightClientError';
  constructor(
    readonly code: number,
    readonly details: string,
    message?: string,
  ) {
    super(message ?? `${CODE_NAMES.get(code) ?? `status ${code}`}: ${details}`);
  }

  /** The status name, e.g. 'INVALID_ARGUMENT'. */
  get codeName(): string {
    return CODE_NAMES.get(this.code) ?? String(this.code);
  }
}

/** The server could not be reached (refused, DNS, TLS handshake, dropped connection): gRPC UNAVAILABLE. */
export class FlightConnectionError extends FlightClientError {
  override name = 'FlightConnectionError';
}

/** The server refused the credentials (UNAUTHENTICATED) or the caller's rights (PERMISSION_DENIED). */
export class FlightAuthError extends FlightClientError {
  override name = 'FlightAuthError';
}

/** Wraps anything a grpc-js call failed with. */
export function toClientError(err: unknown, target?: string): FlightClientError {
  if (err instanceof FlightClientError) return err;
  const e = err as Partial<ServiceError> | null;
  if (typeof e?.code !== 'number') {
    return new FlightClientError(status.UNKNOWN, err instanceof Error ? err.message : String(err));
  }
  const details = e.details || e.message || 'unknown error';
  if (e.code === status.UNAVAILABLE) {
    return new FlightConnectionError(e.code, details, `cannot reach the FlightSQL server${target ? ` at ${target}` : ''}: ${details}`);
  }
  if (e.code === status.UNAUTHENTICATED || e.code === status.PERMISSION_DENIED) return new FlightAuthError(e.code, details);
  return new FlightClientError(e.code, details);
}
