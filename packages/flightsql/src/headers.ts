// The request metadata a query reads (reference analytics.md §4.3): time range, limit, attribution.
import type { Metadata } from '@grpc/grpc-js';
import { FlightSqlError } from './errors.ts';

export function header(md: Metadata, name: string): string | undefined {
  const v = md.get(name)[0];
  if (v === undefined) return undefined;
  return typeof v === 'string' ? v : v.toString('utf8');
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** Parses an RFC 3339 date-time (offset required, any number of fractional digits) to Unix nanoseconds. */
export function parseRfc3339Nanos(text: string): bigint {
  const m = RFC3339.exec(text.trim());
  if (!m) throw new Error(`input is not an RFC 3339 date-time: ${JSON.stringify(text)}`);
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    throw new Error(`input is out of range: ${JSON.stringify(text)}`);
  }
  const ms = Date.UTC(year, month - 1, day, hour, minute, Math.min(second, 59));
  const probe = new Date(ms);
  if (probe.getUTCDate() !== day) throw new Error(`input is out of range: ${JSON.stringify(text)}`);
  // Digits past nanoseconds are truncated, as chrono does.
  const frac = BigInt(((m[7] ?? '') + '000000000').slice(0, 9));
  let offsetMinutes = 0;
  if (m[9]) offsetMinutes = (m[9] === '-' ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11]));
  return (BigInt(ms) - BigInt(offsetMinutes) * 60_000n) * 1_000_000n + frac;
}

/** The query range, used only when both headers are present and non-empty (as upstream). */
export function queryRange(md: Metadata): { begin: bigint; end: bigint } | undefined {
  const begin = header(md, 'query_range_begin') || undefined;
  const end = header(md, 'query_range_end') || undefined;
  if (begin === undefined || end === undefined) return undefined;
  const parse = (name: string, v: string): bigint => {
    try {
      return parseRfc3339Nanos(v);
    } catch (e) {
      throw new FlightSqlError('invalid_argument', `Unable to parse ${name} as a rfc3339 datetime: ${(e as Error).message}`);
    }
  };
  return { begin: parse('query_range_begin', begin), end: parse('query_range_end', end) };
}

/** The `limit` header as a row count (a usize upstream). */
export function queryLimit(md: Metadata): number | undefined {
  const v = header(md, 'limit');
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(Number(v.trim()))) {
    throw new FlightSqlError('invalid_argument', `error parsing limit: invalid digit found in string ${JSON.stringify(v)}`);
  }
  return Number(v.trim());
}

/** The `preserve_dictionary` header: "true" in any case asks for dictionaries, anything else hydrates. */
export function preserveDictionary(md: Metadata): boolean {
  return header(md, 'preserve_dictionary')?.trim().toLowerCase() === 'true';
}

/** Attribution headers, for the log line of each query. */
export function clientAttribution(md: Metadata): Record<string, string> {
  const out: Record<string, string> = { client_type: header(md, 'x-client-type') || 'unknown' };
  for (const name of ['x-client-agent', 'x-client-entrypoint', 'x-client-session', 'x-client-notebook', 'x-client-cell', 'x-user-id', 'x-user-email', 'x-org-id']) {
    const v = header(md, name);
    if (v) out[name.replace(/^x-/, '').replaceAll('-', '_')] = v;
  }
  return out;
}
