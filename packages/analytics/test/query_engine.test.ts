import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { DataType, TimeUnit, type RecordBatch, type Schema } from 'apache-arrow';
import { fmetric, imetric, info, spanScope, warn } from '@micromegas/tracing';
import { DEFAULT_GLOBAL_VIEWS, materializeGlobalViews, openLakehouse, type Lakehouse } from '../src/index.ts';
import { NS_PER_SECOND } from '../src/lakehouse/view.ts';
import { parseTimestampNanos } from '../src/time.ts';
import { QueryError, type QueryRequest } from '../src/query/engine.ts';
import { LakehouseQueryEngine } from '../src/query/lakehouse_engine.ts';
import { ingest, openTestLake, record, type TestLake } from './fixtures.ts';

const trunc = (t: bigint, d: bigint) => t - (t % d);
const caller = { name: 'test', admin: false };
let nextId = 0;

export async function runQuery(engine: LakehouseQueryEngine, sql: string, extra: Partial<QueryRequest> = {}): Promise<{ schema: Schema; rows: Record<string, unknown>[]; batches: RecordBatch[] }> {
  const result = await engine.execute({ sql, caller, queryId: `q${nextId++}`, ...extra });
  const batches: RecordBatch[] = [];
  for await (const b of result.batches) batches.push(b);
  const rows = batches.flatMap((b) => b.toArray().map((r) => r.toJSON() as Record<string, unknown>));
  return { schema: result.schema, rows, batches };
}

/** The raw int64 values of a column (Arrow JS reads timestamps as float milliseconds). */
function rawInt64(batches: readonly RecordBatch[], name: string): bigint[] {
  return batches.flatMap((b) => b.getChild(name)!.data.flatMap((d) => [...(d.values as BigInt64Array).subarray(0, d.length)]));
}

