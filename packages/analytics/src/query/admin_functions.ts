// The admin functions of the query surface (reference analytics.md §2.1/§2.2 🔒, §3.4): they change
// the lakehouse catalog. The table functions return a log of what they did, (time, msg) rows as
// upstream's TaskLogExecPlan streams them; the retire_partition_by_* UDFs return one
// "SUCCESS: …"/"ERROR: …" string per call.
import type { SqlExecutor } from '@micromegas/lake';
import { cleanupExpiration, listPartitions, retirePartitionByFile, retirePartitions } from '../lakehouse/catalog/index.ts';
import { materializePartition, type MaterializeStats } from '../lakehouse/batch_update.ts';
import type { GlobalView, LakehouseContext } from '../lakehouse/view.ts';
import { writePartition } from '../lakehouse/write_partition.ts';
import { formatTimestampNanos, type Nanos } from '../time.ts';
import { PlanError } from './plan.ts';

export interface LogRow {
  time: Nanos;
  msg: string;
}

const nowNs = (): Nanos => BigInt(Date.now()) * 1_000_000n;
const rfc3339 = (ns: Nanos) => formatTimestampNanos(ns);

/** chrono's Display of a DateTime<Utc> ("2024-05-01 10:00:00.5 UTC" style, fraction only when present). */
export function chronoUtc(ns: Nanos): string {
  const iso = formatTimestampNanos(ns);
  const frac = ns % 1_000_000_000n;
  const digits = iso.slice(20, 29);
  const shown = frac === 0n ? '' : frac % 1_000_000n === 0n ? `.${digits.slice(0, 3)}` : frac % 1_000n === 0n ? `.${digits.slice(0, 6)}` : `.${digits}`;
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${shown} UTC`;
}

class TaskLog {
  readonly rows: LogRow[] = [];
  write(msg: string): void {
    this.rows.push({ time: nowNs(), msg });
  }
}

function findView(views: readonly GlobalView[], setName: string): GlobalView {
  const view = views.find((v) => v.setName === setName);
  if (!view) throw new Error(`can't find view ${setName}`);
  return view;
}

function checkDelta(fn: string, deltaSeconds: bigint): Nanos {
  if (deltaSeconds <= 0n) throw new PlanError(`${fn}: delta_seconds must be a positive number of seconds, given ${deltaSeconds}`);
  return deltaSeconds * 1_000_000_000n;
}

/** materialize_partitions: brings every aligned bucket of the global view up to date; errors end the log. */
export async function materializePartitionsTask(
  ctx: LakehouseContext, views: readonly GlobalView[], setName: string, begin: Nanos, end: Nanos, deltaSeconds: bigint,
): Promise<LogRow[]> {
  const delta = checkDelta('materialize_partitions', deltaSeconds);
  const log = new TaskLog();
  // The lakehouse's own messages (e.g. overlapping partitions) go to the caller's log as well.
  const logged: LakehouseContext = { lake: ctx.lake, duck: ctx.duck, log: (level, msg) => (log.write(msg), ctx.log(level, msg)) };
  try {
    const view = findView(views, setName);
    let b = begin - (((begin % delta) + delta) % delta);
    if (b < begin) b += delta;
    for (; b + delta <= end; b += delta) {
      const stats: MaterializeStats = { created: 0, merged: 0, upToDate: 0, aborted: 0 };
      await materializePartition(logged, view, b, b + delta, stats);
      const done = [`${stats.created} created`, `${stats.merged} merged`, `${stats.upToDate} up to date`, `${stats.aborted} aborted`];
      log.write(`${setName} [${rfc3339(b)}, ${rfc3339(b + delta)}): ${done.join(', ')}`);
    }
  } catch (err) {
    log.write(`Error: ${(err as Error).message ?? String(err)}`);
  }
  return log.rows;
}

