// A small SQL tokenizer for the query front end: it finds statement boundaries, the leading keyword
// and table-function calls (view_instance, arrow_cast) without being fooled by string literals,
// quoted identifiers or comments. DuckDB's own parser has the last word on what a statement is
// (query_session.ts checks the statement count and type again); this only has to be conservative.

export type TokenKind = 'word' | 'quoted' | 'string' | 'number' | 'punct' | 'space' | 'comment' | 'param';

export interface Token {
  kind: TokenKind;
  text: string;
  start: number;
  end: number;
}

export class SqlSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SqlSyntaxError';
  }
}

const WORD_START = /[A-Za-z_\u0080-\uffff]/;
const WORD_PART = /[A-Za-z0-9_$\u0080-\uffff]/;

export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = sql.length;
  const push = (kind: TokenKind, start: number, end: number) => tokens.push({ kind, text: sql.slice(start, end), start, end });
  while (i < n) {
    const c = sql[i]!;
    const start = i;
    if (/\s/.test(c)) {
      while (i < n && /\s/.test(sql[i]!)) i++;
      push('space', start, i);
    } else if (c === '-' && sql[i + 1] === '-') {
      while (i < n && sql[i] !== '\n') i++;
      push('comment', start, i);
    } else if (c === '/' && sql[i + 1] === '*') {
      // Nested block comments, as PostgreSQL and DuckDB read them.
      let depth = 0;
      while (i < n) {
        if (sql[i] === '/' && sql[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (sql[i] === '*' && sql[i + 1] === '/') {
          depth--;
          i += 2;
          if (depth === 0) break;
        } else i++;
      }
      if (depth !== 0) throw new SqlSyntaxError('unterminated comment');
      push('comment', start, i);
    } else if (c === "'" || ((c === 'E' || c === 'e') && sql[i + 1] === "'")) {
      const escapes = c !== "'";
      i += escapes ? 2 : 1;
      for (;;) {
        if (i >= n) throw new SqlSyntaxError('unterminated string literal');
        if (escapes && sql[i] === '\\') i += 2;
        else if (sql[i] === "'") {
          if (sql[i + 1] === "'") i += 2;
          else {
            i++;
            break;
          }
        } else i++;
      }
      push('string', start, i);
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= n) throw new SqlSyntaxError('unterminated quoted identifier');
        if (sql[i] === '"') {
          if (sql[i + 1] === '"') i += 2;
          else {
            i++;
            break;
          }
        } else i++;
      }
      push('quoted', start, i);
    } else if (c === '$') {
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i));
      if (m) {
        const close = sql.indexOf(m[0], i + m[0].length);
        if (close < 0) throw new SqlSyntaxError('unterminated dollar-quoted string');
        i = close + m[0].length;
        push('string', start, i);
      } else {
        i++;
        while (i < n && /[0-9A-Za-z_]/.test(sql[i]!)) i++;
        push('param', start, i);
      }
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(sql[i + 1] ?? ''))) {
      while (i < n && /[0-9A-Za-z_.]/.test(sql[i]!)) {
        if ((sql[i] === 'e' || sql[i] === 'E') && (sql[i + 1] === '+' || sql[i + 1] === '-')) i++;
        i++;
      }
      push('number', start, i);
    } else if (WORD_START.test(c)) {
      while (i < n && WORD_PART.test(sql[i]!)) i++;
      push('word', start, i);
    } else {
      i++;
      push('punct', start, i);
    }
  }
  return tokens;
}

/** Tokens that matter to the grammar (no spaces, no comments). */
export function significant(tokens: readonly Token[]): Token[] {
  return tokens.filter((t) => t.kind !== 'space' && t.kind !== 'comment');
}

/** The value of a string literal token ('it''s' → it's); undefined if not a plain literal. */
export function stringValue(t: Token): string | undefined {
  if (t.kind !== 'string' || !t.text.startsWith("'")) return undefined;
  return t.text.slice(1, -1).replaceAll("''", "'");
}

/** The name a word or quoted identifier denotes (words are case-insensitive). */
export function identName(t: Token): string | undefined {
  if (t.kind === 'word') return t.text.toLowerCase();
  if (t.kind === 'quoted') return t.text.slice(1, -1).replaceAll('""', '"');
  return undefined;
}

