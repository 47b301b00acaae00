// End to end: telemetry recorded by our tracing package, ingested into a real lake, materialized,
// queried through the FlightSQL server over the real LakehouseQueryEngine by pyarrow's Flight
// client. PostgreSQL only: setting up a PGlite lake takes ~15 s, and the engine's own tests cover it.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import * as analytics from '@micromegas/analytics';
import { ingestRecorded } from '@micromegas/ingestion/testing';
import { freePort, openTestLake } from '@micromegas/lake/testing';
import { MemorySink, TSC_FREQUENCY, info, initDispatch, shutdownDispatch, ticksNow, warn } from '@micromegas/tracing';
import { startFlightSqlServer, type FlightSqlServer, type QueryEngine } from '../src/index.ts';
import { API_KEY, pyarrowAvailable, runPyarrowAll } from './helpers.ts';

type EngineClass = new (ctx: analytics.Lakehouse, options?: { threads?: number; memoryLimit?: string }) => QueryEngine;
// Read by name: the engine is new in @micromegas/analytics and may not be exported yet.
const LakehouseQueryEngine = (analytics as unknown as { LakehouseQueryEngine?: EngineClass }).LakehouseQueryEngine;
const hasPyarrow = await pyarrowAvailable();
const skip = !LakehouseQueryEngine ? '@micromegas/analytics does not export LakehouseQueryEngine yet' : !hasPyarrow ? 'pyarrow is not installed' : false;

const NS = 1_000_000_000n;
const rfc3339 = (ns: bigint) => new Date(Number(ns / 1_000_000n)).toISOString();

const openLake = (kind: 'postgres' | 'pglite') => openTestLake(kind, undefined, 'mm_flightsql');

for (const kind of ['postgres'] as const) {
  describe(`FlightSQL over the lakehouse engine (${kind})`, { skip }, () => {
    let lake: Awaited<ReturnType<typeof openLake>>;
    let house: analytics.Lakehouse;
    let server: FlightSqlServer;
    let processId: string;
    let begin: bigint;
    let end: bigint;

    before(async () => {
      lake = await openLake(kind);
      house = await analytics.openLakehouse(lake, { log: () => {} });
      const sink = new MemorySink();
      processId = randomUUID();
      initDispatch({
        sink,
        backgroundCompression: false,
        process: {
          processId, exe: 'flightsql-e2e', username: 'tester', realname: 'Tester', computer: 'box', distro: 'linux', cpuBrand: 'cpu',
          tscFrequency: TSC_FREQUENCY, startTime: new Date().toISOString(), startTicks: BigInt(ticksNow()), parentProcessId: null, properties: new Map(),
        },
      });
      try {
        for (let i = 0; i < 50; i++) (i % 10 === 0 ? warn : info)('event {}', i);
      } finally {
        await shutdownDispatch();
      }
      await ingestRecorded(lake, sink);
      const { rows } = await lake.db.query<{ lo: string; hi: string }>('SELECT min(insert_time) AS lo, max(insert_time) AS hi FROM blocks');
      begin = (analytics.parseTimestampNanos(rows[0]!.lo) / NS) * NS;
      end = (analytics.parseTimestampNanos(rows[0]!.hi) / NS) * NS + NS;
      await analytics.materializeGlobalViews(house, analytics.DEFAULT_GLOBAL_VIEWS, begin, end, NS);
      server = await startFlightSqlServer({
        engine: new LakehouseQueryEngine!(house, { threads: 1, memoryLimit: '256MB' }),
        host: '127.0.0.1',
        port: await freePort(),
        keyring: { authenticate: (h) => (h === `Bearer ${API_KEY}` ? 'tester' : undefined) },
        log: () => {},
      });
    });
    after(async () => {
      await server?.close();
      await house?.close();
      await lake?.drop();
    });

    const results = new Map<string, unknown>();
    // One Python process for every call (importing pyarrow is the slow part); the tests check its answers.
    before(async () => {
      const out = await runPyarrowAll(server.port, [
        ['doget', {
          key: API_KEY,
          sql: `SELECT process_id, level, msg, time FROM log_entries WHERE level = 3 ORDER BY time`,
          query_range_begin: rfc3339(begin - 60n * NS),
          query_range_end: rfc3339(end + 60n * NS),
        }],
        ['flightinfo', { key: API_KEY, sql: 'SELECT count(*) AS n FROM log_entries' }],
        ['tables', { key: API_KEY }],
        ['errors', { key: API_KEY }],
      ]);
      for (const [i, name] of ['doget', 'flightinfo', 'tables', 'errors'].entries()) results.set(name, out[i]);
    });

    test('pyarrow reads log_entries with the range headers, in the upstream Arrow types', async () => {
      const out = results.get('doget') as { schema: string[]; rows: Record<string, unknown>[] };
      assert.deepEqual(out.schema.map((s) => s.split(':')[0]), ['process_id', 'level', 'msg', 'time']);
      assert.ok(out.schema.includes('time:timestamp[ns, tz=+00:00]'), out.schema.join(', '));
      assert.deepEqual(out.rows.map((r) => r.msg), ['event 0', 'event 10', 'event 20', 'event 30', 'event 40']);
      assert.ok(out.rows.every((r) => r.process_id === processId && r.level === 3));
      const times = out.rows.map((r) => BigInt(r.time as string));
      assert.ok(times.every((t) => t >= begin - 60n * NS && t <= end + 60n * NS));
    });

    test('GetFlightInfo → DoGet, and GetTables lists the global views', async () => {
      const out = results.get('flightinfo') as { rows: { n: number }[] };
      assert.equal(Number(out.rows[0]!.n), 50);
      const tables = results.get('tables') as { tables: { name: string; schema: string[] }[] };
      const names = tables.tables.map((t) => t.name);
      for (const v of ['blocks', 'log_entries', 'measures', 'processes', 'streams']) assert.ok(names.includes(v), names.join(', '));
      assert.ok(tables.tables.find((t) => t.name === 'log_entries')!.schema.includes('msg:string'));
    });

    test('a planning error is INVALID_ARGUMENT with the query id', async () => {
      const out = results.get('errors') as Record<string, { error?: string; message?: string }>;
      assert.equal(out.bad_sql!.error, 'ArrowInvalid');
      assert.match(out.bad_sql!.message!, /query_id=[0-9a-f-]{36}/);
    });
  });
}
