// Deny-rule expressions: boolean SQL expressions over the match context (reference analytics.md §4.8),
// validated and evaluated by a DuckDB instance of their own. The instance holds one empty table
// `ctx` and nothing else; it cannot touch files or the network, load extensions or change settings.
// Validation reads DuckDB's parse tree (json_serialize_sql) and admits only an expression made of
// match-context columns, constants, operators and scalar functions: no subquery, table or aggregate
// function, window, lambda, star or parameter. Upstream evaluates the same rules with DataFusion.
import { DuckDBInstance, type DuckDBConnection, type DuckDBPreparedStatement } from '@duckdb/node-api';
import { DenyRuleError, SANDBOX_LOCKDOWN, tokenize } from '@micromegas/analytics';

/** The match context's columns, all nullable strings, in upstream's order. */
export const MATCH_COLUMNS = ['user_id', 'email', 'service_account', 'client', 'agent', 'entrypoint', 'session', 'notebook', 'cell', 'client_ip', 'sql', 'sql_hash'] as const;
export type MatchColumn = (typeof MATCH_COLUMNS)[number];
export type MatchContext = Record<MatchColumn, string | null>;

const COLUMN_SET = new Set<string>(MATCH_COLUMNS);
const MAX_EXPR_CHARS = 8192;
/** Parse-tree node classes an expression may not contain. */
const REFUSED_CLASSES: Record<string, string> = {
  SUBQUERY: 'a subquery',
  WINDOW: 'a window function',
  LAMBDA: 'a lambda',
  STAR: 'a star expression',
  COLUMNS: 'a COLUMNS expression',
  PARAMETER: 'a parameter',
  POSITIONAL_REFERENCE: 'a positional reference',
  DEFAULT: 'DEFAULT',
};

const columnsList = MATCH_COLUMNS.join(', ');
const probeRelation = `(SELECT ${MATCH_COLUMNS.map((c) => `'probe'::VARCHAR AS ${c}`).join(', ')}) ctx`;
/**
 * The one-row context as parameters. NULL values are written as NULL literals rather than bound:
 * binding a NULL parameter makes DuckDB re-plan the statement on every run (several times slower),
 * so there is one statement per pattern of absent values (prepared when first needed).
 */
function paramRelation(nulls: readonly boolean[]): string {
  let n = 0;
  return `(SELECT ${MATCH_COLUMNS.map((c, i) => (nulls[i] ? `NULL::VARCHAR AS ${c}` : `$${++n}::VARCHAR AS ${c}`)).join(', ')}) ctx`;
}

type Json = Record<string, unknown>;

/** A serialized queue: DuckDB prepared statements are bound then run, which must not interleave. */
class Serial {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

/** A set of compiled rules, checked in order; the first match wins. */
export interface CompiledRules {
  /** Index of the first rule matching `context`, -1 if none. Rules failing to evaluate are skipped (onError). */
  firstMatch(context: MatchContext, onError: (index: number, err: Error) => void): Promise<number>;
  close(): void;
}

export class ExpressionSandbox {
  private readonly serial = new Serial();
  private closed = false;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    private readonly scalarFunctions: ReadonlySet<string>,
  ) {}

