// Evaluating a query's table functions inside its DuckDB session (see table_functions_plan.ts):
// arguments that are not plain literals are computed by DuckDB in the same session (so a scalar
// subquery over the views works), the function runs in JavaScript, and its rows land in a
// temporary table that replaces the call in the query text. Scalar-style lake functions with
// per-row arguments (get_payload(process_id, …) FROM blocks) run in two passes: the query first
// runs to collect their arguments, the lake answers, then the query runs for real.
import {
  BLOB, DuckDBScalarFunction, LIST, listValue, DuckDBTimestampNanosecondsValue, TIMESTAMP_NS, VARCHAR, blobValue, type DuckDBConnection, type DuckDBType, type DuckDBValue,
} from '@duckdb/node-api';
import { blobKey } from '../block_source.ts';
import { decodeJsonb, encodeJsonb } from '../jsonb.ts';
import { findProcess } from '../metadata.ts';
import { perfettoTraceChunks } from '../perfetto/process_trace.ts';
import type { GlobalView, LakehouseContext } from '../lakehouse/view.ts';
import { parseTimestampNanos, type Nanos } from '../time.ts';
import {
  denyQueriesTask, listQueryDenialRows, materializePartitionsTask, regeneratePartitionsTask, removeQueryDenials, retirePartitionsByFile, retirePartitionsByMetadata, retirePartitionsTask,
  type LogRow, type QueryDenials,
} from './admin_functions.ts';
import { PlanError, renderFragment, type QueryPlan } from './plan.ts';
import { stringValue, type Replacement } from './sql_tokens.ts';
import { listPartitionRows, listViewSetRows, parseBlockRows, OUTPUTS, type Row } from './table_functions_rows.ts';
import { SESSION_FUNCTIONS, literalString, type CallArg, type TableFunctionCall } from './table_functions_plan.ts';
import { quoteIdent, sqlString } from './views_sql.ts';

export interface SessionEnv {
  ctx: LakehouseContext;
  connection: DuckDBConnection;
  plan: QueryPlan;
  pathOf: (key: string) => string;
  globalViews: readonly GlobalView[];
  /** Schema discovery: no side effects, empty results of the right types. */
  dryRun: boolean;
  /** The query deny list of the service, for deny_queries / list_query_denials / remove_query_denial. */
  denials?: QueryDenials;
  /** Who runs the query (created_by of deny_queries). */
  identity?: string;
}

export interface Evaluated {
  replacements: Replacement[];
  /** Runs the final query once to collect per-row arguments of scalar lake functions, then answers them. */
  beforeRun?: (sql: string) => Promise<void>;
}

let tableCounter = 0;