for (const kind of ['postgres', 'pglite'] as const) {
  describe(`query engine on ${kind}`, () => {
    let lake: TestLake;
    let house: Lakehouse;
    let engine: LakehouseQueryEngine;
    let dir: string;
    let processId: string;
    let cpuStream: string;
    let blockCount: number;
    let begin: bigint;
    let end: bigint;
    const q = (sql: string, extra: Partial<QueryRequest> = {}) => runQuery(engine, sql, extra);
    const fails = async (sql: string, kindWanted: string | RegExp, message: RegExp, extra: Partial<QueryRequest> = {}) => {
      const err = await q(sql, extra).then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof QueryError, `${sql}: expected a QueryError, got ${String(err)}`);
      assert.match(err.kind, kindWanted instanceof RegExp ? kindWanted : new RegExp(`^${kindWanted}$`), `${sql}: ${err.message}`);
      assert.match(err.message, message, sql);
      assert.match(err.message, /\(query_id=q\d+\)$/);
    };

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'mm-query-'));
      // PostgreSQL with a file store (DuckDB reads the lake's files), PGlite with a memory store (copies).
      lake = await openTestLake(kind, kind === 'postgres' ? pathToFileURL(dir).href : undefined);
      house = await openLakehouse(lake, { log: () => {} });
      const sink = await record(() => {
        for (let i = 0; i < 500; i++) {
          info('event {}', i);
          imetric('requests', 'count', i);
          if (i % 100 === 0) warn('warning number {}', i / 100);
          spanScope('outer', () => spanScope('inner', () => fmetric('ratio', 'percent', i / 5)));
        }
      });
      processId = sink.process!.processId;
      await ingest(lake, sink);
      const { rows } = await lake.db.query<{ lo: string; hi: string; n: string }>('SELECT min(insert_time) AS lo, max(insert_time) AS hi, count(*)::text AS n FROM blocks');
      begin = trunc(parseTimestampNanos(rows[0]!.lo), NS_PER_SECOND);
      end = trunc(parseTimestampNanos(rows[0]!.hi), NS_PER_SECOND) + NS_PER_SECOND;
      blockCount = Number(rows[0]!.n);
      await materializeGlobalViews(house, DEFAULT_GLOBAL_VIEWS, begin, end, NS_PER_SECOND);
      const streams = await lake.db.query<{ stream_id: string }>(`SELECT stream_id::text FROM streams WHERE 'cpu' = ANY(tags)`);
      cpuStream = streams.rows[0]!.stream_id;
      engine = new LakehouseQueryEngine(house, { memoryLimit: '256MB', threads: 1, maxConcurrentQueries: 2 });
    });
    after(async () => {
      await engine.close();
      await house.close();
      await lake.drop();
      await rm(dir, { recursive: true, force: true });
    });

    test('global views: counts and values', async () => {
      assert.deepEqual((await q('SELECT count(*) AS n FROM log_entries')).rows, [{ n: 505n }]);
      assert.deepEqual((await q('SELECT count(*) AS n FROM measures')).rows, [{ n: 1000n }]);
      assert.deepEqual((await q('SELECT count(*) AS n FROM blocks')).rows, [{ n: BigInt(blockCount) }]);
      const warnings = await q('SELECT msg, level FROM log_entries WHERE level = 3 ORDER BY time');
      assert.deepEqual(warnings.rows.map((r) => r.msg), [0, 1, 2, 3, 4].map((i) => `warning number ${i}`));
      const processes = await q('SELECT process_id, exe, property_get(properties, \'VERSION\') AS version FROM processes');
      assert.deepEqual(processes.rows, [{ process_id: processId, exe: 'analytics-test', version: '1.0' }]);
      const streams = await q('SELECT count(*) AS n, count(DISTINCT process_id) AS p FROM streams');
      const pgStreams = await lake.db.query<{ n: string }>('SELECT count(DISTINCT stream_id)::text AS n FROM blocks');
      assert.deepEqual(streams.rows, [{ n: BigInt(pgStreams.rows[0]!.n), p: 1n }]);
      const stats = await q('SELECT level, CAST(sum(count) AS BIGINT) AS n FROM log_stats GROUP BY level ORDER BY level');
      assert.deepEqual(stats.rows, [{ level: 3, n: 5n }, { level: 4, n: 500n }]);
      const sum = await q(`SELECT sum(value) AS s FROM measures WHERE name = 'requests'`);
      assert.equal(sum.rows[0]!.s, (499 * 500) / 2);
      const props = await q(`SELECT property_get(process_properties, 'version') AS v, jsonb_format_json(process_properties) AS j FROM log_entries LIMIT 1`);
      assert.deepEqual(props.rows, [{ v: '1.0', j: '{"version":"1.0"}' }]);
    });

    test('the query range prunes and filters, inside subqueries too', async () => {
      const times = (await q('SELECT epoch_ns(time) AS t FROM log_entries ORDER BY time')).rows.map((r) => r.t as bigint);
      const mid = times[250]!;
      const expected = BigInt(times.filter((t) => t >= mid).length);
      const range = { begin: mid, end: times[times.length - 1]! + 1n };
      assert.deepEqual((await q('SELECT count(*) AS n FROM log_entries', range)).rows, [{ n: expected }]);
      assert.deepEqual((await q('SELECT (SELECT count(*) FROM log_entries) AS n', range)).rows, [{ n: expected }]);
      const infoAfter = (await q(`SELECT count(*) AS n FROM log_entries WHERE level = 4 AND epoch_ns(time) >= ${mid}`)).rows[0]!.n;
      assert.deepEqual((await q('WITH l AS (SELECT * FROM log_entries) SELECT count(*) AS n FROM l WHERE level = 4', range)).rows, [{ n: infoAfter }]);
      const before = { begin: 1_000_000_000n, end: 2_000_000_000n };
      for (const table of ['log_entries', 'measures', 'blocks', 'processes', 'streams', 'log_stats']) {
        assert.deepEqual((await q(`SELECT count(*) AS n FROM ${table}`, before)).rows, [{ n: 0n }], table);
      }
      assert.deepEqual((await q('SELECT count(*) AS n FROM processes', { begin, end })).rows, [{ n: 1n }]);
    });

    test('view_instance: JIT log_entries, global instance, thread_spans with its mandatory range', async () => {
      assert.deepEqual((await q(`SELECT count(*) AS n FROM view_instance('log_entries', '${processId}')`)).rows, [{ n: 505n }]);
      assert.deepEqual((await q(`SELECT count(*) AS n FROM view_instance('log_entries', 'global') l WHERE l.level = 3`)).rows, [{ n: 5n }]);
      assert.deepEqual((await q(`SELECT count(*) AS n FROM view_instance('measures', '${processId}')`, { begin: 0n, end: end + NS_PER_SECOND * 3600n })).rows, [{ n: 1000n }]);
      const spans = await q(`SELECT name, count(*) AS n FROM view_instance('thread_spans', '${cpuStream}') WHERE depth > 0 GROUP BY name ORDER BY name`, { begin: 0n, end: end + NS_PER_SECOND * 3600n });
      assert.deepEqual(spans.rows, [{ name: 'inner', n: 500n }, { name: 'outer', n: 500n }]);
      // The range is applied to the instance: nothing before the process started.
      assert.deepEqual((await q(`SELECT count(*) AS n FROM view_instance('thread_spans', '${cpuStream}')`, { begin: 0n, end: 1n })).rows, [{ n: 0n }]);
      await fails(`SELECT * FROM view_instance('thread_spans', '${cpuStream}')`, 'invalid_argument', /query range mandatory for thread spans view/);
      await fails(`SELECT * FROM view_instance('nope', 'global')`, 'invalid_argument', /error making view: view set "nope" not found/);
      await fails(`SELECT * FROM view_instance('processes', 'global')`, 'invalid_argument', /not found/);
      await fails(`SELECT * FROM view_instance('log_entries', 'not-a-uuid')`, 'invalid_argument', /not a UUID/);
      await fails(`SELECT * FROM view_instance(upper('log_entries'), 'global')`, 'invalid_argument', /First argument to view_instance must be a string/);
      await fails(`SELECT 1 FROM WHERE`, 'invalid_argument', /Parser Error/);
      // Calls inside literals and comments are text, not calls.
      const text = await q(`SELECT 'view_instance(''nope'', ''x'')' AS s /* view_instance('nope','x') */`);
      assert.deepEqual(text.rows, [{ s: "view_instance('nope', 'x')" }]);
    });

    test('DataFusion functions: date_bin, arrow_cast, array_has, array_position, now()', async () => {
      const bins = await q(`SELECT date_bin(INTERVAL '1 minute', time) AS t, count(*) AS n FROM log_entries GROUP BY 1`);
      assert.equal(bins.rows.reduce((s, r) => s + (r.n as bigint), 0n), 505n);
      assert.ok(rawInt64(bins.batches, 't').every((t) => t % (60n * NS_PER_SECOND) === 0n), 'bins start on minutes');
      const cast = await q(`SELECT arrow_cast(level, 'Utf8') AS l, arrow_cast(arrow_cast(level, 'Utf8'), 'Int64') AS i, arrow_cast(time, 'Timestamp(Nanosecond, None)') AS t FROM log_entries LIMIT 1`);
      assert.ok(DataType.isUtf8(cast.schema.fields[0]!.type));
      assert.ok(DataType.isInt(cast.schema.fields[1]!.type) && cast.schema.fields[1]!.type.bitWidth === 64);
      assert.equal(cast.rows[0]!.l, '4');
      const logBlocks = await lake.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM blocks b JOIN streams s USING (stream_id) WHERE 'log' = ANY(s.tags)`);
      assert.deepEqual((await q(`SELECT count(*) AS n FROM blocks WHERE array_has("streams.tags", 'log')`)).rows, [{ n: BigInt(logBlocks.rows[0]!.n) }]);
      const tagged = await q(`SELECT count(*) AS n FROM streams WHERE process_id = '${processId}' AND (array_position(tags, 'cpu') IS NOT NULL)`);
      assert.deepEqual(tagged.rows, [{ n: 1n }]);
      assert.deepEqual((await q(`SELECT count(*) AS n FROM log_entries WHERE time <= now() AND time > now() - INTERVAL '1 day'`)).rows, [{ n: 505n }]);
      const threads = await q(`SELECT arrow_cast(stream_id, 'Utf8') AS s, property_get("streams.properties", 'thread-name') AS name FROM blocks WHERE process_id = '${processId}' AND array_has("streams.tags", 'cpu') LIMIT 1`);
      assert.equal(threads.rows[0]!.s, cpuStream);
      const types = await q(`SELECT arrow_typeof(msg) AS m, arrow_typeof(level) AS l, arrow_typeof(time) AS t, arrow_typeof(properties) AS p FROM log_entries LIMIT 1`);
      assert.deepEqual(types.rows, [{ m: 'Utf8', l: 'Int32', t: 'Timestamp(Nanosecond, Some("+00:00"))', p: 'Binary' }]);
      assert.ok(DataType.isTimestamp(cast.schema.fields[2]!.type));
      // A timestamp difference cast to BIGINT is its duration in ns (DuckDB intervals keep µs).
      const [d] = (await q(`SELECT CAST((max(time) - min(time)) AS BIGINT) AS d, epoch_ns(max(time)) - epoch_ns(min(time)) AS raw, CAST(7.9 - 0.5 AS BIGINT) AS n, CAST(NULL - 1 AS BIGINT) AS z FROM log_entries`)).rows;
      const diff = (d!.d as bigint) - (d!.raw as bigint);
      assert.ok(diff > -1000n && diff < 1000n, `${d!.d} is ${d!.raw} to the µs`);
      assert.ok((d!.d as bigint) > 0n);
      assert.equal(d!.n, 7n);
      assert.equal(d!.z, null);
    });

    test('canonical client queries (reference appendix A) run', async () => {
      const wide = { begin: 0n, end: end + 3600n * NS_PER_SECOND };
      const metrics = await q(`SELECT date_bin(INTERVAL '1 minute', time) AS time, max(value) AS max, jsonb_format_json(first_value(properties) FILTER (WHERE properties IS NOT NULL)) AS props
        FROM view_instance('measures', '${processId}') WHERE name = 'requests' GROUP BY date_bin(INTERVAL '1 minute', time) ORDER BY time`, wide);
      assert.ok(metrics.rows.length >= 1);
      assert.equal(Math.max(...metrics.rows.map((r) => r.max as number)), 499);
      assert.equal(metrics.rows[0]!.props, '{}');
      const names = await q(`SELECT DISTINCT name, target, unit FROM view_instance('measures', '${processId}') ORDER BY name`, wide);
      assert.deepEqual(names.rows.map((r) => r.name), ['ratio', 'requests']);
      const threads = await q(`SELECT arrow_cast(stream_id, 'Utf8') AS stream_id,
          concat(arrow_cast(property_get("streams.properties", 'thread-name'), 'Utf8'), '-', arrow_cast(property_get("streams.properties", 'thread-id'), 'Utf8')) AS thread,
          begin_time, end_time FROM blocks WHERE process_id = '${processId}' AND array_has("streams.tags", 'cpu') ORDER BY stream_id, begin_time`);
      assert.ok(threads.rows.length >= 1 && threads.rows.every((r) => r.stream_id === cpuStream));
      const procs = await q(`SELECT b.process_id, MIN(b."processes.exe") AS exe, MIN(b.begin_time) AS b, MAX(b.end_time) AS e, COUNT(DISTINCT b.stream_id) AS streams, SUM(b.nb_objects) AS objects
        FROM blocks b WHERE b."processes.exe" LIKE '%analytics%' GROUP BY b.process_id ORDER BY MAX(b.end_time) DESC LIMIT 1`);
      assert.equal(procs.rows[0]!.exe, 'analytics-test');
      assert.equal(typeof procs.rows[0]!.objects, 'bigint');
      const stats = await q(`SELECT time_bin, SUM(count) AS n FROM log_stats WHERE time_bin >= NOW() - INTERVAL '1 hour' GROUP BY time_bin`);
      assert.equal(stats.rows.reduce((s, r) => s + (r.n as bigint), 0n), 505n);
      const logs = await q(`SELECT time, level, msg FROM log_entries WHERE level <= 3 AND time >= CAST('2000-01-01T00:00:00Z' AS TIMESTAMP) AND time < TIMESTAMP '2100-01-01T00:00:00Z'`, wide);
      assert.equal(logs.rows.length, 5);
      const spans = await q(`SELECT * FROM view_instance('thread_spans', '${cpuStream}') LIMIT 3`, wide);
      assert.deepEqual(spans.schema.fields.map((f) => f.name), ['id', 'parent', 'depth', 'hash', 'begin', 'end', 'duration', 'name', 'target', 'filename', 'line']);
      assert.equal(spans.rows.length, 3);
    });

    test('views a query does not name are empty, whatever the queries before it on the instance', async () => {
      const one = new LakehouseQueryEngine(house, { maxConcurrentQueries: 1, threads: 1 });
      try {
        const n = async (sql: string) => (await runQuery(one, sql)).rows[0]!.n as bigint;
        for (let i = 0; i < 2; i++) {
          assert.equal(await n('SELECT count(*) AS n FROM log_entries'), 505n);
          assert.equal(await n('SELECT count(*) AS n FROM log_entries'), 505n, 'the same views again');
          // query_table reaches a view without the query naming it: the planner gave it no partitions.
          assert.equal(await n(`SELECT count(*) AS n FROM query_table('log_' || 'entries')`), 0n);
          assert.equal(await n(`SELECT count(*) AS n FROM query_table('__log_stats_' || '_partitions')`), 0n);
          assert.ok((await n('SELECT count(*) AS n FROM log_stats')) > 0n);
        }
      } finally {
        await one.close();
      }
    });

    test('SHOW TABLES and information_schema list the views', async () => {
      const show = await q('SHOW TABLES');
      assert.deepEqual(show.schema.fields.map((f) => f.name), ['table_catalog', 'table_schema', 'table_name', 'table_type']);
      const names = show.rows.map((r) => r.table_name);
      for (const v of ['log_entries', 'measures', 'blocks', 'processes', 'streams', 'log_stats']) assert.ok(names.includes(v), v);
      const columns = await q(`SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'log_entries' ORDER BY ordinal_position`);
      assert.deepEqual(columns.rows.map((r) => r.column_name), ['process_id', 'stream_id', 'block_id', 'insert_time', 'exe', 'username', 'computer', 'time', 'target', 'level', 'msg', 'properties', 'process_properties']);
      assert.equal(columns.rows[7]!.data_type, 'TIMESTAMP_NS');
      for (const v of ['__processes__partitions', '__streams__partitions', '__log_stats__partitions']) assert.ok(names.includes(v), v);
      const parts = await q('SELECT count(*) AS n FROM __log_stats__partitions');
      assert.ok((parts.rows[0]!.n as bigint) >= 2n, 'per-partition rows, before the merge');
      const tables = await engine.tables();
      assert.deepEqual(tables.map((t) => t.name), ['blocks', 'processes', 'streams', 'log_entries', 'measures', 'otel_spans', 'histograms', 'log_stats']);
    });

    test('result arrow types, nulls and limit', async () => {
      const r = await q(`SELECT time, level, msg, properties, "streams.tags" AS tags, CASE WHEN level = 3 THEN NULL ELSE level END AS maybe, level = 3 AS warn, 1.5::DOUBLE AS d, 7::UINTEGER AS u, sum(1) OVER () AS h, DATE '2024-01-02' AS day, uuid '00000000-0000-0000-0000-00000000002a' AS id
        FROM log_entries JOIN blocks USING (block_id) ORDER BY time`, { limit: 7 });
      const types = Object.fromEntries(r.schema.fields.map((f) => [f.name, f.type]));
      assert.ok(DataType.isTimestamp(types.time) && types.time.unit === TimeUnit.NANOSECOND && types.time.timezone === '+00:00');
      assert.ok(DataType.isInt(types.level) && types.level.bitWidth === 32);
      assert.ok(DataType.isUtf8(types.msg));
      assert.ok(DataType.isBinary(types.properties));
      assert.ok(DataType.isList(types.tags) && DataType.isUtf8(types.tags.children[0]!.type));
      assert.ok(DataType.isBool(types.warn));
      assert.ok(DataType.isFloat(types.d));
      assert.ok(DataType.isInt(types.u) && !types.u.isSigned && types.u.bitWidth === 32);
      assert.ok(DataType.isInt(types.h) && types.h.bitWidth === 64, 'HUGEINT sums come out as Int64');
      assert.ok(DataType.isDate(types.day));
      assert.ok(DataType.isUtf8(types.id), 'types without an Arrow counterpart as text');
      assert.equal(r.rows.length, 7);
      assert.equal(r.rows[0]!.day, Date.UTC(2024, 0, 2));
      assert.equal(r.rows[0]!.id, '00000000-0000-0000-0000-00000000002a');
      assert.equal(r.rows[0]!.h, 505n);
      assert.deepEqual([...(r.rows[0]!.tags as Iterable<string>)].sort(), ['log']);
      // Timestamps keep their nanoseconds.
      const exact = await q('SELECT epoch_ns(time) AS ns, time FROM log_entries ORDER BY time LIMIT 3');
      assert.deepEqual(rawInt64(exact.batches, 'time'), exact.rows.map((row) => row.ns));
      const nulls = await q('SELECT CASE WHEN level = 3 THEN NULL ELSE msg END AS m, CASE WHEN level = 3 THEN NULL ELSE level END AS l FROM log_entries ORDER BY time');
      assert.equal(nulls.rows.filter((x) => x.m === null).length, 5);
      assert.equal(nulls.rows.filter((x) => x.l === null).length, 5);
      assert.equal(nulls.batches[0]!.getChild('l')!.nullCount, 5);
      // DuckDB chunks (2048 rows) are gathered into batches of at least batchRows.
      const batching = new LakehouseQueryEngine(house, { batchRows: 4000, prewarm: 0 });
      const many = await runQuery(batching, 'SELECT * FROM range(10000) r(i)');
      await batching.close();
      assert.ok(many.batches.length >= 2 && many.batches.length <= 3, `${many.batches.length} batches`);
      assert.deepEqual(many.rows.map((x) => x.i), Array.from({ length: 10000 }, (_, i) => BigInt(i)));
      assert.deepEqual((await q('SELECT * FROM range(0)')).rows, []);
    });

    test('schemaOf describes a statement without running it', async () => {
      const schema = await engine.schemaOf({ sql: `SELECT time, msg FROM view_instance('log_entries', '${processId}')`, caller, queryId: 'schema' });
      assert.deepEqual(schema.fields.map((f) => [f.name, String(f.type)]), [['time', 'Timestamp<NANOSECOND, +00:00>'], ['msg', 'Utf8']]);
      await assert.rejects(engine.schemaOf({ sql: 'SELECT nope FROM log_entries', caller, queryId: 'bad' }), (e: QueryError) => e.kind === 'invalid_argument' && /query_id=bad/.test(e.message));
    });

    test('the sandbox refuses file access, configuration changes and other statements', async () => {
      await fails(`SELECT * FROM read_csv('/etc/passwd')`, /permission_denied|invalid_argument/, /passwd|access/i);
      await fails(`SELECT * FROM read_text('/etc/hostname')`, /permission_denied|invalid_argument/, /access/i);
      await fails(`SELECT * FROM read_parquet('${join(dir, 'elsewhere.parquet')}')`, /permission_denied|invalid_argument/, /access|No files/i);
      await fails(`SELECT * FROM glob('/etc/*')`, /permission_denied|invalid_argument/, /access|disabled/i);
      for (const sql of [
        `COPY (SELECT 1) TO '${join(dir, 'x.csv')}'`,
        `ATTACH '${join(dir, 'x.db')}'`,
        'INSTALL httpfs',
        'LOAD httpfs',
        'SET enable_external_access = true',
        "PRAGMA memory_limit = '10GB'",
        'CREATE TABLE t AS SELECT 1',
        'SELECT 1; SELECT 2',
        "SELECT 1; COPY (SELECT 1) TO '/tmp/x.csv'",
        `EXPLAIN ANALYZE COPY (SELECT 1) TO '${join(dir, 'y.csv')}'`,
        'CALL pragma_version()',
        'DROP VIEW log_entries',
      ]) await fails(sql, 'invalid_argument', /./);
      await fails(`SELECT * FROM query('COPY (SELECT 1) TO ''${join(dir, 'z.csv')}''')`, 'invalid_argument', /./);
      await fails(`SELECT current_setting('x') /* ; */ ; ATTACH 'x'`, 'invalid_argument', /./);
      await fails(`SELECT set_config('memory_limit', '10GB')`, 'invalid_argument', /./);
      // Queries run on long-lived instances sandboxed to the lake's partition directory: any
      // partition file is readable (not only the query's own, as when each query had an instance
      // of its own), the rest of the store and writes into the lake are not.
      if (kind === 'postgres') {
        const { rows } = await lake.db.query<{ file_path: string }>(`SELECT file_path FROM lakehouse_partitions WHERE view_set_name = 'measures' AND file_path IS NOT NULL LIMIT 1`);
        const file = join(dir, ...rows[0]!.file_path.split('/'));
        assert.ok(((await q(`SELECT count(*) AS n FROM read_parquet('${file}')`)).rows[0]!.n as bigint) > 0n);
        await writeFile(join(dir, 'outside.csv'), 'a\n1\n');
        await fails(`SELECT * FROM read_csv('${join(dir, 'outside.csv')}')`, 'permission_denied', /Cannot access file/);
        await fails(`SELECT * FROM read_csv('${dir}/views/../outside.csv')`, 'permission_denied', /Cannot access file/);
        await fails(`SELECT * FROM glob('${dir}/*')`, 'permission_denied', /Cannot access/);
        const inLake = join(dir, 'views', 'w.csv');
        await fails(`COPY (SELECT 1) TO '${inLake}'`, 'invalid_argument', /./);
        await fails(`SELECT * FROM query('COPY (SELECT 1) TO ''${inLake}''')`, 'invalid_argument', /./);
        await assert.rejects(stat(inLake));
        assert.equal((await q(`SELECT count(*) AS n FROM measures`)).rows[0]!.n, 1000n);
      }
      assert.deepEqual((await q('SELECT 1 AS one;')).rows, [{ one: 1 }]);
      assert.deepEqual((await q('EXPLAIN SELECT count(*) FROM log_entries')).schema.fields.length, 2);
    });

    test('a query running past its timeout is interrupted; the concurrency limit queues queries', async () => {
      const slow = new LakehouseQueryEngine(house, { timeoutMs: 300, maxConcurrentQueries: 1, threads: 1 });
      const t0 = Date.now();
      const err = await runQuery(slow, 'SELECT sum(a.range * b.range) AS s FROM range(200000) a, range(200000) b').then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof QueryError && err.kind === 'deadline_exceeded', String(err));
      // Run to the end, this query takes minutes; a generous bound keeps a loaded CI machine green.
      assert.ok(Date.now() - t0 < 30_000, `interrupted after ${Date.now() - t0} ms`);
      const small = new LakehouseQueryEngine(house, { memoryLimit: '32MB', threads: 1 });
      const oom = await runQuery(small, 'SELECT length(list(range)) AS n FROM range(20000000)').then(() => undefined, (e: unknown) => e);
      assert.ok(oom instanceof QueryError && oom.kind === 'resource_exhausted', String(oom));
      await small.close();
      // One slot: a second query waits until the first result is consumed.
      const first = await slow.execute({ sql: 'SELECT 1 AS x', caller, queryId: 'a' });
      let secondStarted = false;
      const second = slow.execute({ sql: 'SELECT 2 AS x', caller, queryId: 'b' }).then((r) => {
        secondStarted = true;
        return r;
      });
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(secondStarted, false);
      for await (const _ of first.batches);
      const r = await second;
      for await (const _ of r.batches);
      assert.equal(secondStarted, true);
      await slow.close();
    });
  });
}