  static async create(): Promise<ExpressionSandbox> {
    const instance = await DuckDBInstance.create(':memory:', { threads: '1', memory_limit: '64MB' });
    try {
      const connection = await instance.connect();
      await connection.run(`CREATE TABLE ctx (${MATCH_COLUMNS.map((c) => `${c} VARCHAR`).join(', ')})`);
      const reader = await connection.runAndReadAll(`SELECT DISTINCT lower(function_name) FROM duckdb_functions() WHERE function_type IN ('scalar', 'macro')`);
      const scalars = new Set(reader.getRows().map((r) => String(r[0])));
      for (const sql of SANDBOX_LOCKDOWN) await connection.run(sql);
      return new ExpressionSandbox(instance, connection, scalars);
    } catch (err) {
      instance.closeSync();
      throw err;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.connection.closeSync();
    this.instance.closeSync();
  }

  /** Checks a rule; throws DenyRuleError saying what is wrong. */
  compile(expr: string): Promise<void> {
    return this.serial.run(() => this.compileNow(expr));
  }

  private async compileNow(expr: string): Promise<void> {
    checkTokens(expr);
    const tree = await this.parseTree(expr);
    const root = selectExpression(tree, expr);
    const columns = walk(root, this.scalarFunctions, expr);
    if (columns === 0) {
      throw new DenyRuleError(
        `query deny rule must reference at least one match-context column (${columnsList}) -- a rule with no column reference would deny every query: ${expr}`,
      );
    }
    let prepared: DuckDBPreparedStatement;
    try {
      prepared = await this.connection.prepare(`SELECT (${expr}) FROM ctx`);
    } catch (err) {
      throw new DenyRuleError(`query deny rule does not compile: ${firstLine(err)}: ${expr}`);
    }
    const type = prepared.columnType(0).toString();
    if (type !== 'BOOLEAN') throw new DenyRuleError(`query deny rule must be a boolean expression, got ${type}: ${expr}`);
    // Evaluated once on a probe row: a comparison with a mismatched type (client = 42) fails here
    // instead of on every query.
    try {
      await this.connection.run(`SELECT (${expr}) FROM ${probeRelation}`);
    } catch (err) {
      throw new DenyRuleError(`query deny rule failed a compile-time check, likely comparing a column against a mismatched type: ${firstLine(err)}: ${expr}`);
    }
  }

  private async parseTree(expr: string): Promise<Json> {
    const reader = await this.connection.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [`SELECT (${expr}) AS m FROM ctx`]);
    const tree = JSON.parse(String(reader.getRows()[0]![0])) as Json;
    if (tree.error) throw new DenyRuleError(`query deny rule is not a valid SQL expression: ${String(tree.error_message)}: ${expr}`);
    return tree;
  }

  /**
   * Compiles already-validated rules into one statement evaluating them all on a row of parameters
   * (one DuckDB round trip per query), with per-rule statements as the fallback when one rule fails
   * at run time.
   */
  async prepareRules(exprs: readonly string[]): Promise<CompiledRules> {
    const connection = await this.serial.run(() => this.instance.connect());
    const serial = this.serial;
    // Statements by pattern of NULLs and by rule ('all' = every rule in one CASE); null = does not prepare.
    const statements = new Map<string, DuckDBPreparedStatement | null>();
    const statement = async (which: number | 'all', nulls: boolean[]) => {
      const key = `${which}:${nulls.map(Number).join('')}`;
      if (!statements.has(key)) {
        const relation = paramRelation(nulls);
        const sql = which === 'all'
          ? `SELECT CASE ${exprs.map((e, i) => `WHEN (${e}) THEN ${i}`).join(' ')} ELSE -1 END FROM ${relation}`
          : `SELECT (${exprs[which]}) FROM ${relation}`;
        statements.set(key, await connection.prepare(sql).catch(() => null));
      }
      return statements.get(key)!;
    };
    const run = async (p: DuckDBPreparedStatement, values: (string | null)[]) => {
      let n = 0;
      for (const v of values) if (v !== null) p.bindVarchar(++n, v);
      const reader = await p.runAndReadAll();
      return reader.getRows()[0]?.[0] ?? null;
    };
    return {
      firstMatch(context, onError) {
        if (exprs.length === 0) return Promise.resolve(-1);
        return serial.run(async () => {
          const values = MATCH_COLUMNS.map((c) => context[c]);
          const nulls = values.map((v) => v === null);
          const all = await statement('all', nulls);
          if (all) {
            try {
              return Number(await run(all, values));
            } catch {
              // One rule failed on this row: evaluate them one by one, skipping failures.
            }
          }
          for (let i = 0; i < exprs.length; i++) {
            try {
              const single = await statement(i, nulls);
              if (!single) throw new Error('does not compile');
              if ((await run(single, values)) === true) return i;
            } catch (err) {
              onError(i, err as Error);
            }
          }
          return -1;
        });
      },
      close() {
        void serial.run(async () => connection.closeSync());
      },
    };
  }
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0]!.trim();
}

