// Planning a query against the lakehouse: which global views it names, which view_instance calls it
// makes (materialized just in time, §1.2), which partition files each reads, and the SQL DuckDB runs
// once those files have local paths. DataFusion-isms that macros can't express (arrow_cast, SHOW
// TABLES) are rewritten here.
import type { Schema } from 'apache-arrow';
import { DEFAULT_GLOBAL_VIEWS } from '../lakehouse/global/index.ts';
import { jitUpdate } from '../lakehouse/jit.ts';
import { makeJitView, ViewError } from '../lakehouse/jit_views.ts';
import { currentPartitions } from '../lakehouse/partition_reader.ts';
import type { GlobalView, LakehouseContext } from '../lakehouse/view.ts';
import { otelSpansView } from '../otel/views.ts';
import { TRACE_ID, traceIdPredicate, tracePartitionKeys } from '../otel/trace_index.ts';
import { duckTypeForArrowName } from './functions.ts';
import { applyReplacements, checkSingleQuery, findCalls, identName, significant, stringValue, tokenize, type Replacement, type Token } from './sql_tokens.ts';
import { emptyRelation, partitionsRelation, quoteIdent, type QueryRange } from './views_sql.ts';
import { planTableFunctions, processSpansRelation, type ProcessSpansCall, type TableFunctionCall } from './table_functions_plan.ts';

/** A user error in the query text or its arguments (→ invalid_argument). */
export class PlanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlanError';
  }
}

/** Global views whose user-visible table is their merge query over the partitions (SqlBatchViews). */
const MERGED_ON_READ = new Set(['processes', 'streams', 'log_stats']);
/** View sets whose global instance view_instance(set, 'global') also reaches. */
const GLOBAL_VIEW_SETS = new Set(['log_entries', 'measures', 'otel_spans', 'histograms']);

export interface ViewSource {
  setName: string;
  schema: Schema;
  /** Object keys of the partition files; none → an empty relation. */
  keys: string[];
  mergeQuery?: (source: string) => string;
}

export interface QueryPlan {
  /** Every global view, with its source when the query names it (else defined empty). */
  globals: { view: GlobalView; source?: ViewSource }[];
  /** view_instance calls of the query, by character range. */
  instances: { start: number; end: number; source: ViewSource }[];
  /** Table functions evaluated in the query's DuckDB session (table_functions.ts), innermost first. */
  functions: TableFunctionCall[];
  /** process_spans calls, whose thread_spans/async_events instances are materialized like view_instance. */
  processSpans: ProcessSpansCall[];
  sql: string;
  range: QueryRange | undefined;
  /** The statement's leading keyword (select, with, show, …). */
  keyword: string;
}

export interface PlanOptions {
  globalViews?: readonly GlobalView[];
  /** false: no JIT materialization and no files (schema discovery). */
  materialize: boolean;
  /** Whether admin functions (🔒 in analytics.md §2) exist for this caller; default true. */
  adminAllowed?: boolean;
}

async function globalSource(ctx: LakehouseContext, view: GlobalView, range: QueryRange | undefined, materialize: boolean): Promise<ViewSource> {
  const parts = materialize ? await currentPartitions(ctx, view, range) : [];
  return {
    setName: view.setName,
    schema: view.schema,
    keys: parts.map((p) => p.filePath!),
    mergeQuery: MERGED_ON_READ.has(view.setName) ? view.mergeQuery : undefined,
  };
}

function literalArg(toks: readonly Token[], [from, to]: [number, number]): string | undefined {
  return to - from === 1 ? stringValue(toks[from]!) : undefined;
}

