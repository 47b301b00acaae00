import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RecordBatch } from 'apache-arrow';
import { encodeResourceLogs, encodeResourceMetrics, encodeResourceSpans } from '@micromegas/otlp';
import { DEFAULT_GLOBAL_VIEWS, materializeGlobalViews, openLakehouse, type Lakehouse } from '../src/index.ts';
import { NS_PER_HOUR } from '../src/lakehouse/view.ts';
import type { QueryRequest } from '../src/query/engine.ts';
import { LakehouseQueryEngine } from '../src/query/lakehouse_engine.ts';
import { exactQuantile, explicitBuckets, exponentialBuckets, GRID_BINS } from '../src/otel/histogram_grid.ts';
import { openTestLake, type TestLake } from './fixtures.ts';
import { insertOtlpBlock, insertOtlpProcess, kv, msToNs, type OtlpService } from './otel_helpers.ts';

const caller = { name: 'test', admin: true };
let nextId = 0;
async function runQuery(engine: LakehouseQueryEngine, sql: string, extra: Partial<QueryRequest> = {}): Promise<Record<string, unknown>[]> {
  const result = await engine.execute({ sql, caller, queryId: `otel${nextId++}`, ...extra });
  const batches: RecordBatch[] = [];
  for await (const b of result.batches) batches.push(b);
  return batches.flatMap((b) => b.toArray().map((r) => r.toJSON() as Record<string, unknown>));
}

const T0 = msToNs(Date.now() - 60_000);
const at = (ms: number) => T0 + msToNs(ms);
const bytes = (hexText: string) => Uint8Array.from(Buffer.from(hexText, 'hex'));
const TRACE = '0af7651916cd43dd8448eb211c80319c';
const OTHER_TRACE = '11111111111111111111111111111111';
const ROOT = 'b7ad6b7169203331';
const CHILD = '00f067aa0ba902b7';
const REMOTE = '1234567890abcdef';
const scope = (name: string) => ({ name, version: '1.2', attributes: [kv('lib', 'x')] });

function span(trace: string, id: string, parent: string, name: string, startMs: number, endMs: number, extra: object = {}) {
  return { traceId: bytes(trace), spanId: bytes(id), parentSpanId: parent ? bytes(parent) : new Uint8Array(), name, kind: 2, startTimeUnixNano: at(startMs), endTimeUnixNano: at(endMs), attributes: [kv('http.route', '/x')], ...extra };
}

// Histogram fixtures: explicit bounds [0, 10, 100] with counts [1, 5, 3, 1], and an exponential point.
const HIST = { bounds: [0, 10, 100], counts: [1n, 5n, 3n, 1n], min: -2, max: 150, sum: 400, count: 10n };
const EXPO = { scale: 1, zeroCount: 2n, zeroThreshold: 0, positive: { offset: 2, bucketCounts: [3n, 4n, 1n] }, count: 10n, sum: 25, min: 0, max: 4 };