/** A temporary table holding `rows`; returns its name. */
async function tempTable(connection: DuckDBConnection, columns: readonly (readonly [string, string])[], rows: readonly Row[]): Promise<string> {
  const name = `__mm_tf_${++tableCounter}`;
  await connection.run(`CREATE TEMP TABLE ${name} (${columns.map(([n, t]) => `${quoteIdent(n)} ${t}`).join(', ')})`);
  if (rows.length === 0) return name;
  const appender = await connection.createAppender(name, 'main', 'temp');
  try {
    for (const row of rows) {
      columns.forEach(([, type], i) => {
        const v = row[i];
        if (v === null || v === undefined) appender.appendNull();
        else if (type === 'VARCHAR') appender.appendVarchar(v as string);
        else if (type === 'BLOB') appender.appendBlob(v as Uint8Array);
        else if (type === 'BIGINT') appender.appendBigInt(v as bigint);
        else if (type === 'UBIGINT') appender.appendUBigInt(v as bigint);
        else if (type === 'INTEGER') appender.appendInteger(v as number);
        else if (type === 'DOUBLE') appender.appendDouble(v as number);
        else if (type === 'BOOLEAN') appender.appendBoolean(v as boolean);
        else if (type === 'TIMESTAMP_NS') appender.appendTimestampNanoseconds(new DuckDBTimestampNanosecondsValue(v as bigint));
        else if (type === 'VARCHAR[]') appender.appendList(listValue(v as string[]), LIST(VARCHAR));
        else throw new Error(`no appender for ${type}`);
      });
      appender.endRow();
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
  return name;
}

class ArgReader {
  constructor(
    private readonly env: SessionEnv,
    private readonly call: TableFunctionCall,
    private readonly done: readonly Replacement[],
  ) {}

  private sql(arg: CallArg): string {
    return renderFragment(this.env.plan, this.env.pathOf, arg.start, arg.end, this.done);
  }

  private arg(i: number, what: string): CallArg {
    const arg = this.call.args[i];
    if (!arg) throw new PlanError(`Missing argument ${i + 1} of ${this.call.name}, expected ${what}`);
    return arg;
  }

  /** The single value of a constant expression, computed by DuckDB in the session. */
  private async scalar(arg: CallArg, cast: string): Promise<DuckDBValue> {
    const reader = await this.env.connection.runAndReadAll(`SELECT CAST((${this.sql(arg)}) AS ${cast})`);
    return reader.getRows()[0]![0]!;
  }

  async string(i: number, what: string): Promise<string> {
    const arg = this.arg(i, what);
    const v = literalString(arg) ?? (await this.scalar(arg, 'VARCHAR'));
    if (typeof v !== 'string') throw new PlanError(`Argument ${i + 1} of ${this.call.name} must be a string (${what})`);
    return v;
  }

  /** RFC 3339 text or a timestamp expression, in UTC. */
  async timestamp(i: number, what: string): Promise<Nanos> {
    const arg = this.arg(i, what);
    const text = literalString(arg);
    if (text !== undefined) {
      try {
        return parseTimestampNanos(text.trim());
      } catch {
        throw new PlanError(`Argument ${i + 1} of ${this.call.name}: ${JSON.stringify(text)} is not an RFC 3339 timestamp (${what})`);
      }
    }
    const reader = await this.env.connection.runAndReadAll(`SELECT epoch_ns(CAST((${this.sql(arg)}) AS TIMESTAMP_NS))`);
    const v = reader.getRows()[0]![0];
    if (typeof v !== 'bigint') throw new PlanError(`Argument ${i + 1} of ${this.call.name} must be a timestamp (${what})`);
    return v;
  }

  async int(i: number, what: string): Promise<bigint> {
    const v = await this.scalar(this.arg(i, what), 'BIGINT');
    if (typeof v !== 'bigint') throw new PlanError(`Argument ${i + 1} of ${this.call.name} must be an integer (${what})`);
    return v;
  }

  /** The values of the only argument: every row of a parenthesized subquery, else the expression's value. */
  async values(): Promise<DuckDBValue[]> {
    const name = this.call.name;
    if (this.call.args.length !== 1) throw new PlanError(`${name} requires exactly one argument`);
    const arg = this.call.args[0]!;
    const t = arg.toks;
    const subquery = t.length > 2 && t[0]!.text === '(' && t[t.length - 1]!.text === ')' && ['select', 'with', 'from'].includes(t[1]!.text.toLowerCase());
    const text = this.sql(arg);
    const reader = await this.env.connection.runAndReadAll(subquery ? text.slice(1, -1) : `SELECT ${text}`);
    if (subquery && reader.columnCount !== 1) throw new PlanError(`${name} subquery must return exactly one column, got ${reader.columnCount}`);
    return reader.getRows().map((r) => r[0]!);
  }
}

function bytesOf(name: string, v: DuckDBValue): Uint8Array {
  if (v && typeof v === 'object' && 'bytes' in v && v.bytes instanceof Uint8Array) return v.bytes;
  throw new PlanError(`${name} argument must be Binary (JSONB), got: ${typeof v === 'string' ? 'Utf8' : String(v)}`);
}

function jsonbRows(name: 'jsonb_each' | 'jsonb_array_elements', values: DuckDBValue[]): Row[] {
  const rows: Row[] = [];
  for (const v of values) {
    if (v === null) continue;
    const doc = decodeJsonb(bytesOf(name, v));
    if (name === 'jsonb_array_elements') {
      if (!Array.isArray(doc)) throw new PlanError('jsonb_array_elements: input is not a JSONB array');
      for (const e of doc) rows.push([encodeJsonb(e)]);
    } else if (Array.isArray(doc)) {
      doc.forEach((e, i) => rows.push([String(i), encodeJsonb(e)]));
    } else if (doc !== null && typeof doc === 'object') {
      for (const [k, e] of Object.entries(doc)) rows.push([k, encodeJsonb(e)]);
    } else throw new PlanError('jsonb_each: input is not a JSONB object or array');
  }
  return rows;
}

/** A DuckDB numeric value (DOUBLE, integer, DECIMAL literal) as a number; NaN otherwise. */
function num(v: DuckDBValue): number {
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : v !== null && typeof v === 'object' ? Number(String(v)) : NaN;
}

function histogramRows(values: DuckDBValue[]): Row[] {
  const rows: Row[] = [];
  for (const v of values) {
    if (v === null) continue;
    const h = (v && typeof v === 'object' && 'entries' in v ? v.entries : undefined) as Record<string, DuckDBValue> | undefined;
    const bins = h?.bins as { items?: DuckDBValue[] } | undefined;
    const start = h ? num(h.start ?? null) : NaN;
    const end = h ? num(h.end ?? null) : NaN;
    if (Number.isNaN(start) || Number.isNaN(end) || !bins?.items) throw new PlanError(`expand_histogram argument must be a struct (histogram), got: ${String(v)}`);
    const n = bins.items.length;
    const width = (end - start) / n;
    bins.items.forEach((c, i) => rows.push([start + (i + 0.5) * width, BigInt(Math.round(num(c)))]));
  }
  return rows;
}

const logRows = (rows: LogRow[]): Row[] => rows.map((r) => [r.time, r.msg]);

const ORDINALS = ['First', 'Second', 'Third', 'Fourth'];

/** perfetto_trace_chunks(process_id, span_types, start, end): arguments checked in upstream's words. */
async function perfettoRows(ctx: LakehouseContext, call: TableFunctionCall, args: ArgReader): Promise<Row[]> {
  const name = call.name;
  const argument = async <T>(i: number, what: string, read: () => Promise<T>): Promise<T> => {
    const given = call.args[i] ? call.args[i]!.toks.map((t) => t.text).join(' ') : 'None';
    if (!call.args[i]) throw new PlanError(`${ORDINALS[i]} argument to ${name} must be ${what}, given ${given}`);
    try {
      return await read();
    } catch {
      throw new PlanError(`${ORDINALS[i]} argument to ${name} must be ${what}, given ${given}`);
    }
  };
  const processId = await argument(0, 'a string (the process ID)', () => args.string(0, 'the process ID'));
  const spanTypes = await argument(1, "a string ('thread', 'async', or 'both')", () => args.string(1, 'span types'));
  if (spanTypes !== 'thread' && spanTypes !== 'async' && spanTypes !== 'both') throw new PlanError(`span_types must be 'thread', 'async', or 'both', given: ${spanTypes}`);
  const begin = await argument(2, 'a timestamp (start time)', () => args.timestamp(2, 'start time'));
  const end = await argument(3, 'a timestamp (end time)', () => args.timestamp(3, 'end time'));
  if (call.args.length > 4) throw new PlanError(`${name} takes four arguments`);
  const process = UUID.test(processId) ? await findProcess(ctx.lake.db, processId.toLowerCase()) : undefined;
  if (!process) throw new PlanError(`Process ${processId} not found`);
  const chunks = await perfettoTraceChunks(ctx, process.processId, process.exe, spanTypes, begin, end);
  return chunks.map((chunk, i) => [i, chunk]);
}

/** The rows of a table-style call. */
async function tableRows(env: SessionEnv, call: TableFunctionCall, args: ArgReader): Promise<Row[]> {
  const { ctx, globalViews } = env;
  switch (call.name) {
    case 'list_partitions':
      return listPartitionRows(ctx);
    case 'list_view_sets':
      return listViewSetRows(globalViews);
    case 'parse_block':
      return parseBlockRows(ctx, await args.string(0, 'the block ID'), env.plan.range);
    case 'jsonb_each':
    case 'jsonb_array_elements':
      return jsonbRows(call.name, await args.values());
    case 'expand_histogram':
      return histogramRows(await args.values());
    case 'perfetto_trace_chunks':
      return perfettoRows(ctx, call, args);
    case 'deny_queries':
      return logRows(await denyQueriesTask(env.denials, await args.string(0, 'match_expr'), await args.string(1, 'reason'), env.identity ?? ''));
    case 'list_query_denials':
      return listQueryDenialRows(env.denials);
    case 'retire_partitions':
      return logRows(await retirePartitionsTask(ctx, await args.string(0, 'view_set_name'), await args.string(1, 'view_instance_id'), await args.timestamp(2, 'begin'), await args.timestamp(3, 'end')));
    default: {
      const task = call.name === 'materialize_partitions' ? materializePartitionsTask : regeneratePartitionsTask;
      return logRows(await task(ctx, globalViews, await args.string(0, 'view_set_name'), await args.timestamp(1, 'begin'), await args.timestamp(2, 'end'), await args.int(3, 'delta_seconds')));
    }
  }
}

/** Argument DuckDB types and result type of the scalar-style functions. */
const SCALARS: Record<string, { params: DuckDBType[]; result: DuckDBType; resultSql: string }> = {
  get_payload: { params: [VARCHAR, VARCHAR, VARCHAR], result: BLOB, resultSql: 'BLOB' },
  retire_partition_by_metadata: { params: [VARCHAR, VARCHAR, TIMESTAMP_NS, TIMESTAMP_NS], result: VARCHAR, resultSql: 'VARCHAR' },
  retire_partition_by_file: { params: [VARCHAR], result: VARCHAR, resultSql: 'VARCHAR' },
  remove_query_denial: { params: [VARCHAR], result: VARCHAR, resultSql: 'VARCHAR' },
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Answers of a scalar-style function for a batch of argument tuples (null arguments allowed). */
async function answerScalars(ctx: LakehouseContext, name: string, calls: unknown[][], denials?: QueryDenials): Promise<(Uint8Array | string | null)[]> {
  if (name === 'remove_query_denial') return removeQueryDenials(denials, calls.map((c) => c[0] as string | null));
  if (name === 'retire_partition_by_file') return retirePartitionsByFile(ctx, calls.map((c) => c[0] as string | null));
  if (name === 'retire_partition_by_metadata') {
    return retirePartitionsByMetadata(ctx, calls.map(([setName, instanceId, begin, end]) => ({ setName: setName as string | null, instanceId: instanceId as string | null, begin: begin as Nanos | null, end: end as Nanos | null })));
  }
  // get_payload: the stored blob as is; every process id must be a UUID, as upstream.
  for (const c of calls) if (c[0] !== null && !UUID.test(String(c[0]))) throw new PlanError(`get_payload: invalid process_id ${JSON.stringify(c[0])}`);
  const out: (Uint8Array | null)[] = new Array(calls.length).fill(null);
  for (let i = 0; i < calls.length; i += 10) {
    await Promise.all(calls.slice(i, i + 10).map(async ([processId, streamId, blockId], j) => {
      if (processId === null || streamId === null || blockId === null) return;
      const key = blobKey({ processId: String(processId), streamId: String(streamId), blockId: String(blockId) });
      const bytes = await ctx.lake.blobs.get(key);
      if (!bytes) throw new PlanError(`get_payload: blob ${key} not found`);
      out[i + j] = bytes;
    }));
  }
  return out;
}

/** A literal argument list (strings, numbers, TIMESTAMP 'x'), or undefined when some argument needs evaluating per row. */
function literalArgs(call: TableFunctionCall, types: DuckDBType[]): unknown[] | undefined {
  const values: unknown[] = [];
  for (const [i, arg] of call.args.entries()) {
    const t = arg.toks;
    const last = t[t.length - 1]!;
    const text = t.length === 1 || (t.length === 2 && t[0]!.text.toLowerCase() === 'timestamp') ? stringValue(last) : undefined;
    if (text === undefined) return undefined;
    if (types[i] === TIMESTAMP_NS) {
      try {
        values.push(parseTimestampNanos(text.trim()));
      } catch {
        throw new PlanError(`Argument ${i + 1} of ${call.name}: ${JSON.stringify(text)} is not an RFC 3339 timestamp`);
      }
    } else values.push(text);
  }
  return values;
}

function argKey(values: readonly unknown[]): string {
  return JSON.stringify(values, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));
}

export async function evaluateTableFunctions(env: SessionEnv): Promise<Evaluated> {
  const { plan, connection, ctx } = env;
  const done: Replacement[] = [];
  const perRow: { call: TableFunctionCall; seen: Map<string, unknown[]>; answers: Map<string, Uint8Array | string | null>; collecting: boolean }[] = [];
  for (const call of plan.functions) {
    const args = new ArgReader(env, call, done);
    const scalar = SCALARS[call.name];
    let text: string;
    if (SESSION_FUNCTIONS[call.name]!.scalar) {
      if (call.args.length !== scalar!.params.length) throw new PlanError(`${call.name} expects ${scalar!.params.length} argument(s)`);
      const literal = literalArgs(call, scalar!.params);
      if (env.dryRun) text = `CAST(NULL AS ${scalar!.resultSql})`;
      else if (literal) {
        const [value] = await answerScalars(ctx, call.name, [literal], env.denials);
        text = value === null ? `CAST(NULL AS ${scalar!.resultSql})` : typeof value === 'string' ? sqlString(value) : `(SELECT v FROM ${await tempTable(connection, [['v', 'BLOB']], [[value]])})`;
      } else {
        // Per-row arguments: a session function collects them in a first run, then answers.
        const state = { call, seen: new Map<string, unknown[]>(), answers: new Map<string, Uint8Array | string | null>(), collecting: true };
        perRow.push(state);
        const fname = `__mm_call_${++tableCounter}`;
        connection.registerScalarFunction(DuckDBScalarFunction.create({
          name: fname,
          returnType: scalar!.result,
          parameterTypes: scalar!.params,
          volatile: true,
          specialHandling: true,
          mainFunction: (_info, input, output) => {
            for (let row = 0; row < input.rowCount; row++) {
              const values = scalar!.params.map((type, i) => {
                const v = input.getColumnVector(i).getItem(row);
                return type === TIMESTAMP_NS && v !== null ? (v as DuckDBTimestampNanosecondsValue).nanos : v;
              });
              const key = argKey(values);
              if (state.collecting) state.seen.set(key, values);
              const answer = state.collecting ? null : (state.answers.get(key) ?? null);
              output.setItem(row, (answer instanceof Uint8Array ? blobValue(answer) : answer) as never);
            }
            output.flush();
          },
        }));
        const argSql = call.args.map((a) => renderFragment(plan, env.pathOf, a.start, a.end, done));
        text = `${fname}(${argSql.join(', ')})`;
      }
    } else {
      const rows = env.dryRun ? [] : await tableRows(env, call, args);
      text = `(SELECT * FROM ${await tempTable(connection, OUTPUTS[call.name]!, rows)})`;
    }
    done.push({ start: call.start, end: call.end, text });
  }
  if (perRow.length === 0) return { replacements: done };
  return {
    replacements: done,
    async beforeRun(sql: string) {
      await connection.run(sql);
      for (const state of perRow) {
        const keys = [...state.seen.keys()];
        const answers = await answerScalars(ctx, state.call.name, keys.map((k) => state.seen.get(k)!), env.denials);
        keys.forEach((k, i) => state.answers.set(k, answers[i]!));
        state.collecting = false;
      }
    },
  };
}
