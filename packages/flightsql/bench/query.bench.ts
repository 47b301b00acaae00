// End-to-end query latency of the FlightSQL server over the lakehouse, side by side with DuckDB and
// chdb (ClickHouse) reading the same Parquet partition files directly, in one run.
// Run: npm run bench (in packages/flightsql). Flags: --quick (1M log entries + 1M measures instead
// of 10M each), --events N, --keep DIR (build the lake there once and reuse it), --runs N (default 5).
// Client: pyarrow Flight in one long-lived Python process; it times DoGet → last batch itself.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { tableFromIPC } from 'apache-arrow';
import * as analytics from '@micromegas/analytics';
import { freePort } from '@micromegas/lake/testing';
import { queryAsync } from 'chdb';
import { startFlightSqlServer } from '../src/index.ts';
import { openBenchLake, type BenchLake } from './lake.ts';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const flag = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const keepDir = flag('--keep');
const RUNS = Number(flag('--runs') ?? 5);
const EVENTS = Number(flag('--events') ?? (quick ? 1_000_000 : 10_000_000));
const NS = 1_000_000_000n;
const THREADS = 2; // this machine's cores; every engine gets the same

interface Range { begin: bigint; end: bigint }
interface Query {
  name: string;
  view: 'log_entries' | 'measures' | 'thread_spans';
  range: 'lake' | 'last hour' | 'process';
  /** Our SQL (FlightSQL), DuckDB's and ClickHouse's over `{src}`, the view's rows in range. */
  ours: string;
  duck: string;
  ch: string;
}

function queries(sid: string): Query[] {
  const bin = `time_bucket(INTERVAL '1 minute', time, TIMESTAMP '1970-01-01')`; // our date_bin macro
  const same = (sql: string) => ({ ours: sql.replace('{src}', '{view}'), duck: sql, ch: sql });
  const q = (name: string, view: Query['view'], range: Query['range'], sql: { ours: string; duck: string; ch: string }): Query => ({
    name, view, range, ...sql, ours: sql.ours.replace('{view}', view === 'thread_spans' ? `view_instance('thread_spans', '${sid}')` : view),
  });
  return [
    q('errors, last hour', 'log_entries', 'last hour', same(`SELECT time, exe, target, msg FROM {src} WHERE level <= 2 ORDER BY time DESC LIMIT 1000`)),
    q('count per level per minute', 'log_entries', 'lake', {
      ours: `SELECT date_bin(INTERVAL '1 minute', time) AS minute, level, count(*) AS n FROM {view} GROUP BY minute, level ORDER BY minute, level`,
      duck: `SELECT ${bin} AS minute, level, count(*) AS n FROM {src} GROUP BY minute, level ORDER BY minute, level`,
      ch: `SELECT toStartOfMinute(time) AS minute, level, count(*) AS n FROM {src} GROUP BY minute, level ORDER BY minute, level`,
    }),
    q('top targets', 'log_entries', 'lake', same(`SELECT target, count(*) AS n FROM {src} GROUP BY target ORDER BY n DESC LIMIT 10`)),
    q(`msg LIKE '%order 4242 %'`, 'log_entries', 'lake', same(`SELECT time, exe, target, msg FROM {src} WHERE msg LIKE '%order 4242 %' ORDER BY time LIMIT 100`)),
    q('p99 latency per exe', 'measures', 'lake', {
      ours: `SELECT exe, approx_percentile_cont(value, 0.99) AS p99, count(*) AS n FROM {view} WHERE name = 'request_latency' GROUP BY exe ORDER BY exe`,
      duck: `SELECT exe, approx_quantile(value, 0.99) AS p99, count(*) AS n FROM {src} WHERE name = 'request_latency' GROUP BY exe ORDER BY exe`,
      ch: `SELECT exe, quantile(0.99)(value) AS p99, count(*) AS n FROM {src} WHERE name = 'request_latency' GROUP BY exe ORDER BY exe`,
    }),
    q('cpu avg per minute, last hour', 'measures', 'last hour', {
      ours: `SELECT date_bin(INTERVAL '1 minute', time) AS minute, avg(value) AS cpu FROM {view} WHERE name = 'cpu_usage' GROUP BY minute ORDER BY minute`,
      duck: `SELECT ${bin} AS minute, avg(value) AS cpu FROM {src} WHERE name = 'cpu_usage' GROUP BY minute ORDER BY minute`,
      ch: `SELECT toStartOfMinute(time) AS minute, avg(value) AS cpu FROM {src} WHERE name = 'cpu_usage' GROUP BY minute ORDER BY minute`,
    }),
    q('thread spans of a process', 'thread_spans', 'process', same(`SELECT "begin", "end", duration, name, depth FROM {src} ORDER BY "begin" LIMIT 1000`)),
    // A large result: what exporting costs (DuckDB → Arrow conversion, IPC, the client).
    q('1 M log rows (export)', 'log_entries', 'lake', same(`SELECT time, level, target, msg, process_id FROM {src} LIMIT 1000000`)),
  ];
}