/** regenerate_partitions: rebuilds each bucket from source; a bad tiling or a straddling partition fails the query. */
export async function regeneratePartitionsTask(
  ctx: LakehouseContext, views: readonly GlobalView[], setName: string, begin: Nanos, end: Nanos, deltaSeconds: bigint,
): Promise<LogRow[]> {
  const delta = checkDelta('regenerate_partitions', deltaSeconds);
  const span = end - begin;
  if (!(span >= delta && span % delta === 0n)) {
    throw new PlanError(
      `regenerate_partitions: delta (${deltaSeconds}s) does not exactly tile the requested range [${rfc3339(begin)}, ${rfc3339(end)}] -- ` +
        'range/delta must exactly cover the partition(s) being regenerated',
    );
  }
  const view = views.find((v) => v.setName === setName);
  if (!view) throw new PlanError(`regenerate_partitions: can't find view ${setName}`);
  const log = new TaskLog();
  for (let b = begin; b < end; b += delta) {
    const e = b + delta;
    const desc = `${setName} [${rfc3339(b)}, ${rfc3339(e)})`;
    const existing = await listPartitions(ctx.lake.db, setName, view.instanceId, { insertRange: { begin: b, end: e } });
    const straddling = existing.find((p) => p.beginInsertTime < b || p.endInsertTime > e);
    if (straddling) {
      throw new PlanError(
        `regenerate_partitions: ${desc}: existing partition [${rfc3339(straddling.beginInsertTime)}, ${rfc3339(straddling.endInsertTime)}] ` +
          'is not contained in the bucket; align the range and delta with the partitions being regenerated',
      );
    }
    const count = await view.sourceCount(ctx, b, e);
    const rows = await view.build(ctx, b, e);
    await writePartition(ctx, view, { begin: b, end: e }, count, rows);
    log.write(`${desc}: regenerated from source, replacing ${existing.length} partition(s), nb_source_events=${count}`);
  }
  return log.rows;
}

/** retire_partitions: the instance's partitions inside [begin, end] (exactly [t, t] when begin = end). */
export async function retirePartitionsTask(ctx: LakehouseContext, setName: string, instanceId: string, begin: Nanos, end: Nanos): Promise<LogRow[]> {
  const log = new TaskLog();
  const retired = await retirePartitions(ctx.lake.db, setName, instanceId, begin, end);
  log.write(`[RETIRE_FOUND] view=${setName}/${instanceId} time_range=[${rfc3339(begin)}, ${rfc3339(end)}] found_partitions=${retired.length}`);
  for (const r of retired) {
    if (r.filePath !== null) log.write(`adding out of date partition ${r.filePath} to temporary files to be deleted`);
  }
  return log.rows;
}

export interface RetireByMetadataArgs {
  setName: string | null;
  instanceId: string | null;
  begin: Nanos | null;
  end: Nanos | null;
}

/** Retires the partition with exactly this key inside `tx`; throws when there is none. */
async function retireExact(tx: SqlExecutor, a: Required<{ [K in keyof RetireByMetadataArgs]: NonNullable<RetireByMetadataArgs[K]> }>): Promise<void> {
  const res = await tx.query<{ file_path: string | null }>(
    `WITH retired AS (
       DELETE FROM lakehouse_partitions
        WHERE view_set_name = $2 AND view_instance_id = $3 AND begin_insert_time = $4 AND end_insert_time = $5
        RETURNING file_path, file_size
     ), scheduled AS (
       INSERT INTO temporary_files(file_path, file_size, expiration)
       SELECT file_path, file_size, $1::timestamptz FROM retired WHERE file_path IS NOT NULL
     )
     SELECT file_path FROM retired`,
    [rfc3339(cleanupExpiration()), a.setName, a.instanceId, rfc3339(a.begin), rfc3339(a.end)],
  );
  if (res.rows.length === 0) throw new Error(`Partition not found: ${a.setName}/${a.instanceId} [${chronoUtc(a.begin)}, ${chronoUtc(a.end)})`);
}

/**
 * retire_partition_by_metadata over a batch of calls in one transaction: any error rolls the whole
 * batch back, and the calls that had succeeded say so instead of claiming success.
 */
