// Time values for the query range headers: RFC 3339 strings, Dates or Unix nanoseconds (bigint).
export type TimeInput = Date | string | bigint;

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;

/** Formats nanoseconds since the epoch as RFC 3339 UTC with nine fractional digits. */
export function nanosToRfc3339(ns: bigint): string {
  const ms = ns / 1_000_000n - (ns % 1_000_000n < 0n ? 1n : 0n);
  const frac = ns - ms * 1_000_000n; // 0 ≤ frac < 1e6
  const iso = new Date(Number(ms)).toISOString(); // ...ss.mmmZ
  return `${iso.slice(0, -1)}${frac.toString().padStart(6, '0')}Z`;
}

/** The header text of a time: RFC 3339 (a string is checked, not rewritten, so its precision is kept). */
export function formatTime(t: TimeInput): string {
  if (typeof t === 'bigint') return nanosToRfc3339(t);
  if (t instanceof Date) {
    if (Number.isNaN(t.getTime())) throw new TypeError('invalid Date in query range');
    return t.toISOString();
  }
  if (!RFC3339.test(t.trim())) throw new TypeError(`expected an RFC 3339 date-time with an offset (e.g. 2024-01-01T00:00:00Z), got ${JSON.stringify(t)}`);
  return t.trim();
}
