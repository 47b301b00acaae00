// RFC 3339 text as sent by clients → the text we bind to a TIMESTAMPTZ parameter.
// Upstream parses with chrono and binds through sqlx, which keeps microseconds by truncating the
// fraction; PostgreSQL would round a longer fraction, so we truncate before binding.
import { BadRequestError } from './errors.ts';

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Validates an RFC 3339 date-time and returns it with at most 6 fractional digits. */
export function toPgTimestamp(text: string, field: string): string {
  const m = RFC3339.exec(text);
  if (!m) throw new BadRequestError(`${field}: not an RFC 3339 date-time: ${JSON.stringify(text.slice(0, 64))}`);
  const [, y, mo, d, h, mi, s, frac, offset] = m as unknown as string[];
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const offsetOk = offset.length === 1 || (Number(offset.slice(1, 3)) < 24 && Number(offset.slice(4, 6)) < 60);
  if (
    month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) ||
    Number(h) > 23 || Number(mi) > 59 || Number(s) > 59 || !offsetOk
  ) {
    throw new BadRequestError(`${field}: date-time out of range: ${JSON.stringify(text)}`);
  }
  const micros = frac ? `.${frac.slice(0, 6)}` : '';
  const zone = offset === 'z' || offset === 'Z' ? '+00:00' : offset;
  return `${y}-${mo}-${d}T${h}:${mi}:${s}${micros}${zone}`;
}