export async function planQuery(ctx: LakehouseContext, sql: string, range: QueryRange | undefined, options: PlanOptions): Promise<QueryPlan> {
  const globalViews = options.globalViews ?? DEFAULT_GLOBAL_VIEWS;
  const toks = checkSingleQuery(sql);
  const keyword = toks.find((t) => t.text !== '(')!.text.toLowerCase();
  const named = new Set<string>();
  for (const t of toks) {
    const name = identName(t) ?? stringValue(t);
    if (name !== undefined) named.add(name.toLowerCase());
  }

  const instances: QueryPlan['instances'] = [];
  const byKey = new Map<string, ViewSource>();
  const resolve = async (setName: string, instanceId: string) => {
    const key = `${setName}\u0000${instanceId}`;
    let source = byKey.get(key);
    if (!source) {
      source = await instanceSource(ctx, globalViews, setName, instanceId, range, options.materialize);
      byKey.set(key, source);
    }
    return source;
  };
  for (const call of findCalls(toks, ['view_instance'])) {
    const setName = call.args[0] ? literalArg(toks, call.args[0]) : undefined;
    if (setName === undefined) throw new PlanError(`First argument to view_instance must be a string (the view set name), given ${call.args[0] ? sqlOf(sql, toks, call.args[0]) : 'nothing'}`);
    const instanceId = call.args[1] ? literalArg(toks, call.args[1]) : undefined;
    if (instanceId === undefined) throw new PlanError(`Second argument to view_instance must be a string (the view instance id), given ${call.args[1] ? sqlOf(sql, toks, call.args[1]) : 'nothing'}`);
    if (call.args.length > 2) throw new PlanError('view_instance takes two arguments');
    const source = await resolve(setName, instanceId);
    instances.push({ start: toks[call.nameIndex]!.start, end: toks[call.close]!.end, source });
  }

  // trace_spans('<trace id hex>'): every span of one trace, all services, from the global otel_spans
  // partitions the trace index names (otel/trace_index.ts), filtered by trace id.
  for (const call of findCalls(toks, ['trace_spans'])) {
    const traceId = call.args[0] ? literalArg(toks, call.args[0]) : undefined;
    if (traceId === undefined || !TRACE_ID.test(traceId)) {
      throw new PlanError(`Argument to trace_spans must be a trace id string of 32 hex digits, given ${call.args[0] ? sqlOf(sql, toks, call.args[0]) : 'nothing'}`);
    }
    if (call.args.length > 1) throw new PlanError('trace_spans takes one argument');
    const keys = options.materialize ? await tracePartitionKeys(ctx.lake.db, traceId, otelSpansView.schemaHash, range) : [];
    const source: ViewSource = { setName: 'otel_spans', schema: otelSpansView.schema, keys, mergeQuery: (rows) => `SELECT * FROM ${rows} WHERE ${traceIdPredicate(traceId)} ORDER BY start_time, span_id` };
    instances.push({ start: toks[call.nameIndex]!.start, end: toks[call.close]!.end, source });
  }

  const { functions, processSpans } = await planTableFunctions(ctx, sql, toks, { adminAllowed: options.adminAllowed ?? true, materialize: options.materialize, range, resolve });

  const globals: QueryPlan['globals'] = [];
  for (const view of globalViews) {
    const used = named.has(view.setName) || (MERGED_ON_READ.has(view.setName) && named.has(partitionsTable(view.setName)));
    globals.push({ view, source: used ? await globalSource(ctx, view, range, options.materialize) : undefined });
  }
  return { globals, instances, functions, processSpans, sql, range, keyword };
}

function sqlOf(sql: string, toks: readonly Token[], [from, to]: [number, number]): string {
  return sql.slice(toks[from]!.start, toks[to - 1]!.end);
}

async function instanceSource(
  ctx: LakehouseContext, globalViews: readonly GlobalView[], setName: string, instanceId: string, range: QueryRange | undefined, materialize: boolean,
): Promise<ViewSource> {
  if (instanceId === 'global' && GLOBAL_VIEW_SETS.has(setName)) {
    const view = globalViews.find((v) => v.setName === setName);
    if (view) return globalSource(ctx, view, range, materialize);
  }
  try {
    const view = await makeJitView(ctx, setName, instanceId);
    if (!materialize) return { setName, schema: view.schema, keys: [] };
    const jitRange = range ?? (await view.defaultRange(ctx));
    await jitUpdate(ctx, view, jitRange);
    const parts = await currentPartitions(ctx, view, range);
    return { setName, schema: view.schema, keys: parts.map((p) => p.filePath!) };
  } catch (err) {
    if (err instanceof ViewError) throw new PlanError(`error making view: ${err.message}`);
    throw err;
  }
}