for (const kind of ['postgres', 'pglite'] as const) {
  describe(`OTLP views on ${kind}`, () => {
    let lake: TestLake;
    let house: Lakehouse;
    let engine: LakehouseQueryEngine;
    let api: OtlpService;
    let db: OtlpService;
    let badBlock: string;
    const warnings: string[] = [];

    before(async () => {
      lake = await openTestLake(kind);
      house = await openLakehouse(lake, { log: (level, m) => level !== 'info' && warnings.push(m) });
      api = await insertOtlpProcess(lake, 'shop/api', at(0));
      db = await insertOtlpProcess(lake, 'shop/db', at(0));
      // Logs of api: severities, a structured body, a record with only observed time, trace correlation.
      await insertOtlpBlock(lake, api, 'logs', encodeResourceLogs({
        resource: { attributes: [kv('service.name', 'api')] },
        scopeLogs: [{
          scope: scope('api.logger'),
          schemaUrl: 'https://s/1',
          logRecords: [
            { timeUnixNano: at(1), severityNumber: 17, severityText: 'ERROR', body: { stringValue: 'boom' }, attributes: [kv('code', 500n), kv('ok', false)], traceId: bytes(TRACE), spanId: bytes(ROOT), eventName: 'ev' },
            { timeUnixNano: 0n, observedTimeUnixNano: at(2), severityNumber: 9, body: { kvlistValue: { values: [kv('a', 1n)] } } },
            { timeUnixNano: at(3), severityNumber: 0, body: { doubleValue: 2.5 }, traceId: bytes('abcd') },
          ],
        }],
      }), 3, at(1), at(3));
      // A corrupt logs block of the same stream: it fails alone.
      badBlock = await insertOtlpBlock(lake, api, 'logs', Uint8Array.of(0x0a, 0xff, 0xff, 0xff, 0x0f, 1), 1, at(1), at(1));
      // Spans: the trace crosses api (root + child) and db (server span, child of api's child).
      await insertOtlpBlock(lake, api, 'traces', encodeResourceSpans({
        resource: { attributes: [] },
        scopeSpans: [{
          scope: scope('api.tracer'),
          spans: [
            span(TRACE, ROOT, '', 'GET /x', 0, 100, { status: { code: 1, message: '' }, events: [{ timeUnixNano: at(5), name: 'cache miss', attributes: [kv('k', 'v')] }] }),
            span(TRACE, CHILD, ROOT, 'query db', 10, 60, { kind: 3, links: [{ traceId: bytes(OTHER_TRACE), spanId: bytes(REMOTE), attributes: [] }] }),
            span(OTHER_TRACE, REMOTE, '', 'other', 200, 210),
            span('abcd', REMOTE, '', 'bad id', 0, 1),
          ],
        }],
      }), 4, at(0), at(210));
      await insertOtlpBlock(lake, db, 'traces', encodeResourceSpans({
        resource: { attributes: [] },
        scopeSpans: [{ scope: scope('db.tracer'), spans: [span(TRACE, REMOTE, CHILD, 'SELECT', 20, 50, { status: { code: 2, message: 'timeout' } })] }],
      }), 1, at(20), at(50));
      // Metrics of db: every kind.
      await insertOtlpBlock(lake, db, 'metrics', encodeResourceMetrics({
        resource: { attributes: [] },
        scopeMetrics: [{
          scope: scope('db.meter'),
          metrics: [
            { name: 'requests', unit: '1', sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [{ timeUnixNano: at(10), asInt: 42n, attributes: [kv('route', '/x')] }, { timeUnixNano: 0n, asInt: 1n }] } },
            { name: 'pool', unit: 'conn', gauge: { dataPoints: [{ timeUnixNano: at(11), asDouble: 3.5 }] } },
            { name: 'lat', unit: 'ms', summary: { dataPoints: [{ timeUnixNano: at(12), count: 7n, sum: 70, quantileValues: [{ quantile: 0, value: 1 }, { quantile: 0.5, value: 9 }, { quantile: 1, value: 30 }] }] } },
            { name: 'dur', unit: 'ms', histogram: { aggregationTemporality: 1, dataPoints: [
              { timeUnixNano: at(13), count: HIST.count, sum: HIST.sum, min: HIST.min, max: HIST.max, explicitBounds: HIST.bounds, bucketCounts: HIST.counts, attributes: [kv('route', '/x')] },
              { timeUnixNano: at(14), count: HIST.count, sum: HIST.sum, explicitBounds: HIST.bounds, bucketCounts: HIST.counts },
            ] } },
            { name: 'size', unit: 'By', exponentialHistogram: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: at(15), ...EXPO }] } },
          ],
        }],
      }), 2 + 1 + 4 + 2 + 1, at(10), at(15));
      const now = msToNs(Date.now());
      const begin = now - (now % NS_PER_HOUR) - NS_PER_HOUR;
      await materializeGlobalViews(house, DEFAULT_GLOBAL_VIEWS, begin, begin + 3n * NS_PER_HOUR, NS_PER_HOUR);
      engine = new LakehouseQueryEngine(house, { memoryLimit: '256MB', threads: 1, maxConcurrentQueries: 1 });
    });

    after(async () => {
      await engine?.close();
      await house?.close();
      await lake?.drop();
    });

    for (const source of ['global', 'process'] as const) {
      test(`log records → log_entries (${source})`, async () => {
        const from = source === 'global' ? 'log_entries' : `view_instance('log_entries', '${api.processId}')`;
        const rows = await runQuery(engine, `SELECT epoch_ns("time") AS t, level, target, msg, jsonb_format_json(properties) AS props, exe FROM ${from} ORDER BY "time"`);
        assert.equal(rows.length, 3);
        assert.deepEqual(rows.map((r) => [r.t, r.level, r.target, r.msg, r.exe]), [
          [at(1), 2, 'api.logger', 'boom', 'shop/api'],
          [at(2), 4, 'api.logger', '{"a":1}', 'shop/api'],
          [at(3), 4, 'api.logger', '2.5', 'shop/api'],
        ]);
        assert.deepEqual(JSON.parse(rows[0]!.props as string), {
          code: 500, ok: false, 'otel.event_name': 'ev', 'otel.scope.attr.lib': 'x', 'otel.scope.name': 'api.logger', 'otel.scope.schema_url': 'https://s/1',
          'otel.scope.version': '1.2', 'otel.severity_text': 'ERROR', 'otel.span_id': ROOT, 'otel.trace_id': TRACE,
        });
        // A trace id of the wrong length is not a property.
        assert.equal(JSON.parse(rows[2]!.props as string)['otel.trace_id'], undefined);
      });

      test(`Sum, Gauge, Summary → measures (${source})`, async () => {
        const from = source === 'global' ? 'measures' : `view_instance('measures', '${db.processId}')`;
        const rows = await runQuery(engine, `SELECT epoch_ns("time") AS t, target, name, unit, value, jsonb_format_json(properties) AS props FROM ${from} ORDER BY "time", name`);
        assert.deepEqual(rows.map((r) => [r.t, r.target, r.name, r.unit, r.value]), [
          [at(10), 'db.meter', 'requests', '1', 42],
          [at(11), 'db.meter', 'pool', 'conn', 3.5],
          [at(12), 'db.meter', 'lat_count', '', 7],
          [at(12), 'db.meter', 'lat_max', 'ms', 30],
          [at(12), 'db.meter', 'lat_min', 'ms', 1],
          [at(12), 'db.meter', 'lat_sum', 'ms', 70],
        ]);
        assert.deepEqual(JSON.parse(rows[0]!.props as string), { route: '/x', 'otel.metric.aggregation_temporality': 2, 'otel.metric.is_monotonic': true, 'otel.metric.kind': 'sum' });
        assert.deepEqual(JSON.parse(rows[1]!.props as string), { 'otel.metric.kind': 'gauge' });
      });

      test(`Histogram and ExponentialHistogram points → histograms (${source})`, async () => {
        const from = source === 'global' ? 'histograms' : `view_instance('histograms', '${db.processId}')`;
        const rows = await runQuery(engine, `SELECT name, unit, kind, epoch_ns("time") AS t, count_from_histogram(histogram) AS n, sum_from_histogram(histogram) AS s,
            quantile_from_histogram(histogram, 0.5) AS p50, quantile_from_histogram(histogram, 0.9) AS p90, edges, counts, histogram.start AS gs, histogram."end" AS ge, len(histogram.bins)::INTEGER AS nb
          FROM ${from} ORDER BY "time"`);
        assert.equal(rows.length, 3);
        const [h1, h2, e] = rows;
        assert.deepEqual([h1!.name, h1!.unit, h1!.kind, h1!.t, h1!.n, h1!.s], ['dur', 'ms', 'histogram', at(13), 10n, 400]);
        assert.deepEqual([...(h1!.counts as Iterable<bigint>)], HIST.counts);
        assert.deepEqual([...(h1!.edges as Iterable<number>)], [-Infinity, 0, 10, 100, Infinity]);
        // Grid from the bounds only: [0 - 10, 100 + 90], the same for both points, so they merge.
        assert.deepEqual([h1!.gs, h1!.ge, h1!.nb, h2!.gs, h2!.ge], [-10, 190, GRID_BINS, -10, 190]);
        // Documented accuracy (histogram_grid.ts): one grid bin + half a count of the bucket holding the quantile.
        const exact = explicitBuckets(HIST.bounds, HIST.counts);
        const edges = [HIST.min, ...HIST.bounds, HIST.max];
        for (const [q, got, bucket] of [[0.5, h1!.p50, 1], [0.9, h1!.p90, 2]] as const) {
          const want = exactQuantile(exact, { count: HIST.count, min: HIST.min, max: HIST.max }, q);
          const tolerance = (190 - -10) / GRID_BINS + (edges[bucket + 1]! - edges[bucket]!) / (2 * Number(HIST.counts[bucket]!)) + 1e-9;
          assert.ok(Math.abs((got as number) - want) <= tolerance, `q${q}: ${got} vs ${want}`);
        }
        assert.equal(e!.kind, 'exponential_histogram');
        assert.equal(e!.n, 10n);
        const ex = exponentialBuckets(EXPO);
        // scale 1: base √2; positive buckets (2, 2√2], (2√2, 4], (4, 4√2] after the zero bucket [0, 0].
        assert.deepEqual([...(e!.counts as Iterable<bigint>)], [2n, 0n, 3n, 4n, 1n]);
        assert.deepEqual([e!.gs, e!.ge], [0, 8]);
        const want = exactQuantile(ex, { count: 10n, min: 0, max: 4 }, 0.5);
        // The median falls in (2√2, 4], holding 4 values.
        assert.ok(Math.abs((e!.p50 as number) - want) <= 8 / GRID_BINS + (4 - 2 * Math.SQRT2) / 8 + 1e-9, `${e!.p50} vs ${want}`);
        const merged = await runQuery(engine, `SELECT count_from_histogram(sum_histograms(histogram)) AS n, variance_from_histogram(sum_histograms(histogram)) > 0 AS v
          FROM ${from} WHERE name = 'dur'`);
        assert.deepEqual(merged, [{ n: 20n, v: true }]);
        const bins = await runQuery(engine, `SELECT sum(count) AS n FROM expand_histogram((SELECT histogram FROM ${from} WHERE name = 'size'))`);
        assert.equal(bins[0]!.n, 10n);
      });

      test(`spans → otel_spans (${source})`, async () => {
        const from = source === 'global' ? 'otel_spans' : `view_instance('otel_spans', '${api.processId}')`;
        const rows = await runQuery(engine, `SELECT hex(trace_id) AS tr, hex(span_id) AS id, hex(parent_span_id) AS parent, name, kind, status, status_message, duration,
            jsonb_format_json(properties) AS props, jsonb_format_json(events) AS events, jsonb_format_json(links) AS links, exe
          FROM ${from} WHERE exe = 'shop/api' ORDER BY start_time`);
        assert.deepEqual(rows.map((r) => [r.tr, r.id, r.parent, r.name, r.kind, r.status, r.status_message, r.duration]), [
          [TRACE.toUpperCase(), ROOT.toUpperCase(), null, 'GET /x', 'SERVER', 'OK', null, 100_000_000n],
          [TRACE.toUpperCase(), CHILD.toUpperCase(), ROOT.toUpperCase(), 'query db', 'CLIENT', 'UNSET', null, 50_000_000n],
          [OTHER_TRACE.toUpperCase(), REMOTE.toUpperCase(), null, 'other', 'SERVER', 'UNSET', null, 10_000_000n],
        ]);
        assert.deepEqual(JSON.parse(rows[0]!.events as string), [{ attributes: { k: 'v' }, name: 'cache miss', time: Number(at(5)) }]);
        assert.deepEqual(JSON.parse(rows[1]!.links as string), [{ attributes: {}, span_id: REMOTE, trace_id: OTHER_TRACE }]);
        assert.equal(JSON.parse(rows[0]!.props as string)['otel.scope.name'], 'api.tracer');
      });
    }

    test('trace_spans returns the spans of both services, from the trace index', async () => {
      const rows = await runQuery(engine, `SELECT exe, name, hex(span_id) AS id, hex(parent_span_id) AS parent, status_message FROM trace_spans('${TRACE}')`);
      assert.deepEqual(rows.map((r) => [r.exe, r.name, r.id, r.parent, r.status_message]), [
        ['shop/api', 'GET /x', ROOT.toUpperCase(), null, null],
        ['shop/api', 'query db', CHILD.toUpperCase(), ROOT.toUpperCase(), null],
        ['shop/db', 'SELECT', REMOTE.toUpperCase(), CHILD.toUpperCase(), 'timeout'],
      ]);
      const other = await runQuery(engine, `SELECT count(*) AS n FROM trace_spans('${OTHER_TRACE.toUpperCase()}')`);
      assert.equal(other[0]!.n, 1n);
      const none = await runQuery(engine, `SELECT count(*) AS n FROM trace_spans('${'9'.repeat(32)}')`);
      assert.equal(none[0]!.n, 0n);
      // A time range outside the trace finds nothing; one inside finds it.
      const outside = await runQuery(engine, `SELECT count(*) AS n FROM trace_spans('${TRACE}')`, { begin: at(-3_600_000), end: at(-1_000_000) });
      assert.equal(outside[0]!.n, 0n);
      await assert.rejects(runQuery(engine, `SELECT * FROM trace_spans('xyz')`), /32 hex digits/);
      // The global view answers the same by predicate (row groups sorted by trace id).
      const byPredicate = await runQuery(engine, `SELECT count(*) AS n FROM otel_spans WHERE trace_id = unhex('${TRACE}')`);
      assert.equal(byPredicate[0]!.n, 3n);
      const index = await lake.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM otel_trace_index WHERE trace_id = decode($1, 'hex')`, [TRACE]);
      assert.equal(index.rows[0]!.n, '1');
    });

    test('a malformed OTLP block fails alone', async () => {
      assert.ok(warnings.some((w) => w.includes(badBlock)), warnings.join('\n'));
    });

    test('parse_block on OTLP blocks', async () => {
      const { rows: blocks } = await lake.db.query<{ block_id: string; format: string }>(
        `SELECT b.block_id::text AS block_id, s.format FROM blocks b JOIN streams s ON s.stream_id = b.stream_id WHERE b.block_id <> $1 ORDER BY s.format`, [badBlock]);
      const metrics = blocks.find((b) => b.format === 'otlp/v1/metrics')!;
      const rows = await runQuery(engine, `SELECT object_index, type_name, jsonb_format_json(value) AS v FROM parse_block('${metrics.block_id}') ORDER BY object_index`);
      assert.deepEqual(rows.map((r) => r.type_name), ['otlp.NumberDataPoint', 'otlp.NumberDataPoint', 'otlp.NumberDataPoint', 'otlp.SummaryDataPoint', 'otlp.HistogramDataPoint', 'otlp.HistogramDataPoint', 'otlp.ExponentialHistogramDataPoint']);
      const first = JSON.parse(rows[0]!.v as string);
      assert.equal(first.__type, 'otlp.NumberDataPoint');
      assert.deepEqual(first.__attributes, { route: '/x' });
      assert.equal(first.__metric.name, 'requests');
      assert.equal(first.__metric['otel.metric.kind'], 'sum');
      assert.equal(first.__scope['otel.scope.name'], 'db.meter');
      const logs = blocks.filter((b) => b.format === 'otlp/v1/logs')[0]!;
      const logRows = await runQuery(engine, `SELECT type_name, jsonb_format_json(value) AS v FROM parse_block('${logs.block_id}')`);
      assert.equal(logRows.length, 3);
      assert.deepEqual(JSON.parse(logRows[0]!.v as string).__resource, { 'service.name': 'api' });
      await assert.rejects(runQuery(engine, `SELECT * FROM parse_block('${badBlock}')`), /block/);
    });
  });
}

