// Cost of the deny-list check on the query path: validating a rule (deny_queries, once), compiling the
// snapshot (each refresh that changes the rules) and checking one query context against it (every
// query whose context is not cached), for 0–100 rules. Upstream's figure for the same check in
// DataFusion is ~0.45 µs per rule (its deny_queries_table_function.rs comment).
import { ExpressionSandbox, MATCH_COLUMNS, type MatchContext } from '../src/deny_expr.ts';

const sandbox = await ExpressionSandbox.create();
const rule = (i: number) => (i % 2 ? `sql_hash = '${i.toString(16).padStart(16, '0')}'` : `client = 'c${i}' AND sql LIKE '%thread_spans_${i}%'`);
const context = (i: number): MatchContext =>
  Object.fromEntries(MATCH_COLUMNS.map((c) => [c, c === 'sql' ? `SELECT time, msg FROM log_entries WHERE level <= ${i}` : ['session', 'notebook', 'cell'].includes(c) ? null : `v${i}`])) as MatchContext;

let t = performance.now();
for (let i = 0; i < 100; i++) await sandbox.compile(rule(i));
console.log(`deny rule validation: ${((performance.now() - t) / 100).toFixed(2)} ms per rule`);
for (const n of [1, 10, 100]) {
  const exprs = Array.from({ length: n }, (_, i) => rule(i));
  t = performance.now();
  const rules = await sandbox.prepareRules(exprs);
  const compileMs = performance.now() - t;
  for (let i = 0; i < 50; i++) await rules.firstMatch(context(i), () => {});
  const queries = 2000;
  t = performance.now();
  for (let i = 0; i < queries; i++) await rules.firstMatch(context(i), () => {});
  const us = ((performance.now() - t) * 1000) / queries;
  console.log(`deny check, ${String(n).padStart(3)} rules: ${us.toFixed(0)} µs per query (uncached context), snapshot compile ${compileMs.toFixed(1)} ms`);
  rules.close();
}
sandbox.close();