export async function retirePartitionsByMetadata(ctx: LakehouseContext, calls: readonly RetireByMetadataArgs[]): Promise<string[]> {
  const out: string[] = [];
  let failed = false;
  class Rollback extends Error {}
  try {
    await ctx.lake.db.transaction(async (tx) => {
      for (const c of calls) {
        if (c.setName === null || c.instanceId === null || c.begin === null || c.end === null) {
          out.push('ERROR: all arguments must be non-null');
          failed = true;
          continue;
        }
        const a = { setName: c.setName, instanceId: c.instanceId, begin: c.begin, end: c.end };
        try {
          // A savepoint keeps the transaction usable after one failed statement (PostgreSQL aborts it otherwise).
          await tx.query('SAVEPOINT retire_one');
          await retireExact(tx, a);
          await tx.query('RELEASE SAVEPOINT retire_one');
          out.push(`SUCCESS: Retired partition ${a.setName}/${a.instanceId} [${chronoUtc(a.begin)}, ${chronoUtc(a.end)})`);
        } catch (err) {
          await tx.query('ROLLBACK TO SAVEPOINT retire_one');
          out.push(`ERROR: ${(err as Error).message}`);
          failed = true;
        }
      }
      if (failed) throw new Rollback();
    });
  } catch (err) {
    if (!(err instanceof Rollback)) throw err;
  }
  if (!failed) return out;
  const reverted = out.filter((m) => m.startsWith('SUCCESS')).length;
  return out.map((m) => (m.startsWith('SUCCESS') ? `ROLLED_BACK: All ${reverted} previous changes were reverted due to errors in batch (${m.slice(9)})` : m));
}

/** retire_partition_by_file over a batch of calls; each path is retired on its own. */
export async function retirePartitionsByFile(ctx: LakehouseContext, paths: readonly (string | null)[]): Promise<string[]> {
  const out: string[] = [];
  for (const path of paths) {
    if (path === null) out.push('ERROR: file_path cannot be null');
    else out.push((await retirePartitionByFile(ctx.lake.db, path)) ? `SUCCESS: Retired partition ${path}` : `ERROR: Partition not found: ${path}`);
  }
  return out;
}

/** A rule of the query deny list, as list_query_denials() returns it. */
export interface QueryDenialRow {
  ruleId: string;
  createdAt: Nanos;
  createdBy: string;
  reason: string;
  matchExpr: string;
  lastHitAt: Nanos | null;
}

/** A rule refused by deny_queries (bad expression, empty reason, too many rules): the caller's error. */
export class DenyRuleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DenyRuleError';
  }
}

/**
 * The query deny list behind deny_queries / list_query_denials / remove_query_denial, provided by the
 * FlightSQL service (its snapshot of the rules checks every query; see @micromegas/flightsql deny_list.ts).
 */
export interface QueryDenials {
  /** Validates and stores a rule; returns its id. Throws DenyRuleError when the rule is refused. */
  deny(matchExpr: string, reason: string, createdBy: string): Promise<string>;
  list(): Promise<QueryDenialRow[]>;
  /** "SUCCESS: removed rule <id>" or "ERROR: …", as upstream's remove_query_denial. */
  remove(ruleId: string | null): Promise<string>;
}

function denialsOf(denials: QueryDenials | undefined, fn: string): QueryDenials {
  if (!denials) throw new PlanError(`${fn}: the query deny list is not available in this service`);
  return denials;
}

/** deny_queries(match_expr, reason): one log row whose msg is the new rule's id. */
export async function denyQueriesTask(denials: QueryDenials | undefined, matchExpr: string, reason: string, createdBy: string): Promise<LogRow[]> {
  try {
    const ruleId = await denialsOf(denials, 'deny_queries').deny(matchExpr, reason, createdBy);
    return [{ time: nowNs(), msg: ruleId }];
  } catch (err) {
    if (err instanceof DenyRuleError) throw new PlanError(err.message);
    throw err;
  }
}

/** list_query_denials(): rule_id, created_at, created_by, reason, match_expr, last_hit_at. */
export async function listQueryDenialRows(denials: QueryDenials | undefined): Promise<unknown[][]> {
  const rows = await denialsOf(denials, 'list_query_denials').list();
  return rows.map((r) => [r.ruleId, r.createdAt, r.createdBy, r.reason, r.matchExpr, r.lastHitAt]);
}

/** remove_query_denial over a batch of calls, one message each. */
export async function removeQueryDenials(denials: QueryDenials | undefined, ruleIds: readonly (string | null)[]): Promise<string[]> {
  const d = denialsOf(denials, 'remove_query_denial');
  const out: string[] = [];
  for (const id of ruleIds) out.push(await d.remove(id));
  return out;
}
