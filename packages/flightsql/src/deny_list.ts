// The admin-managed query deny list (reference analytics.md §4.8): rules stored in the lakehouse
// catalog table query_deny_list, a compiled snapshot of them refreshed every
// MICROMEGAS_QUERY_DENY_REFRESH_SECONDS (10), and a check of every query against the snapshot before
// it is planned. A refresh that fails keeps the previous snapshot (fail-open: the deny list is an
// availability valve, not a security control). Hits are counted in memory and written to
// last_hit_at at the next refresh tick. It also implements the admin functions deny_queries,
// list_query_denials and remove_query_denial (the QueryDenials of @micromegas/analytics).
import { randomUUID } from 'node:crypto';
import { DenyRuleError, type QueryDenialRow, type QueryDenials } from '@micromegas/analytics';
import type { SqlExecutor } from '@micromegas/lake';
import { ExpressionSandbox, type CompiledRules, type MatchContext } from './deny_expr.ts';

export const DEFAULT_REFRESH_SECONDS = 10;
export const DEFAULT_MAX_RULES = 100;
const CACHE_ENTRIES = 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface QueryDenyListOptions {
  /** Seconds between refreshes (and last_hit_at flushes); default MICROMEGAS_QUERY_DENY_REFRESH_SECONDS, else 10. */
  refreshSeconds?: number;
  /** Rules in force at most; default MICROMEGAS_QUERY_DENY_MAX_RULES, else 100. */
  maxRules?: number;
  /** Warnings (refresh failures, rules that do not compile or evaluate). */
  warn?: (message: string) => void;
  /** Counters: query_deny_refresh_error_count, query_deny_compile_error_count. */
  metric?: (name: string, value: number, properties?: Record<string, string>) => void;
  env?: NodeJS.ProcessEnv;
}

export interface DenyRule {
  row: QueryDenialRow;
  /** Unix ms of the latest hit not yet written to last_hit_at; 0 if none. */
  lastHit: number;
}

interface Snapshot {
  rules: DenyRule[];
  compiled: CompiledRules;
  /** Match results by context, for this snapshot only. */
  cache: Map<string, number>;
}

function positiveNumber(text: string | undefined, fallback: number): number {
  const n = Number(text);
  return text !== undefined && text.trim() !== '' && Number.isFinite(n) && n >= 0 ? n : fallback;
}

const nanosFromMicros = (v: unknown): bigint | null => (v === null || v === undefined ? null : BigInt(String(v)) * 1000n);

/** The statement names a deny-list function: exempt for callers who may call them (upstream's escape hatch). */
export function namesDenyListFunction(sql: string): boolean {
  const lowered = sql.toLowerCase();
  return lowered.includes('deny_queries') || lowered.includes('remove_query_denial') || lowered.includes('list_query_denials');
}

