import { nanosToRfc3339, tableRows, type FlightSqlClient, FlightConnectionError } from '@micromegas/client';
import { UsageError, untilStopSignal, type CommandBody } from '../command.ts';
import { CONNECTION_ENVIRONMENT, CONNECTION_OPTIONS, EXIT, RANGE_OPTIONS, nowNanos, parsePositiveInt, parseRange, parseTimeArg, reportError, sqlString, withClient } from '../client/options.ts';
import { Output, chooseFormat, csvField, cellText, jsonValue, type Format } from '../client/output.ts';

/** Upstream's levels: 1 is the most severe. */
export const LEVELS = ['', 'fatal', 'error', 'warn', 'info', 'debug', 'trace'];
const COLUMNS = ['time', 'process_id', 'exe', 'level', 'target', 'msg'];
const S = 1_000_000_000n;
/** Rows are re-read this far behind the newest insert_time seen, for blocks the daemon materializes late. */
const LOOKBACK_NS = 30n * S;
/** Events may be older than the block that carries them (tracing flushes every 60 s by default). */
const EVENT_LAG_NS = 10n * 60n * S;

function parseLevel(text: string): number {
  const n = /^\d$/.test(text) ? Number(text) : LEVELS.indexOf(text.toLowerCase() === 'warning' ? 'warn' : text.toLowerCase());
  if (!(n >= 1 && n <= 6)) throw new UsageError(`--level: expected 1-6 or fatal, error, warn, info, debug, trace; got ${JSON.stringify(text)}`);
  return n;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The WHERE conditions of the filters. */
export function logFilters(values: Record<string, unknown>): string[] {
  const where: string[] = [];
  const proc = values.process as string | undefined;
  if (proc !== undefined) where.push(UUID.test(proc) ? `process_id = ${sqlString(proc.toLowerCase())}` : `strpos(exe, ${sqlString(proc)}) > 0`);
  if (values.level !== undefined) where.push(`level <= ${parseLevel(values.level as string)}`);
  if (values.target !== undefined) where.push(`strpos(target, ${sqlString(values.target as string)}) > 0`);
  if (values.grep !== undefined) where.push(`strpos(lower(msg), lower(${sqlString(values.grep as string)})) > 0`);
  return where;
}

/** A UTC timestamp literal, microseconds (what DuckDB and DataFusion both read; the views hold TIMESTAMP_NS). */
const tsLiteral = (ns: bigint) => `TIMESTAMP ${sqlString(`${nanosToRfc3339(ns).slice(0, 26)}Z`)}`;

type LogRow = Record<string, unknown>;

/** Prints log rows in the chosen format (text lines for terminals). */
class LogPrinter {
  #header = false;
  constructor(
    private readonly out: Output,
    private readonly format: Format,
  ) {}
  async print(rows: LogRow[]): Promise<void> {
    let text = '';
    for (const r of rows) {
      if (this.format === 'json') text += JSON.stringify(jsonValue(Object.fromEntries(COLUMNS.map((c) => [c, r[c] ?? null])))) + '\n';
      else if (this.format === 'csv') {
        if (!this.#header) {
          text += COLUMNS.join(',') + '\n';
          this.#header = true;
        }
        text += COLUMNS.map((c) => csvField(cellText(r[c]))).join(',') + '\n';
      } else {
        const level = (LEVELS[Number(r.level)] ?? String(r.level)).toUpperCase().padEnd(5);
        text += `${r.time} ${level} [${r.exe}] ${r.target}: ${r.msg}\n`;
      }
    }
    if (text) await this.out.write(text);
  }
}

async function select(client: FlightSqlClient, sql: string, begin: bigint | undefined, end: bigint | undefined): Promise<LogRow[]> {
  return [...tableRows(await client.query(sql, begin, end), { timestamps: 'iso' })];
}

/**
 * Follows new entries: each poll re-reads rows inserted since LOOKBACK before the newest insert_time
 * seen (so late-materialized blocks are not skipped) and prints those not printed yet. A row's key
 * counts its occurrences, so two identical entries of one block both print, once each.
 */
async function follow(client: FlightSqlClient, printer: LogPrinter, where: string[], since: bigint, printed: Map<string, number>, intervalMs: number, stop: Promise<unknown>): Promise<number> {
  const startedAt = nowNanos();
  let newestInsert: bigint | undefined;
  const seen = new Map<string, { count: number; insert: bigint }>();
  for (const [k, count] of printed) seen.set(k, { count, insert: startedAt });
  let stopped = false;
  void stop.then(() => (stopped = true));
  while (!stopped) {
    const lo = (newestInsert ?? startedAt) - LOOKBACK_NS;
    const minTime = since > lo - EVENT_LAG_NS ? since : lo - EVENT_LAG_NS;
    const sql =
      'SELECT time, insert_time, block_id, process_id, exe, level, target, msg FROM log_entries ' +
      `WHERE ${[`insert_time >= ${tsLiteral(lo)}`, `time >= ${tsLiteral(minTime)}`, ...where].join(' AND ')} ORDER BY time, insert_time`;
    try {
      const rows = [...tableRows(await client.query(sql, minTime, nowNanos() + 60n * S), { timestamps: 'iso' })];
      const fresh: LogRow[] = [];
      const occurrences = new Map<string, number>();
      for (const r of rows) {
        const key = `${r.block_id}|${r.time}|${r.level}|${r.target}|${r.msg}`;
        const n = (occurrences.get(key) ?? 0) + 1;
        occurrences.set(key, n);
        const insert = parseTimeArg(r.insert_time as string, 'insert_time');
        const prev = seen.get(key);
        if (!prev || n > prev.count) fresh.push(r);
        seen.set(key, { count: Math.max(n, prev?.count ?? 0), insert: insert > (prev?.insert ?? 0n) ? insert : prev!.insert });
        if (newestInsert === undefined || insert > newestInsert) newestInsert = insert;
      }
      await printer.print(fresh);
      // Forget keys that can no longer be read again.
      const horizon = (newestInsert ?? startedAt) - LOOKBACK_NS - S;
      for (const [k, v] of seen) if (v.insert < horizon) seen.delete(k);
    } catch (err) {
      if (!(err instanceof FlightConnectionError)) return reportError(err);
      process.stderr.write(`micromegas: ${err.message}; retrying\n`);
    }
    await Promise.race([stop, new Promise((r) => setTimeout(r, intervalMs))]);
  }
  return EXIT.ok;
}

export const logsCommand: CommandBody = {
  description:
    'Prints the last --limit entries of the range, oldest first: "time LEVEL [exe] target: msg" on a\n' +
    'terminal, JSON lines when piped (or --format csv|json). --follow keeps printing entries as they\n' +
    'arrive, like tail -f, until Ctrl-C. Exit codes as `micromegas query`.',
  options: {
    process: { type: 'string', short: 'p', valueName: 'id|exe', description: 'a process id, or text contained in the executable name' },
    level: { type: 'string', short: 'l', valueName: 'level', description: 'at most this severe: 1 fatal, 2 error, 3 warn, 4 info, 5 debug, 6 trace (or the name)' },
    target: { type: 'string', short: 't', valueName: 'text', description: 'entries whose target contains this text' },
    grep: { type: 'string', short: 'g', valueName: 'text', description: 'entries whose message contains this text (case-insensitive)' },
    limit: { type: 'string', short: 'n', valueName: 'n', description: 'print at most this many entries (the newest) before following', defaultText: '100' },
    follow: { type: 'boolean', short: 'F', description: 'keep printing new entries' },
    interval: { type: 'string', valueName: 'seconds', description: '--follow: seconds between polls', defaultText: '1' },
    ...RANGE_OPTIONS('1h'),
    format: { type: 'string', short: 'f', valueName: 'text|csv|json', description: 'output format', defaultText: 'text on a terminal, else json' },
    ...CONNECTION_OPTIONS,
  },
  environment: CONNECTION_ENVIRONMENT,
  async run(values) {
    const limit = parsePositiveInt(values.limit as string | undefined, '--limit', 100);
    const fmt = values.format as string | undefined;
    if (fmt !== undefined && !['text', 'csv', 'json'].includes(fmt)) throw new UsageError(`--format: expected text, csv or json, got ${JSON.stringify(fmt)}`);
    const format: Format = fmt === 'text' ? 'table' : chooseFormat(fmt, undefined);
    const interval = Number((values.interval as string | undefined) ?? '1');
    if (!(interval > 0)) throw new UsageError(`--interval: expected a positive number of seconds, got ${JSON.stringify(values.interval)}`);
    if (values.follow && values.end !== undefined) throw new UsageError('--follow cannot have --end');
    const where = logFilters(values);
    const { begin, end } = parseRange(values, '1h');
    const out = new Output();
    const printer = new LogPrinter(out, format);
    return withClient(values, 'cli-logs', async (client, spinner) => {
      // The range travels in the headers: the server applies it to the view's time column.
      const sql = `SELECT time, block_id, process_id, exe, level, target, msg FROM log_entries${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY time DESC LIMIT ${limit}`;
      const rows = (await select(client, sql, begin, end)).reverse();
      spinner.stop();
      await printer.print(rows);
      if (!values.follow) return EXIT.ok;
      const printed = new Map<string, number>();
      for (const r of rows) {
        const key = `${r.block_id}|${r.time}|${r.level}|${r.target}|${r.msg}`;
        printed.set(key, (printed.get(key) ?? 0) + 1);
      }
      // Tail semantics: nothing older than the first entry shown (or the range start) is printed later.
      const since = rows.length === limit ? parseTimeArg(rows[0]!.time as string, 'time') : begin!;
      return await follow(client, printer, where, since, printed, interval * 1000, untilStopSignal());
    });
  },
};
