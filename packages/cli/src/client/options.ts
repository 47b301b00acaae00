// What the client commands share: --uri/--token, the time range flags, and the exit codes.
import { connect, FlightAuthError, FlightClientError, FlightConnectionError, type FlightSqlClient } from '@micromegas/client';
import { UsageError, type OptionSpec } from '../command.ts';
import { startSpinner, type Spinner } from './spinner.ts';

/** Exit codes of query, processes and logs (documented in README.md). */
export const EXIT = { ok: 0, queryError: 1, usage: 2, connection: 3, auth: 4 } as const;

export const CONNECTION_OPTIONS: Record<string, OptionSpec> = {
  uri: { type: 'string', valueName: 'uri', description: 'FlightSQL service, grpc://host:port or grpc+tls://host:port', defaultText: '$MICROMEGAS_ANALYTICS_URI or grpc://localhost:50051' },
  token: { type: 'string', valueName: 'key', description: 'sent as authorization: Bearer <key>', defaultText: '$MICROMEGAS_API_KEY' },
};

export const CONNECTION_ENVIRONMENT: Record<string, string> = {
  MICROMEGAS_ANALYTICS_URI: 'FlightSQL service URI (default grpc://localhost:50051)',
  MICROMEGAS_API_KEY: 'API key sent as a bearer token',
};

export const RANGE_OPTIONS = (beginDefault?: string): Record<string, OptionSpec> => ({
  begin: { type: 'string', valueName: 'time', description: 'start of the time range: RFC 3339 (2024-05-01T12:00:00Z) or relative to now (30m, 1h, 7d)', defaultText: beginDefault },
  end: { type: 'string', valueName: 'time', description: 'end of the time range (same forms)', defaultText: '--begin given: now' },
});

const UNIT_NS: Record<string, bigint> = { s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n, d: 86_400_000_000_000n, w: 604_800_000_000_000n };

export const nowNanos = (): bigint => BigInt(Date.now()) * 1_000_000n;

/** RFC 3339, a date (UTC midnight), 'now', or a duration before now (90s, 30m, 1h, 7d, 2w, 1.5h). */
export function parseTimeArg(text: string, what: string, now = nowNanos()): bigint {
  const t = text.trim();
  if (t === 'now') return now;
  const rel = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$/.exec(t);
  if (rel) return now - BigInt(Math.round(Number(rel[1]) * 1000)) * UNIT_NS[rel[2]!]! / 1000n;
  const abs = /^(\d{4}-\d{2}-\d{2})(?:[Tt ](\d{2}:\d{2}(?::\d{2})?)(\.\d+)?([Zz]|[+-]\d{2}:?\d{2}))?$/.exec(t);
  if (abs) {
    const ms = Date.parse(abs[2] ? `${abs[1]}T${abs[2]}${abs[4]!.toUpperCase()}` : `${abs[1]}T00:00:00Z`);
    if (!Number.isNaN(ms)) {
      const frac = BigInt(((abs[3] ?? '.').slice(1) + '000000000').slice(0, 9));
      return BigInt(ms) * 1_000_000n + frac;
    }
  }
  throw new UsageError(`${what}: expected RFC 3339 (2024-05-01T12:00:00Z), a date, 'now' or a duration like 30m, 1h, 7d; got ${JSON.stringify(text)}`);
}

/** The range of --begin/--end: none, or both bounds (a lone --begin ends now). */
export function parseRange(values: Record<string, unknown>, defaultBegin?: string): { begin?: bigint; end?: bigint } {
  const now = nowNanos();
  const beginText = (values.begin as string | undefined) ?? defaultBegin;
  const endText = values.end as string | undefined;
  if (beginText === undefined && endText === undefined) return {};
  if (beginText === undefined) throw new UsageError('--end needs --begin');
  const begin = parseTimeArg(beginText, '--begin', now);
  const end = endText === undefined ? now : parseTimeArg(endText, '--end', now);
  if (end < begin) throw new UsageError('--end is before --begin');
  return { begin, end };
}

export function parsePositiveInt(text: string | undefined, what: string, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${what}: expected a positive whole number, got ${JSON.stringify(text)}`);
  return n;
}

/** Opens a client from --uri/--token (over the environment), tagged with the command's entrypoint. */
export function openClient(values: Record<string, unknown>, entrypoint: string): FlightSqlClient {
  try {
    return connect({ uri: values.uri as string | undefined, token: values.token as string | undefined, entrypoint, clientType: 'typescript-cli' });
  } catch (e) {
    throw new UsageError(`--uri: ${(e as Error).message}`);
  }
}

/** Prints a client error and returns its exit code. */
export function reportError(err: unknown): number {
  if (err instanceof UsageError) throw err;
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`micromegas: ${message}\n`);
  if (err instanceof FlightConnectionError) return EXIT.connection;
  if (err instanceof FlightAuthError) return EXIT.auth;
  if (err instanceof FlightClientError) return EXIT.queryError;
  if (err instanceof Error && !(err as { code?: unknown }).code) process.stderr.write(`${err.stack ?? ''}\n`);
  return EXIT.queryError;
}

/**
 * Runs a command's queries on a client, with the spinner shown until `work` stops it: a failure is
 * reported (its exit code returned) and the client is closed either way.
 */
export async function withClient(values: Record<string, unknown>, entrypoint: string, work: (client: FlightSqlClient, spinner: Spinner) => Promise<number>): Promise<number> {
  const client = openClient(values, entrypoint);
  const spinner = startSpinner('querying');
  try {
    return await work(client, spinner);
  } catch (err) {
    spinner.stop();
    return reportError(err);
  } finally {
    client.close();
  }
}

/** Quotes a string for SQL. */
export const sqlString = (s: string): string => `'${s.replaceAll("'", "''")}'`;