/** Per view, the row filter the engine applies for a query range (views_sql.ts), in both dialects. */
function predicates(view: Query['view'], r: Range): { duck: string; ch: string } {
  const d = (ns: bigint) => `make_timestamp_ns(${ns}::BIGINT)`;
  const c = (ns: bigint) => `fromUnixTimestamp64Nano(toInt64(${ns}))`;
  if (view === 'thread_spans') return { duck: `"begin" <= ${d(r.end)} AND "end" >= ${d(r.begin)}`, ch: `"begin" <= ${c(r.end)} AND "end" >= ${c(r.begin)}` };
  return { duck: `time BETWEEN ${d(r.begin)} AND ${d(r.end)}`, ch: `time BETWEEN ${c(r.begin)} AND ${c(r.end)}` };
}

/** The Parquet files the engine reads for a view and range (same catalog lookup). */
async function filesOf(bench: BenchLake, view: Query['view'], r: Range): Promise<string[]> {
  const ref = view === 'thread_spans'
    ? await analytics.makeJitView(bench.house, 'thread_spans', bench.info.spanProcess.streamId)
    : { setName: view, instanceId: 'global', schemaHash: view === 'log_entries' ? analytics.LOG_ENTRIES_SCHEMA_HASH : analytics.MEASURES_SCHEMA_HASH };
  const parts = await analytics.currentPartitions(bench.house, ref, r);
  return (await analytics.localObjectPaths(bench.lake.blobs, parts.map((p) => p.filePath!))).paths;
}

type Timed = () => Promise<{ rows: () => number; ms?: number }>;

/**
 * One warm-up of each, then `runs` rounds running each once in turn (so that load from outside
 * falls on all of them alike); the median per system. A run may report its own time (pyarrow does).
 */
async function interleaved(runs: number, fns: Timed[]): Promise<{ ms: number; rows: number }[]> {
  const last = [];
  for (const fn of fns) last.push(await fn());
  const samples: number[][] = fns.map(() => []);
  for (let i = 0; i < runs; i++) {
    for (const [k, fn] of fns.entries()) {
      const t0 = performance.now();
      last[k] = await fn();
      samples[k]!.push(last[k]!.ms ?? performance.now() - t0);
    }
  }
  return last.map((l, k) => ({ ms: median(samples[k]!), rows: l.rows() }));
}

