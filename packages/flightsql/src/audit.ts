// The per-query audit record (reference analytics.md §4.5): one JSON log line with target
// `flightsql_query_audit` when a query ends — completed, failed, denied or abandoned by its client —
// with upstream's field names, so the documented audit-log queries work unchanged. Recorded with
// @micromegas/tracing: a no-op unless the process started telemetry (the CLI does, see README).
import type { Metadata } from '@grpc/grpc-js';
import { Level, imetric, logDescriptor, logWith } from '@micromegas/tracing';
import type { Caller } from './contract.ts';
import type { MatchContext } from './deny_expr.ts';
import { header } from './headers.ts';

const AUDIT = logDescriptor(Level.Info, '{}', { target: 'flightsql_query_audit', file: 'flightsql/audit.ts', line: 1 });
const WARN = logDescriptor(Level.Warn, '{}', { target: 'flightsql', file: 'flightsql/server.ts', line: 1 });

/** Logs a warning line of the service into its telemetry. */
export function warnLog(line: string): void {
  logWith(WARN, line);
}

/** Who asks, as resolved from the caller and the attribution headers (upstream user_attribution.rs). */
export interface Attribution {
  user: string;
  email: string;
  name?: string;
  serviceAccount?: string;
  client: string;
  agent: string;
  entrypoint: string;
  session?: string;
  notebook?: string;
  cell?: string;
  clientIp: string;
}

/**
 * x-user-id / x-user-email (delegation by a service account, e.g. the web app) win over the caller's
 * own name; without auth the caller is "unknown", as upstream.
 */
export function resolveAttribution(md: Metadata, caller: Caller, authDisabled: boolean, peer: string): Attribution {
  const optional = (name: string) => header(md, name) || undefined;
  const delegatedUser = optional('x-user-id');
  const self = authDisabled ? 'unknown' : caller.name;
  const name = optional('x-user-name');
  return {
    user: delegatedUser ?? self,
    email: optional('x-user-email') ?? (delegatedUser ? 'unknown' : self),
    name: name === undefined ? undefined : safeDecode(name),
    serviceAccount: delegatedUser !== undefined && !authDisabled ? caller.name : undefined,
    client: optional('x-client-type') ?? 'unknown',
    agent: optional('x-client-agent') ?? 'unknown',
    entrypoint: optional('x-client-entrypoint') ?? 'unknown',
    session: optional('x-client-session'),
    notebook: optional('x-client-notebook'),
    cell: optional('x-client-cell'),
    clientIp: clientIp(md, peer),
  };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The rightmost x-forwarded-for entry (of the last header line), else x-real-ip, else the peer address. */
export function clientIp(md: Metadata, peer: string): string {
  const forwarded = md.get('x-forwarded-for');
  const last = forwarded[forwarded.length - 1];
  if (last !== undefined) {
    const entries = String(last).split(',').map((s) => s.trim()).filter(Boolean);
    if (entries.length > 0) return entries[entries.length - 1]!;
  }
  const real = header(md, 'x-real-ip')?.trim();
  if (real) return real;
  // grpc-js peers look like "ipv4:127.0.0.1:5000" or "ipv6:[::1]:5000".
  const m = /^(?:ipv4:|ipv6:)?\[?([^\]]*?)\]?:\d+$/.exec(peer);
  return m ? m[1]! : peer;
}

export function matchContext(a: Attribution, sql: string, sqlHash: string): MatchContext {
  return {
    user_id: a.user,
    email: a.email,
    service_account: a.serviceAccount ?? null,
    client: a.client,
    agent: a.agent,
    entrypoint: a.entrypoint,
    session: a.session ?? null,
    notebook: a.notebook ?? null,
    cell: a.cell ?? null,
    client_ip: a.clientIp,
    sql,
    sql_hash: sqlHash,
  };
}

export type AuditStatus = 'ok' | 'error' | 'incomplete';
/** user: bad SQL or input; resource: over a budget; denied: a deny-list rule; internal: the service's fault. */
export type ErrorClass = 'user' | 'resource' | 'internal' | 'denied';

export function errorClassOf(kind: string | undefined): ErrorClass {
  if (kind === 'invalid_argument' || kind === 'unimplemented') return 'user';
  if (kind === 'resource_exhausted') return 'resource';
  return 'internal';
}

/** One query's audit state: filled in as the query goes, emitted once. */
export class QueryAudit {
  private readonly started = performance.now();
  private emitted = false;
  rangeBegin?: string;
  rangeEnd?: string;
  limit?: number;
  /** Before the engine: headers, attribution, deny-list check. */
  contextInitMs = 0;
  /** engine.execute: planning, JIT materialization and the query's run (results are materialized). */
  planningMs = 0;
  /** From the first message sent to the last. */
  executionMs = 0;
  outputRows?: number;

  constructor(
    readonly queryId: string,
    readonly attribution: Attribution,
    readonly sql: string,
    readonly sqlHash: string,
  ) {}

  elapsedMs(): number {
    return performance.now() - this.started;
  }

  /** The JSON text of the record (exported for tests). */
  record(status: AuditStatus, error?: string, errorClass?: ErrorClass): Record<string, unknown> {
    const a = this.attribution;
    const setup = this.contextInitMs + this.planningMs;
    return {
      query_id: this.queryId,
      client_ip: a.clientIp,
      client: a.client,
      agent: a.agent,
      entrypoint: a.entrypoint,
      session: a.session,
      notebook: a.notebook,
      cell: a.cell,
      user: a.user,
      email: a.email,
      name: a.name,
      service_account: a.serviceAccount !== undefined,
      service_account_name: a.serviceAccount,
      sql: this.sql,
      range_begin: this.rangeBegin,
      range_end: this.rangeEnd,
      limit: this.limit,
      context_init_ms: this.contextInitMs,
      planning_ms: this.planningMs,
      execution_ms: this.executionMs,
      setup_ms: setup,
      total_ms: this.elapsedMs(),
      status,
      error,
      error_class: status === 'ok' ? undefined : errorClass,
      output_rows: this.outputRows,
      // Not measured by our engine (DuckDB reads the partitions itself); kept for the record's shape.
      bytes_scanned: 0,
      peak_memory_bytes: 0,
      spilled_bytes: 0,
      spill_count: 0,
      sql_hash: this.sqlHash,
    };
  }

  /** Logs the record once (later calls do nothing); returns its JSON text. */
  emit(status: AuditStatus, error?: string, errorClass?: ErrorClass): string | undefined {
    if (this.emitted) return undefined;
    this.emitted = true;
    const json = JSON.stringify(this.record(status, error, errorClass));
    logWith(AUDIT, json);
    return json;
  }
}

/** The query_denied metric, tagged with the rule. */
export function deniedMetric(ruleId: string): void {
  imetric('query_denied', 'count', 1, { rule_id: ruleId });
}
