// The normalized SQL fingerprint (`sql_hash`) of the audit record and the deny list: the first 16 hex
// characters of the SHA-256 of the statement's token stream with literals replaced by `?`, comments
// and whitespace dropped, unquoted words lower-cased, tokens joined by one space (upstream
// query_deny_list.rs fingerprint_of). Upstream tokenizes with sqlparser's GenericDialect; our
// tokenizer (sql_tokens.ts) splits operators into single characters and reads N'…'/X'…' as a word
// and a string, so those are merged back here to give the same token texts.
import { createHash } from 'node:crypto';
import { tokenize, type Token } from '@micromegas/analytics';

/** sqlparser's multi-character operators, longest first; `!=` is displayed as `<>`. */
const OPERATORS: readonly (readonly [string, string])[] = [
  ['!~~*', '!~~*'], ['||/', '||/'], ['!~~', '!~~'], ['~~*', '~~*'], ['!~*', '!~*'], ['<=>', '<=>'], ['->>', '->>'], ['#>>', '#>>'],
  ['<=', '<='], ['>=', '>='], ['<>', '<>'], ['!=', '<>'], ['==', '=='], ['||', '||'], ['::', '::'], [':=', ':='], ['=>', '=>'],
  ['->', '->'], ['#>', '#>'], ['<<', '<<'], ['>>', '>>'], ['~*', '~*'], ['!~', '!~'], ['~~', '~~'], ['!!', '!!'], ['@>', '@>'],
  ['<@', '<@'], ['@?', '@?'], ['@@', '@@'], ['|/', '|/'], ['&&', '&&'],
].map(([a, b]) => [a!, b!] as const);

/** The normalized token texts of `sql`, or undefined when it does not tokenize. */
export function normalizedTokens(sql: string): string[] | undefined {
  let tokens: Token[];
  try {
    tokens = tokenize(sql).filter((t) => t.kind !== 'space' && t.kind !== 'comment');
  } catch {
    return undefined;
  }
  const parts: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const next = tokens[i + 1];
    switch (t.kind) {
      case 'word':
        // N'…' (national) and X'…' (hex) literals are one literal token to sqlparser.
        if (next?.kind === 'string' && next.start === t.end && /^[nNxX]$/.test(t.text) && next.text.startsWith("'")) {
          parts.push('?');
          i++;
        } else parts.push(t.text.toLowerCase());
        break;
      case 'quoted':
        // Kept with its case; sqlparser shows the unescaped value between quotes.
        parts.push(`"${t.text.slice(1, -1).replaceAll('""', '"')}"`);
        break;
      case 'string':
        // Dollar-quoted strings are not among the literals upstream strips.
        parts.push(t.text.startsWith('$') ? t.text : '?');
        break;
      case 'number':
        parts.push('?');
        break;
      case 'punct': {
        // Adjacent punctuation forms sqlparser's multi-character operators.
        let run = t.text;
        let j = i + 1;
        while (j < tokens.length && tokens[j]!.kind === 'punct' && tokens[j]!.start === tokens[j - 1]!.end && run.length < 4) run += tokens[j++]!.text;
        const op = OPERATORS.find(([text]) => run.startsWith(text));
        if (op) {
          parts.push(op[1]);
          i += op[0].length - 1;
        } else parts.push(t.text);
        break;
      }
      default:
        parts.push(t.text);
    }
  }
  return parts;
}

/** The `sql_hash` of a statement; text that does not tokenize is hashed with its whitespace collapsed. */
export function fingerprintOf(sql: string): string {
  const normalized = normalizedTokens(sql)?.join(' ') ?? sql.split(/\s+/).filter(Boolean).join(' ');
  return createHash('sha256').update(normalized, 'utf8').digest('hex').slice(0, 16);
}