async function inProcess(sql: string, r: Range): Promise<{ rows: () => number }> {
  const res = await engine.execute({ sql, begin: r.begin, end: r.end, caller: { name: 'bench', admin: true }, queryId: randomUUID() });
  let n = 0;
  for await (const b of res.batches) n += b.numRows;
  return { rows: () => n };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** pyarrow Flight client in a child process: one JSON line per query each way. */
function startPyClient(port: number) {
  const child = spawn('python3', [join(dirname(fileURLToPath(import.meta.url)), 'flight_client.py'), String(port)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    async run(sql: string, r: Range): Promise<{ ms: number; rows: number }> {
      child.stdin.write(JSON.stringify({ sql, begin: analytics.formatTimestampNanos(r.begin), end: analytics.formatTimestampNanos(r.end) }) + '\n');
      const { value, done } = await lines.next();
      if (done) throw new Error('pyarrow client exited');
      const out = JSON.parse(value as string) as { ms: number; rows: number; error?: string };
      if (out.error) throw new Error(`FlightSQL: ${out.error}\n${sql}`);
      return out;
    },
    close: () => child.stdin.end(),
  };
}

const dir = keepDir ? resolve(keepDir) : await mkdtemp(join(tmpdir(), 'mm-querybench-'));
const bench = await openBenchLake(dir, EVENTS, keepDir !== undefined);
const { info } = bench;
const engine = new analytics.LakehouseQueryEngine(bench.house, { threads: THREADS, memoryLimit: '4GB', prewarm: 1 });
const server = await startFlightSqlServer({ engine, host: '127.0.0.1', port: await freePort(), disableAuth: true, log: () => {} });
const py = startPyClient(server.port);
const duck = await DuckDBInstance.create(':memory:', { threads: String(THREADS), memory_limit: '4GB' });
const duckConn = await duck.connect();
await duckConn.run(`SET TimeZone = 'UTC'`);

const ranges: Record<Query['range'], Range> = {
  lake: { begin: info.begin, end: info.end },
  'last hour': { begin: info.end - 3600n * NS, end: info.end },
  process: { begin: info.spanProcess.begin, end: info.spanProcess.end },
};
const sqlList = (paths: string[]) => `[${paths.map((p) => `'${p}'`).join(', ')}]`;

interface Row { q: Query; files: number; rows: number[]; ours: number; engine: number; duck: number; chdb: number }
const table: Row[] = [];
const probes: [string, number][] = [];
try {
  for (const q of queries(info.spanProcess.streamId)) {
    const r = ranges[q.range];
    const files = await filesOf(bench, q.view, r);
    const pred = predicates(q.view, r);
    const duckSql = q.duck.replace('{src}', `(SELECT * FROM read_parquet(${sqlList(files)}, union_by_name = true) WHERE ${pred.duck})`);
    // One file() per partition: a glob with alternatives would also do, but lists are what we have.
    const chSrc = files.map((f) => `SELECT * FROM file('${f}', Parquet)`).join(' UNION ALL ');
    const chSql = `${q.ch.replace('{src}', `(SELECT * FROM (${chSrc}) WHERE ${pred.ch})`)} SETTINGS max_threads = ${THREADS}, output_format_arrow_compression_method = 'none'`;

    type Run = () => Promise<{ rows: () => number; ms?: number }>;
    const runs: Run[] = [
      async () => {
        const out = await py.run(q.ours, r);
        return { rows: () => out.rows, ms: out.ms };
      },
      // Same engine without gRPC, Arrow IPC and the client: what the network path adds.
      () => inProcess(q.ours, r),
      async () => {
        const res = await duckConn.run(duckSql);
        let n = 0;
        for (let c = await res.fetchChunk(); c && c.rowCount > 0; c = await res.fetchChunk()) n += c.rowCount;
        return { rows: () => n };
      },
      async () => {
        const bytes = (await queryAsync(chSql, { format: 'ArrowStream' })).bytes();
        return { rows: () => tableFromIPC(bytes).numRows };
      },
    ];
    const [ours, engineRun, direct, ch] = await interleaved(RUNS, runs);
    // pyarrow's own timing is the FlightSQL latency; the others are timed here.
    table.push({ q, files: files.length, rows: [ours!.rows, engineRun!.rows, direct!.rows, ch!.rows], ours: ours!.ms, engine: engineRun!.ms, duck: direct!.ms, chdb: ch!.ms });
    const last = table[table.length - 1]!;
    console.error(`[bench] ${q.name}: ours ${last.ours.toFixed(1)} ms, engine ${last.engine.toFixed(1)}, duckdb ${last.duck.toFixed(1)}, chdb ${last.chdb.toFixed(1)} (rows ${last.rows.join('/')})`);
  }
  // Fixed costs of a query in our engine, measured on their own.
  const lakeRange = ranges.lake;
  const jitView = await analytics.makeJitView(bench.house, 'thread_spans', info.spanProcess.streamId);
  const logRef = { setName: 'log_entries', instanceId: 'global', schemaHash: analytics.LOG_ENTRIES_SCHEMA_HASH };
  const probeNames = [
    'SELECT 1 through FlightSQL (pyarrow)', 'SELECT 1, engine in-process', 'new DuckDB instance: create, connect, close',
    'catalog: current log_entries partitions', 'JIT check of an up-to-date thread_spans instance',
  ];
  const probeResults = await interleaved(RUNS, [
    async () => {
      const out = await py.run('SELECT 1 AS x', lakeRange);
      return { rows: () => out.rows, ms: out.ms };
    },
    () => inProcess('SELECT 1 AS x', lakeRange),
    async () => {
      const i = await DuckDBInstance.create(':memory:', { threads: String(THREADS), memory_limit: '4GB' });
      (await i.connect()).closeSync();
      i.closeSync();
      return { rows: () => 0 };
    },
    async () => {
      const n = (await analytics.currentPartitions(bench.house, logRef, lakeRange)).length;
      return { rows: () => n };
    },
    async () => {
      await analytics.jitUpdate(bench.house, jitView, { begin: info.spanProcess.begin, end: info.spanProcess.end });
      return { rows: () => 0 };
    },
  ]);
  probes.push(...probeResults.map((p, i) => [probeNames[i]!, p.ms] as [string, number]));
} finally {
  py.close();
  await server.close();
  await engine.close();
  duckConn.closeSync();
  duck.closeSync();
  await bench.close();
  if (!keepDir) await rm(dir, { recursive: true, force: true });
}

console.log(`\nQuery latency over ${info.logEntries.toLocaleString('en')} log entries + ${info.measures.toLocaleString('en')} measures (hour partitions), ` +
  `${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, node ${process.version}, ${THREADS} threads per engine, median of ${RUNS} warm runs`);
console.log('| query | range | files | rows | ours (FlightSQL, pyarrow) ms | engine in-process ms | DuckDB direct ms | chdb ms | ours/DuckDB |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const t of table) {
  const rows = new Set(t.rows).size === 1 ? String(t.rows[0]) : t.rows.join('/');
  console.log(`| ${t.q.name} | ${t.q.range} | ${t.files} | ${rows} | ${t.ours.toFixed(1)} | ${t.engine.toFixed(1)} | ${t.duck.toFixed(1)} | ${t.chdb.toFixed(1)} | ${(t.ours / t.duck).toFixed(2)}× |`);
}
console.log('\n| fixed cost | ms |\n|---|---|');
for (const [name, ms] of probes) console.log(`| ${name} | ${ms.toFixed(1)} |`);
