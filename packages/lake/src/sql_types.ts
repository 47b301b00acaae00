// Text-format result parsers shared by both backends, so that node-postgres and PGlite hand back the
// same JS values:
//   int8, numeric          -> string (exact; BIGINT ticks exceed 2^53)
//   timestamptz            -> string, RFC 3339 in UTC with exactly 6 fraction digits: 2024-01-02T01:04:05.123456Z
//   timestamp (no zone)    -> string, 2024-01-02T01:04:05.123456
//   date                   -> string, 2024-01-02
//   bytea                  -> Uint8Array (a plain one, never a Buffer)
//   arrays of the above    -> arrays of the same
// Everything else keeps the drivers' common defaults (int2/int4/float -> number, bool -> boolean,
// uuid/text/varchar -> string, text[] -> string[], json -> parsed value). Composite types such as
// micromegas_property[] come back as their text literal on both backends.

export type TextParser = (value: string) => unknown;

export const OID = {
  BYTEA: 17,
  INT8: 20,
  NUMERIC: 1700,
  DATE: 1082,
  TIMESTAMP: 1114,
  TIMESTAMPTZ: 1184,
  BYTEA_ARRAY: 1001,
  INT8_ARRAY: 1016,
  NUMERIC_ARRAY: 1231,
  DATE_ARRAY: 1182,
  TIMESTAMP_ARRAY: 1115,
  TIMESTAMPTZ_ARRAY: 1185,
} as const;

const TIMESTAMP_RE =
  /^(\d{4,})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(?:([+-])(\d{2})(?::?(\d{2}))?(?::?(\d{2}))?|(Z))?$/;

function micros(fraction: string | undefined): string {
  return (fraction ?? '').padEnd(6, '0');
}

/** Normalizes PostgreSQL's text form of a timestamptz (any session TimeZone) to UTC RFC 3339 with µs. */
export function normalizeTimestamptz(text: string): string {
  const m = TIMESTAMP_RE.exec(text);
  // 'infinity', BC dates and other exotic values are returned as PostgreSQL printed them.
  if (!m) return text;
  const [, y, mo, d, h, mi, s, frac, sign, oh, om, os] = m;
  const date = new Date(0);
  date.setUTCFullYear(Number(y), Number(mo) - 1, Number(d));
  date.setUTCHours(Number(h), Number(mi), Number(s), 0);
  const offsetSeconds = sign ? (sign === '-' ? -1 : 1) * (Number(oh) * 3600 + Number(om ?? 0) * 60 + Number(os ?? 0)) : 0;
  const utc = new Date(date.getTime() - offsetSeconds * 1000);
  if (Number.isNaN(utc.getTime())) return text;
  return `${utc.toISOString().slice(0, -5)}.${micros(frac)}Z`;
}

export function normalizeTimestamp(text: string): string {
  const m = /^(\d{4,}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?$/.exec(text);
  if (!m) return text;
  return `${m[1]}T${m[2]}.${micros(m[3])}`;
}

/** Decodes bytea in the `hex` output format (the default since PostgreSQL 9.0) or the legacy `escape` one. */
export function decodeBytea(text: string): Uint8Array {
  if (text.startsWith('\\x')) {
    const buf = Buffer.from(text.slice(2), 'hex');
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength).slice();
  }
  const out: number[] = [];
  for (let i = 0; i < text.length; ) {
    if (text[i] === '\\') {
      if (text[i + 1] === '\\') {
        out.push(0x5c);
        i += 2;
      } else {
        out.push(parseInt(text.slice(i + 1, i + 4), 8));
        i += 4;
      }
    } else {
      out.push(text.charCodeAt(i));
      i += 1;
    }
  }
  return Uint8Array.from(out);
}

