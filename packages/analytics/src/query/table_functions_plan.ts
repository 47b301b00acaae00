// Finding the table functions of a query (reference analytics.md §2.1, plus the async scalar UDFs of
// §2.2 that reach the lake). DuckDB's node API has no JavaScript table functions, so each call is
// evaluated before the query and its text replaced: process_spans here, at plan time, because it
// reads JIT view instances whose files the sandbox must allow; the others in the query's DuckDB
// session (table_functions.ts), where argument subqueries can be run.
import { findThreadStreams, threadDisplayName } from '../metadata.ts';
import { formatTimestampNanos } from '../time.ts';
import type { LakehouseContext } from '../lakehouse/view.ts';
import { threadSpansSchema } from '../spans/index.ts';
import { PlanError, type ViewSource } from './plan.ts';
import { findCalls, stringValue, type Token } from './sql_tokens.ts';
import { emptyRelation, quoteIdent, sqlString, type QueryRange } from './views_sql.ts';

/** Functions evaluated in the session, by name: whether they are admin-only (🔒) and how they are used. */
export const SESSION_FUNCTIONS: Readonly<Record<string, { admin: boolean; scalar: boolean }>> = {
  list_partitions: { admin: false, scalar: false },
  list_view_sets: { admin: false, scalar: false },
  parse_block: { admin: false, scalar: false },
  jsonb_each: { admin: false, scalar: false },
  jsonb_array_elements: { admin: false, scalar: false },
  expand_histogram: { admin: false, scalar: false },
  perfetto_trace_chunks: { admin: false, scalar: false },
  get_payload: { admin: false, scalar: true },
  materialize_partitions: { admin: true, scalar: false },
  regenerate_partitions: { admin: true, scalar: false },
  retire_partitions: { admin: true, scalar: false },
  retire_partition_by_metadata: { admin: true, scalar: true },
  retire_partition_by_file: { admin: true, scalar: true },
  deny_queries: { admin: true, scalar: false },
  list_query_denials: { admin: true, scalar: false },
  remove_query_denial: { admin: true, scalar: true },
};

export interface CallArg {
  /** Character range of the argument in the query. */
  start: number;
  end: number;
  toks: Token[];
}

export interface TableFunctionCall {
  name: string;
  /** Character range of the whole call in the query. */
  start: number;
  end: number;
  args: CallArg[];
}

export interface ProcessSpansCall {
  start: number;
  end: number;
  /** In output order: thread streams (ordered by stream id), then the async spans. */
  sources: { kind: 'thread' | 'async'; streamId: string; threadName: string; source: ViewSource }[];
}

export interface TableFunctionPlanOptions {
  adminAllowed: boolean;
  materialize: boolean;
  range: QueryRange | undefined;
  /** The view instance source, materialized just in time (plan.ts). */
  resolve: (setName: string, instanceId: string) => Promise<ViewSource>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The literal string of an argument made of one string token. */
export function literalString(arg: CallArg | undefined): string | undefined {
  return arg && arg.toks.length === 1 ? stringValue(arg.toks[0]!) : undefined;
}

function argText(sql: string, arg: CallArg | undefined): string {
  return arg ? sql.slice(arg.start, arg.end) : 'nothing';
}

export async function planTableFunctions(
  ctx: LakehouseContext,
  sql: string,
  toks: readonly Token[],
  options: TableFunctionPlanOptions,
): Promise<{ functions: TableFunctionCall[]; processSpans: ProcessSpansCall[] }> {
  const functions: TableFunctionCall[] = [];
  const processSpans: ProcessSpansCall[] = [];
  for (const call of findCalls(toks, [...Object.keys(SESSION_FUNCTIONS), 'process_spans'])) {
    const start = toks[call.nameIndex]!.start;
    const end = toks[call.close]!.end;
    const args = call.args.map(([from, to]) => ({ start: toks[from]!.start, end: toks[to - 1]!.end, toks: toks.slice(from, to) }));
    if (call.name === 'process_spans') {
      processSpans.push({ start, end, sources: await planProcessSpans(ctx, sql, args, options) });
      continue;
    }
    // Upstream does not register admin functions for other callers: to them they do not exist.
    if (SESSION_FUNCTIONS[call.name]!.admin && !options.adminAllowed) throw new PlanError(`Invalid function '${call.name}': admin functions are reserved to administrators`);
    functions.push({ name: call.name, start, end, args });
  }
  // Inner calls (inside another call's arguments) end first: evaluating by end position gives
  // every call its arguments' substitutions.
  functions.sort((a, b) => a.end - b.end);
  return { functions, processSpans };
}

async function planProcessSpans(ctx: LakehouseContext, sql: string, args: CallArg[], options: TableFunctionPlanOptions): Promise<ProcessSpansCall['sources']> {
  const processId = literalString(args[0]);
  if (processId === undefined) throw new PlanError(`First argument to process_spans must be a string (the process ID), given ${argText(sql, args[0])}`);
  if (!UUID.test(processId)) throw new PlanError(`First argument to process_spans must be a valid UUID (the process ID), given '${processId}'`);
  const types = literalString(args[1]);
  if (types === undefined) throw new PlanError(`Second argument to process_spans must be a string ('thread', 'async', or 'both'), given ${argText(sql, args[1])}`);
  if (!['thread', 'async', 'both'].includes(types)) throw new PlanError(`span_types must be 'thread', 'async', or 'both', given: ${types}`);
  if (args.length > 2) throw new PlanError('process_spans takes two arguments');
  if (!options.materialize) return [];
  const id = processId.toLowerCase();
  const sources: ProcessSpansCall['sources'] = [];
  if (types !== 'async') {
    for (const t of await findThreadStreams(ctx.lake.db, id, options.range)) {
      const source = await options.resolve('thread_spans', t.streamId);
      sources.push({ kind: 'thread', streamId: t.streamId, threadName: threadDisplayName(t), source });
    }
  }
  if (types !== 'thread') sources.push({ kind: 'async', streamId: '', threadName: 'async', source: await options.resolve('async_events', id) });
  return sources;
}

/** The rows of a process_spans call: stream_id, thread_name, then the thread_spans columns. */
export function processSpansRelation(call: ProcessSpansCall, relation: (source: ViewSource) => string): string {
  const columns = threadSpansSchema.fields.map((f) => quoteIdent(f.name)).join(', ');
  if (call.sources.length === 0) {
    return `SELECT CAST(NULL AS VARCHAR) AS stream_id, CAST(NULL AS VARCHAR) AS thread_name, ${columns} FROM (${emptyRelation(threadSpansSchema)})`;
  }
  const parts = call.sources.map((s, i) => {
    const head = `SELECT ${i} AS __ord, ${sqlString(s.streamId)} AS stream_id, ${sqlString(s.threadName)} AS thread_name`;
    if (s.kind === 'thread') return `${head}, ${columns} FROM (${relation(s.source)})`;
    const events = relation(s.source);
    return `${head}, b.span_id AS id, b.parent_span_id AS parent, b.depth, b.hash, b."time" AS "begin", e."time" AS "end",
      CAST(epoch_ns(e."time") - epoch_ns(b."time") AS BIGINT) AS duration, b.name, b.target, b.filename, b.line
      FROM (${events}) b JOIN (${events}) e ON b.span_id = e.span_id
      WHERE b.event_type = 'begin' AND e.event_type = 'end' AND b."time" < e."time"`;
  });
  return `SELECT * EXCLUDE (__ord) FROM (${parts.join(' UNION ALL ')}) ORDER BY __ord, "begin", id`;
}