/** Every object key the plan reads. */
export function planKeys(plan: QueryPlan): string[] {
  const keys = new Set<string>();
  for (const g of plan.globals) for (const k of g.source?.keys ?? []) keys.add(k);
  for (const i of plan.instances) for (const k of i.source.keys) keys.add(k);
  for (const p of plan.processSpans) for (const s of p.sources) for (const k of s.source.keys) keys.add(k);
  return [...keys];
}

/** The relation of a source, given the local paths of its objects. */
export function sourceRelation(source: ViewSource, range: QueryRange | undefined, pathOf: (key: string) => string): string {
  if (source.keys.length === 0) return emptyRelation(source.schema);
  const rows = partitionsRelation(source.setName, source.schema, source.keys.map(pathOf), range);
  return source.mergeQuery ? source.mergeQuery(`(${rows}) AS partitions`) : rows;
}

/** Upstream exposes the raw partition rows of SqlBatchViews as `__{name}__partitions`. */
const partitionsTable = (setName: string) => `__${setName}__partitions`;

export interface ViewStatement {
  /** The view the statement (re)defines. */
  name: string;
  sql: string;
}

/**
 * CREATE OR REPLACE VIEW statements of the global views. `sourcedOnly`: only the views whose
 * definition depends on the plan (those it gives a source); otherwise all of them, the views
 * without a source defined empty. A merged view (processes, streams, log_stats) reads its raw
 * partitions view by name, so only that raw view depends on the plan.
 */
export function globalViewStatements(globals: QueryPlan['globals'], range: QueryRange | undefined, pathOf: (key: string) => string, sourcedOnly: boolean): ViewStatement[] {
  const statements: ViewStatement[] = [];
  const define = (name: string, relation: string) => statements.push({ name, sql: `CREATE OR REPLACE VIEW ${quoteIdent(name)} AS ${relation}` });
  for (const { view, source } of globals) {
    if (sourcedOnly && !source) continue;
    if (!MERGED_ON_READ.has(view.setName) || !view.mergeQuery) {
      define(view.setName, source ? sourceRelation(source, range, pathOf) : emptyRelation(view.schema));
      continue;
    }
    const raw = source && source.keys.length > 0 ? partitionsRelation(view.setName, view.schema, source.keys.map(pathOf), range) : emptyRelation(view.schema);
    define(partitionsTable(view.setName), raw);
    if (!sourcedOnly) define(view.setName, view.mergeQuery(quoteIdent(partitionsTable(view.setName))));
  }
  return statements;
}

/** Substitutions of the plan-time calls (view_instance, process_spans), by character range of the query. */
function planReplacements(plan: QueryPlan, pathOf: (key: string) => string): Replacement[] {
  return [
    ...plan.instances.map((i) => ({ start: i.start, end: i.end, text: `(${sourceRelation(i.source, plan.range, pathOf)})` })),
    ...plan.processSpans.map((p) => ({ start: p.start, end: p.end, text: `(${processSpansRelation(p, (s) => sourceRelation(s, plan.range, pathOf))})` })),
  ];
}

/**
 * The SQL of the query's characters [start, end) (a table function's argument) with the calls inside
 * it substituted: plan-time ones and the session-time `evaluated` ones.
 */
export function renderFragment(plan: QueryPlan, pathOf: (key: string) => string, start: number, end: number, evaluated: readonly Replacement[]): string {
  const inside = [...planReplacements(plan, pathOf), ...evaluated]
    .filter((r) => r.start >= start && r.end <= end)
    .map((r) => ({ ...r, start: r.start - start, end: r.end - start }));
  return rewriteDifferenceCasts(rewriteValueAggregates(rewriteArrowCasts(applyReplacements(plan.sql.slice(start, end), inside))));
}