/** Parses a one-dimensional array literal such as {1,NULL,"a b"}; nested arrays are parsed recursively. */
export function parseArrayLiteral(text: string, parseElement: TextParser): unknown[] {
  let pos = 0;
  // An array literal may start with explicit bounds: [0:2]={...}
  if (text[0] === '[') pos = text.indexOf('=') + 1;
  const parse = (): unknown[] => {
    if (text[pos] !== '{') throw new Error(`malformed array literal: ${text}`);
    pos++;
    const result: unknown[] = [];
    if (text[pos] === '}') {
      pos++;
      return result;
    }
    for (;;) {
      if (text[pos] === '{') {
        result.push(parse());
      } else if (text[pos] === '"') {
        pos++;
        let value = '';
        while (text[pos] !== '"') {
          if (pos >= text.length) throw new Error(`malformed array literal: ${text}`);
          if (text[pos] === '\\') pos++;
          value += text[pos];
          pos++;
        }
        pos++;
        result.push(parseElement(value));
      } else {
        let end = pos;
        while (end < text.length && text[end] !== ',' && text[end] !== '}') end++;
        const raw = text.slice(pos, end);
        pos = end;
        result.push(raw === 'NULL' ? null : parseElement(raw));
      }
      if (text[pos] === ',') {
        pos++;
        continue;
      }
      if (text[pos] === '}') {
        pos++;
        return result;
      }
      throw new Error(`malformed array literal: ${text}`);
    }
  };
  return parse();
}

const identity: TextParser = (v) => v;

const SCALAR_PARSERS: Record<number, TextParser> = {
  [OID.INT8]: identity,
  [OID.NUMERIC]: identity,
  [OID.DATE]: identity,
  [OID.TIMESTAMP]: normalizeTimestamp,
  [OID.TIMESTAMPTZ]: normalizeTimestamptz,
  [OID.BYTEA]: decodeBytea,
};

/** Parsers by type OID that both backends install so they return identical JS values. */
export const RESULT_PARSERS: Record<number, TextParser> = {
  ...SCALAR_PARSERS,
  [OID.INT8_ARRAY]: (v) => parseArrayLiteral(v, identity),
  [OID.NUMERIC_ARRAY]: (v) => parseArrayLiteral(v, identity),
  [OID.DATE_ARRAY]: (v) => parseArrayLiteral(v, identity),
  [OID.TIMESTAMP_ARRAY]: (v) => parseArrayLiteral(v, normalizeTimestamp),
  [OID.TIMESTAMPTZ_ARRAY]: (v) => parseArrayLiteral(v, normalizeTimestamptz),
  [OID.BYTEA_ARRAY]: (v) => parseArrayLiteral(v, decodeBytea),
};

/** Parses the text literal of a micromegas_property[] value into key/value pairs. */
export function parsePropertiesLiteral(text: string | null | undefined): { key: string; value: string | null }[] {
  if (text === null || text === undefined) return [];
  return parseArrayLiteral(text, identity).map((item) => {
    if (item === null) return { key: '', value: null };
    const fields = parseRecordLiteral(item as string);
    return { key: fields[0] ?? '', value: fields[1] ?? null };
  });
}

/** Parses a composite literal such as (a,"b c") into its fields (null for empty unquoted fields). */
export function parseRecordLiteral(text: string): (string | null)[] {
  if (text[0] !== '(' || text[text.length - 1] !== ')') throw new Error(`malformed record literal: ${text}`);
  const fields: (string | null)[] = [];
  let pos = 1;
  const end = text.length - 1;
  for (;;) {
    let value = '';
    let quoted = false;
    while (pos < end && text[pos] !== ',') {
      if (text[pos] === '"') {
        quoted = true;
        pos++;
        while (pos < end) {
          if (text[pos] === '"' && text[pos + 1] === '"') {
            value += '"';
            pos += 2;
          } else if (text[pos] === '"') {
            pos++;
            break;
          } else {
            if (text[pos] === '\\') pos++;
            value += text[pos];
            pos++;
          }
        }
      } else {
        if (text[pos] === '\\') pos++;
        value += text[pos];
        pos++;
      }
    }
    fields.push(value === '' && !quoted ? null : value);
    if (pos >= end) return fields;
    pos++; // skip ','
  }
}

/** Converts parameter values to what both drivers bind identically. */
export function normalizeParam(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(normalizeParam);
  return value;
}
