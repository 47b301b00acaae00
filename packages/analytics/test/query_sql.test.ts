import assert from 'node:assert/strict';
import { test } from 'node:test';
import { duckTypeForArrowName } from '../src/query/functions.ts';
import { rewriteArrowCasts, rewriteValueAggregates } from '../src/query/plan.ts';
import { checkSingleQuery, findCalls, significant, SqlSyntaxError, tokenize } from '../src/query/sql_tokens.ts';

test('tokenizer: literals, quoted identifiers and comments hide what they contain', () => {
  const sql = `SELECT 'a;b''c', E'x\\'; y', $$ ; view_instance('a','b') $$, "view_instance(" -- ; trailing
    /* outer /* nested ; */ still comment ; */ FROM t`;
  const toks = significant(tokenize(sql));
  assert.deepEqual(toks.map((t) => t.kind), ['word', 'string', 'punct', 'string', 'punct', 'string', 'punct', 'quoted', 'word', 'word']);
  assert.deepEqual(findCalls(toks, ['view_instance']), []);
  assert.equal(checkSingleQuery(sql).length, toks.length);
  assert.throws(() => tokenize(`SELECT 'open`), SqlSyntaxError);
  assert.throws(() => tokenize('SELECT /* open'), SqlSyntaxError);
  assert.throws(() => tokenize('SELECT "open'), SqlSyntaxError);
});

test('one query statement only; EXPLAIN only of queries', () => {
  for (const ok of ['SELECT 1', 'select 1;;', 'WITH a AS (SELECT 1) SELECT * FROM a', '(SELECT 1)', 'VALUES (1)', 'SHOW TABLES', 'DESCRIBE log_entries', 'EXPLAIN SELECT 1', 'EXPLAIN ANALYZE SELECT 1', 'FROM t']) {
    assert.doesNotThrow(() => checkSingleQuery(ok), ok);
  }
  for (const bad of ['', ';', 'SELECT 1; SELECT 2', 'COPY t TO \'x\'', 'EXPLAIN ANALYZE COPY (SELECT 1) TO \'x\'', 'EXPLAIN EXPLAIN SELECT 1', 'SET x = 1', 'ATTACH \'x\'', 'PRAGMA version', 'CALL f()', 'INSERT INTO t VALUES (1)']) {
    assert.throws(() => checkSingleQuery(bad), SqlSyntaxError, bad);
  }
});

test('findCalls splits top-level arguments and skips qualified names', () => {
  const toks = significant(tokenize(`SELECT * FROM view_instance('log_entries', concat('a', 'b')) JOIN x.view_instance('no', 'no') ON f(g(1), [2, 3])`));
  const [call, ...rest] = findCalls(toks, ['view_instance', 'f']);
  assert.equal(call!.name, 'view_instance');
  assert.deepEqual(call!.args.map(([a, b]) => toks.slice(a, b).map((t) => t.text).join('')), [`'log_entries'`, `concat('a','b')`]);
  assert.deepEqual(rest.map((c) => c.args.length), [2]);
});

test('arrow_cast becomes CAST, nested ones included', () => {
  assert.equal(rewriteArrowCasts(`SELECT arrow_cast(x, 'Utf8') FROM t`), 'SELECT CAST(x AS VARCHAR) FROM t');
  assert.equal(rewriteArrowCasts(`SELECT ARROW_CAST(arrow_cast(f(a, b), 'Int64'), 'Float64')`), 'SELECT CAST(CAST(f(a, b) AS BIGINT) AS DOUBLE)');
  assert.equal(rewriteArrowCasts(`SELECT 'arrow_cast(x, ''Utf8'')'`), `SELECT 'arrow_cast(x, ''Utf8'')'`);
  assert.throws(() => rewriteArrowCasts(`SELECT arrow_cast(x, 'Decimal128(3, 2)')`), /unsupported type/);
  assert.equal(duckTypeForArrowName('Timestamp(Nanosecond, Some("+00:00"))'), 'TIMESTAMP_NS');
  assert.equal(duckTypeForArrowName('Dictionary(Int32, Utf8)'), 'VARCHAR');
});

test('first_value/last_value aggregates become first/last; window uses stay', () => {
  assert.equal(rewriteValueAggregates(`SELECT first_value(p) FILTER (WHERE p IS NOT NULL), LAST_VALUE(x ORDER BY t), first_value(y) OVER (ORDER BY t)`),
    `SELECT first(p) FILTER (WHERE p IS NOT NULL), last(x ORDER BY t), first_value(y) OVER (ORDER BY t)`);
});