/** The expression must stay inside the parentheses it is placed in: no comments, `;`, or unbalanced `)`. */
function checkTokens(expr: string): void {
  if (expr.trim() === '') throw new DenyRuleError('query deny rule must not be empty');
  if (expr.length > MAX_EXPR_CHARS) throw new DenyRuleError(`query deny rule is longer than ${MAX_EXPR_CHARS} characters`);
  let tokens;
  try {
    tokens = tokenize(expr);
  } catch (err) {
    throw new DenyRuleError(`query deny rule is not a valid SQL expression: ${(err as Error).message}: ${expr}`);
  }
  let depth = 0;
  for (const t of tokens) {
    if (t.kind === 'comment') throw new DenyRuleError(`query deny rule must not contain comments: ${expr}`);
    if (t.kind === 'param') throw new DenyRuleError(`query deny rule must not contain parameters: ${expr}`);
    if (t.kind !== 'punct') continue;
    if (t.text === ';') throw new DenyRuleError(`query deny rule must be a single expression (no ';'): ${expr}`);
    if (t.text === '(' || t.text === '[' || t.text === '{') depth++;
    else if (t.text === ')' || t.text === ']' || t.text === '}') {
      depth--;
      if (depth < 0) throw new DenyRuleError(`query deny rule has unbalanced parentheses: ${expr}`);
    }
  }
  if (depth !== 0) throw new DenyRuleError(`query deny rule has unbalanced parentheses: ${expr}`);
}

const isEmpty = (v: unknown) => v === null || v === undefined || (Array.isArray(v) && v.length === 0);

/** The one expression of `SELECT (<expr>) AS m FROM ctx`, after checking that nothing else is there. */
function selectExpression(tree: Json, expr: string): Json {
  const statements = tree.statements as Json[] | undefined;
  const node = statements?.length === 1 ? (statements[0]!.node as Json) : undefined;
  const from = node?.from_table as Json | undefined;
  const list = node?.select_list as Json[] | undefined;
  const ok =
    node?.type === 'SELECT_NODE' &&
    list?.length === 1 &&
    from?.type === 'BASE_TABLE' &&
    from.table_name === 'ctx' &&
    isEmpty(node.modifiers) &&
    isEmpty((node.cte_map as Json | undefined)?.map) &&
    isEmpty(node.where_clause) &&
    isEmpty(node.group_expressions) &&
    isEmpty(node.having) &&
    isEmpty(node.qualify) &&
    isEmpty(node.sample);
  if (!ok) throw new DenyRuleError(`query deny rule must be a single expression over the match context: ${expr}`);
  return list[0]!;
}

/** Walks an expression; refuses what is not a scalar expression over the context; returns the column references. */
function walk(node: unknown, scalars: ReadonlySet<string>, expr: string): number {
  if (Array.isArray(node)) return node.reduce((n: number, child) => n + walk(child, scalars, expr), 0);
  if (node === null || typeof node !== 'object') return 0;
  const o = node as Json;
  const cls = typeof o.class === 'string' ? o.class : undefined;
  if (cls !== undefined && REFUSED_CLASSES[cls]) throw new DenyRuleError(`query deny rule must not contain ${REFUSED_CLASSES[cls]}: ${expr}`);
  if (cls === 'COLUMN_REF') {
    const names = o.column_names as string[];
    const name = names.length === 1 ? names[0]!.toLowerCase() : names.join('.');
    if (!COLUMN_SET.has(name)) throw new DenyRuleError(`query deny rule references unknown column ${JSON.stringify(name)}; the match context is ${columnsList}: ${expr}`);
    return 1;
  }
  if (cls === 'FUNCTION') {
    const name = String(o.function_name).toLowerCase();
    if (o.schema || o.catalog || !scalars.has(name)) {
      throw new DenyRuleError(`query deny rule may only call scalar functions; ${JSON.stringify(String(o.function_name))} is not one: ${expr}`);
    }
    if (!isEmpty(o.filter) || !isEmpty((o.order_bys as Json | undefined)?.orders) || o.distinct === true) {
      throw new DenyRuleError(`query deny rule must not contain aggregate clauses: ${expr}`);
    }
  }
  let n = 0;
  for (const [key, value] of Object.entries(o)) {
    if (key === 'value' && cls === 'CONSTANT') continue;
    n += walk(value, scalars, expr);
  }
  return n;
}