/** The SQL DuckDB runs: view_instance and table-function calls substituted, arrow_cast and SHOW TABLES rewritten. */
export function renderSql(plan: QueryPlan, pathOf: (key: string) => string, evaluated: readonly Replacement[] = []): string {
  let sql = applyReplacements(plan.sql, [...planReplacements(plan, pathOf), ...evaluated]);
  sql = rewriteArrowCasts(sql);
  sql = rewriteValueAggregates(sql);
  sql = rewriteDifferenceCasts(sql);
  const toks = significant(tokenize(sql));
  while (toks.length && toks[toks.length - 1]!.text === ';') toks.pop();
  if (toks.length === 2 && toks[0]!.text.toLowerCase() === 'show' && toks[1]!.text.toLowerCase() === 'tables') {
    // DataFusion's SHOW TABLES is information_schema.tables.
    // The session's temporary tables (table-function results) are not the user's.
    sql = `SELECT table_catalog, table_schema, table_name, table_type FROM information_schema.tables WHERE table_catalog <> 'temp'`;
  }
  return sql;
}

/** first_value/last_value used as aggregates (no OVER) → DuckDB's first/last aggregates. */
export function rewriteValueAggregates(sql: string): string {
  const toks = significant(tokenize(sql));
  const replacements: Replacement[] = [];
  for (const call of findCalls(toks, ['first_value', 'last_value'])) {
    if (toks[call.close + 1]?.text.toLowerCase() === 'over') continue;
    const name = toks[call.nameIndex]!;
    replacements.push({ start: name.start, end: name.end, text: call.name === 'first_value' ? 'first' : 'last' });
  }
  return applyReplacements(sql, replacements);
}

/** arrow_cast(x, 'Type') → CAST(x AS duck type), innermost first. */
export function rewriteArrowCasts(sql: string): string {
  for (let pass = 0; pass < 64; pass++) {
    const toks = significant(tokenize(sql));
    const calls = findCalls(toks, ['arrow_cast']);
    if (calls.length === 0) return sql;
    // Calls without an arrow_cast inside their arguments.
    const innermost = calls.filter((c) => !calls.some((o) => o !== c && o.nameIndex > c.nameIndex && o.close < c.close));
    sql = applyReplacements(sql, innermost.map((c) => {
      if (c.args.length !== 2) throw new PlanError('arrow_cast takes two arguments');
      const typeName = literalArg(toks, c.args[1]!);
      if (typeName === undefined) throw new PlanError('the second argument of arrow_cast must be a string literal naming an Arrow type');
      const target = duckTypeForArrowName(typeName);
      if (!target) throw new PlanError(`arrow_cast: unsupported type ${JSON.stringify(typeName)}`);
      return { start: toks[c.nameIndex]!.start, end: toks[c.close]!.end, text: `CAST(${sqlOf(sql, toks, c.args[0]!)} AS ${target})` };
    }));
  }
  throw new PlanError('arrow_cast nested too deeply');
}

const INTEGER_TYPES = new Set(['bigint', 'int8', 'int64', 'long']);

/**
 * CAST(a - b AS BIGINT): DataFusion turns a timestamp difference (a duration) into nanoseconds, where
 * DuckDB has no INTERVAL→BIGINT cast. Such casts of a difference go through __mm_to_bigint, which
 * takes any type (functions.ts) and also truncates numbers as Arrow's cast does.
 */
export function rewriteDifferenceCasts(sql: string): string {
  for (let pass = 0; pass < 64; pass++) {
    const toks = significant(tokenize(sql));
    const candidates = findCalls(toks, ['cast']).filter((c) => {
      const [from, to] = c.args[0] ?? [0, 0];
      if (c.args.length !== 1 || to - from < 4) return false;
      if (toks[to - 2]!.text.toLowerCase() !== 'as' || !INTEGER_TYPES.has(toks[to - 1]!.text.toLowerCase())) return false;
      // Any subtraction inside (parenthesized or not); numbers going through the function are harmless.
      for (let i = from; i < to - 2; i++) if (toks[i]!.kind === 'punct' && toks[i]!.text === '-') return true;
      return false;
    });
    if (candidates.length === 0) return sql;
    const innermost = candidates.filter((c) => !candidates.some((o) => o !== c && o.nameIndex > c.nameIndex && o.close < c.close));
    sql = applyReplacements(sql, innermost.map((c) => {
      const [from, to] = c.args[0]!;
      return { start: toks[c.nameIndex]!.start, end: toks[c.close]!.end, text: `__mm_to_bigint(${sql.slice(toks[from]!.start, toks[to - 3]!.end)})` };
    }));
  }
  throw new PlanError('CAST nested too deeply');
}