export class QueryDenyList implements QueryDenials {
  readonly refreshMs: number;
  readonly maxRules: number;
  private snapshot: Snapshot;
  /** Validated expressions: rules are compiled at every refresh, validation is done once. */
  private readonly valid = new Set<string>();
  private writes = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    private readonly db: SqlExecutor,
    private readonly sandbox: ExpressionSandbox,
    empty: CompiledRules,
    private readonly options: QueryDenyListOptions,
  ) {
    const env = options.env ?? process.env;
    this.refreshMs = Math.max(1, options.refreshSeconds ?? positiveNumber(env.MICROMEGAS_QUERY_DENY_REFRESH_SECONDS, DEFAULT_REFRESH_SECONDS)) * 1000;
    this.maxRules = options.maxRules ?? Math.floor(positiveNumber(env.MICROMEGAS_QUERY_DENY_MAX_RULES, DEFAULT_MAX_RULES));
    this.snapshot = { rules: [], compiled: empty, cache: new Map() };
  }

  /** Opens the list over a lakehouse catalog (lake.db); call start() to load the rules and refresh them periodically. */
  static async open(db: SqlExecutor, options: QueryDenyListOptions = {}): Promise<QueryDenyList> {
    const sandbox = await ExpressionSandbox.create();
    return new QueryDenyList(db, sandbox, await sandbox.prepareRules([]), options);
  }

  /** Loads the rules now (a failure is only warned about) and then every refresh period. */
  async start(): Promise<void> {
    await this.refresh().catch(() => undefined);
    const tick = () => {
      this.timer = setTimeout(() => {
        void this.refresh()
          .catch(() => undefined)
          .finally(() => {
            if (!this.closed) tick();
          });
      }, this.refreshMs);
      this.timer.unref();
    };
    tick();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.serialized(async () => undefined);
    await this.flushHits().catch(() => undefined);
    this.snapshot.compiled.close();
    this.sandbox.close();
  }

  get ruleCount(): number {
    return this.snapshot.rules.length;
  }

  private warn(message: string): void {
    (this.options.warn ?? ((m: string) => process.stderr.write(`${m}\n`)))(message);
  }

  /** Runs fn after the writes queued before it: inserts, deletes and refreshes do not interleave. */
  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.writes.then(fn, fn);
    this.writes = next.then(() => undefined, () => undefined);
    return next;
  }

  /** The oldest rule matching `context`, if any; records the hit. Never throws (a failing check denies nothing). */
  async check(context: MatchContext): Promise<DenyRule | undefined> {
    const snap = this.snapshot;
    if (snap.rules.length === 0) return undefined;
    const key = JSON.stringify(Object.values(context));
    let index = snap.cache.get(key);
    if (index === undefined) {
      try {
        index = await snap.compiled.firstMatch(context, (i, err) => this.warn(`query_deny_list: rule ${snap.rules[i]?.row.ruleId} failed to evaluate, skipping: ${err.message}`));
      } catch (err) {
        this.warn(`query_deny_list: check failed, query allowed: ${(err as Error).message}`);
        return undefined;
      }
      if (snap.cache.size >= CACHE_ENTRIES) snap.cache.clear();
      snap.cache.set(key, index);
    }
    const rule = index >= 0 ? snap.rules[index] : undefined;
    if (rule) rule.lastHit = Date.now();
    return rule;
  }

  private async loadRows(): Promise<QueryDenialRow[]> {
    const { rows } = await this.db.query<Record<string, unknown>>(
      `SELECT rule_id::text AS rule_id,
              (EXTRACT(EPOCH FROM created_at) * 1000000)::bigint::text AS created_us,
              created_by, reason, match_expr,
              (EXTRACT(EPOCH FROM last_hit_at) * 1000000)::bigint::text AS last_hit_us
         FROM query_deny_list ORDER BY created_at, rule_id`,
    );
    return rows.map((r) => ({
      ruleId: String(r.rule_id),
      createdAt: nanosFromMicros(r.created_us)!,
      createdBy: String(r.created_by),
      reason: String(r.reason),
      matchExpr: String(r.match_expr),
      lastHitAt: nanosFromMicros(r.last_hit_us),
    }));
  }

  /** Writes pending hits to last_hit_at (the latest one wins); a failed write is retried at the next tick. */
  private async flushHits(): Promise<void> {
    for (const rule of this.snapshot.rules) {
      const hit = rule.lastHit;
      if (hit === 0) continue;
      rule.lastHit = 0;
      try {
        await this.db.query(
          'UPDATE query_deny_list SET last_hit_at = greatest(coalesce(last_hit_at, $1::timestamptz), $1::timestamptz) WHERE rule_id = $2::uuid',
          [new Date(hit).toISOString(), rule.row.ruleId],
        );
      } catch (err) {
        rule.lastHit = Math.max(rule.lastHit, hit);
        this.warn(`query_deny_list: failed to write last_hit_at of rule ${rule.row.ruleId}: ${(err as Error).message}`);
      }
    }
  }

  /** Flushes hits, reloads the table and recompiles; keeps the previous snapshot when the table can't be read. */
  refresh(): Promise<void> {
    return this.serialized(async () => {
      await this.flushHits();
      let rows: QueryDenialRow[];
      try {
        rows = await this.loadRows();
      } catch (err) {
        this.options.metric?.('query_deny_refresh_error_count', 1);
        this.warn(`query_deny_list: refresh failed, keeping previous snapshot: ${(err as Error).message}`);
        throw err;
      }
      await this.install(rows);
    });
  }

  private async install(rows: QueryDenialRow[]): Promise<void> {
    const accepted: QueryDenialRow[] = [];
    for (const row of rows) {
      if (!this.valid.has(row.matchExpr)) {
        try {
          await this.sandbox.compile(row.matchExpr);
          this.valid.add(row.matchExpr);
        } catch (err) {
          // Not enforced rather than fatal: e.g. a rule written by another implementation.
          this.options.metric?.('query_deny_compile_error_count', 1, { rule_id: row.ruleId });
          this.warn(`query_deny_list: rule ${row.ruleId} failed to compile, skipping (not enforced): ${(err as Error).message}`);
          continue;
        }
      }
      accepted.push(row);
    }
    const previous = this.snapshot;
    const same = previous.rules.length === accepted.length && previous.rules.every((r, i) => r.row.ruleId === accepted[i]!.ruleId && r.row.matchExpr === accepted[i]!.matchExpr);
    if (same) {
      // Same rules: keep the compiled statement and its cache, refresh the rows (last_hit_at).
      previous.rules.forEach((r, i) => (r.row = accepted[i]!));
      return;
    }
    const compiled = await this.sandbox.prepareRules(accepted.map((r) => r.matchExpr));
    const carried = new Map(previous.rules.map((r) => [r.row.ruleId, r.lastHit]));
    const rules = accepted.map((row) => ({ row, lastHit: carried.get(row.ruleId) ?? 0 }));
    // Hits recorded on the old rules after the flush above are carried over.
    this.snapshot = { rules, compiled, cache: new Map() };
    previous.compiled.close();
  }

  // --- QueryDenials: the admin functions ---

  async deny(matchExpr: string, reason: string, createdBy: string): Promise<string> {
    if (reason.trim() === '') throw new DenyRuleError('deny_queries: reason must not be empty');
    if (!createdBy) throw new DenyRuleError('deny_queries requires an authenticated caller identity, which this session does not carry');
    if (this.ruleCount >= this.maxRules) {
      throw new DenyRuleError(
        `deny_queries: at the cap of ${this.maxRules} rules (MICROMEGAS_QUERY_DENY_MAX_RULES); remove an existing rule with remove_query_denial(rule_id) before adding another`,
      );
    }
    await this.sandbox.compile(matchExpr);
    this.valid.add(matchExpr);
    const ruleId = randomUUID();
    await this.serialized(async () => {
      await this.db.query(
        'INSERT INTO query_deny_list (rule_id, created_at, created_by, reason, match_expr) VALUES ($1::uuid, $2::timestamptz, $3, $4, $5)',
        [ruleId, new Date().toISOString(), createdBy.slice(0, 255), reason, matchExpr],
      );
      // In force here at once; other services pick it up within one refresh period.
      await this.install(await this.loadRows());
    });
    return ruleId;
  }

  list(): Promise<QueryDenialRow[]> {
    return this.loadRows();
  }

  async remove(ruleId: string | null): Promise<string> {
    if (ruleId === null) return 'ERROR: rule_id cannot be null';
    if (!UUID.test(ruleId)) return `ERROR: '${ruleId}' is not a valid rule id`;
    const id = ruleId.toLowerCase();
    try {
      return await this.serialized(async () => {
        const { rows } = await this.db.query('DELETE FROM query_deny_list WHERE rule_id = $1::uuid RETURNING rule_id', [id]);
        if (rows.length === 0) return `ERROR: no such rule: ${id}`;
        await this.install(this.snapshot.rules.map((r) => r.row).filter((r) => r.ruleId !== id));
        return `SUCCESS: removed rule ${id}`;
      });
    } catch (err) {
      return `ERROR: ${(err as Error).message}`;
    }
  }
}