const QUERY_KEYWORDS = new Set(['select', 'with', 'values', 'from', 'show', 'describe', 'desc', 'explain', 'table']);

/**
 * Checks that `sql` is exactly one read-only query statement (SELECT/WITH/VALUES/SHOW/DESCRIBE/
 * EXPLAIN, trailing semicolons allowed) and returns its significant tokens without the semicolons.
 */
export function checkSingleQuery(sql: string): Token[] {
  const toks = significant(tokenize(sql));
  while (toks.length && toks[toks.length - 1]!.text === ';') toks.pop();
  if (toks.length === 0) throw new SqlSyntaxError('empty query');
  if (toks.some((t) => t.kind === 'punct' && t.text === ';')) throw new SqlSyntaxError('only one statement per query is allowed');
  let i = 0;
  while (toks[i]?.text === '(') i++;
  const first = toks[i];
  const keyword = first?.kind === 'word' ? first.text.toLowerCase() : '';
  if (!QUERY_KEYWORDS.has(keyword)) throw new SqlSyntaxError(`only queries are allowed (SELECT, WITH, VALUES, SHOW, DESCRIBE, EXPLAIN), got ${JSON.stringify(first?.text ?? '')}`);
  if (keyword === 'explain') {
    // EXPLAIN ANALYZE runs its statement: the statement explained must be a query too.
    let j = i + 1;
    if (toks[j]?.text === '(') {
      while (j < toks.length && toks[j]!.text !== ')') j++;
      j++;
    }
    while (toks[j]?.kind === 'word' && ['analyze', 'analyse', 'verbose'].includes(toks[j]!.text.toLowerCase())) j++;
    const inner = toks[j];
    const innerKeyword = inner?.kind === 'word' ? inner.text.toLowerCase() : inner?.text === '(' ? 'select' : '';
    if (!QUERY_KEYWORDS.has(innerKeyword) || innerKeyword === 'explain') throw new SqlSyntaxError('EXPLAIN is only allowed on queries');
  }
  return toks;
}

export interface FunctionCall {
  name: string;
  /** Index in the significant tokens of the name, of '(' and of the matching ')'. */
  nameIndex: number;
  open: number;
  close: number;
  /** Significant-token index ranges [from, to) of each top-level argument. */
  args: [number, number][];
}

/** Every call `name(...)` of one of `names` (case-insensitive, not qualified, not a column `x.name`). */
export function findCalls(toks: readonly Token[], names: readonly string[]): FunctionCall[] {
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  const calls: FunctionCall[] = [];
  for (let i = 0; i + 1 < toks.length; i++) {
    const t = toks[i]!;
    if (t.kind !== 'word' || !wanted.has(t.text.toLowerCase()) || toks[i + 1]!.text !== '(') continue;
    if (i > 0 && toks[i - 1]!.text === '.') continue;
    let depth = 0;
    let argStart = i + 2;
    const args: [number, number][] = [];
    let close = -1;
    for (let j = i + 1; j < toks.length; j++) {
      const x = toks[j]!.text;
      if (toks[j]!.kind !== 'punct') continue;
      if (x === '(' || x === '[' || x === '{') depth++;
      else if (x === ')' || x === ']' || x === '}') {
        depth--;
        if (depth === 0) {
          close = j;
          if (j > argStart) args.push([argStart, j]);
          break;
        }
      } else if (x === ',' && depth === 1) {
        args.push([argStart, j]);
        argStart = j + 1;
      }
    }
    if (close < 0) throw new SqlSyntaxError(`unbalanced parentheses after ${t.text}`);
    calls.push({ name: t.text.toLowerCase(), nameIndex: i, open: i + 1, close, args });
  }
  return calls;
}

export interface Replacement {
  /** Character range of the original SQL to replace. */
  start: number;
  end: number;
  text: string;
}

/** Applies non-overlapping replacements (outer ones win over those they contain). */
export function applyReplacements(sql: string, replacements: readonly Replacement[]): string {
  const sorted = [...replacements].sort((a, b) => a.start - b.start || b.end - a.end);
  let out = '';
  let pos = 0;
  for (const r of sorted) {
    if (r.start < pos) continue;
    out += sql.slice(pos, r.start) + r.text;
    pos = r.end;
  }
  return out + sql.slice(pos);
}
