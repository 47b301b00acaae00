// Upstream's extension functions through the real engine: telemetry recorded by two processes, ingested
// into a PGlite lake, materialized, then queried. Histogram results are checked against the recorded
// values computed here, JSONB paths against the recorded properties.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fmetric } from '@micromegas/tracing';
import { DEFAULT_GLOBAL_VIEWS, materializeGlobalViews, openLakehouse, type Lakehouse } from '../src/index.ts';
import { NS_PER_SECOND } from '../src/lakehouse/view.ts';
import { parseTimestampNanos } from '../src/time.ts';
import { QueryError, type QueryRequest } from '../src/query/engine.ts';
import { LakehouseQueryEngine } from '../src/query/lakehouse_engine.ts';
import { ingest, openTestLake, record, testProcessInfo, type TestLake } from './fixtures.ts';

const F64_MAX = 1.7976931348623157e308;
let nextId = 0;

async function runQuery(engine: LakehouseQueryEngine, sql: string): Promise<Record<string, unknown>[]> {
  const request: QueryRequest = { sql, caller: { name: 'test', admin: false }, queryId: `f${nextId++}` };
  const result = await engine.execute(request);
  const rows: Record<string, unknown>[] = [];
  for await (const b of result.batches) for (const r of b.toArray()) rows.push(r.toJSON() as Record<string, unknown>);
  return rows;
}

/** Deterministic values in roughly [-5, 105): some fall outside the [0, 100) histogram range. */
function latencies(seed: number, n: number): number[] {
  let x = seed;
  return Array.from({ length: n }, () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return Math.round(((x / 2147483648) * 110 - 5) * 1000) / 1000;
  });
}

/** The histogram as upstream's accumulator defines it, computed directly. */
function expectedHistogram(values: readonly number[], start: number, end: number, nbBins: number) {
  const bins = new Array<number>(nbBins).fill(0);
  const width = (end - start) / nbBins;
  for (const v of values) bins[Math.min(nbBins - 1, Math.max(0, Math.floor((v - start) / width)))]!++;
  return {
    min: Math.min(...values),
    max: Math.max(...values),
    sum: values.reduce((s, v) => s + v, 0),
    sumSq: values.reduce((s, v) => s + v * v, 0),
    count: values.length,
    bins,
  };
}

const close = (actual: unknown, expected: number, what: string) =>
  assert.ok(Math.abs((actual as number) - expected) <= 1e-9 * Math.max(1, Math.abs(expected)), `${what}: ${String(actual)} vs ${expected}`);

/** One row of a query whose histogram column h is unpacked into its fields. */
const HISTO_FIELDS = `h.start AS hstart, h."end" AS hend, h.min AS hmin, h.max AS hmax, h.sum AS hsum, h.sum_sq AS hsum_sq, h.count AS hcount, h.bins AS hbins`;

describe('extension functions on a PGlite lake', () => {
  let lake: TestLake;
  let house: Lakehouse;
  let engine: LakehouseQueryEngine;
  const processes: { id: string; host: string; values: number[] }[] = [];
  const q = (sql: string) => runQuery(engine, sql);
  const fails = async (sql: string, message: RegExp) => {
    const err = await q(sql).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof QueryError, `${sql}: expected a QueryError, got ${String(err)}`);
    assert.match(err.message, message, sql);
  };

  before(async () => {
    lake = await openTestLake('pglite');
    house = await openLakehouse(lake, { log: () => {} });
    for (const [i, host] of ['alpha', 'beta'].entries()) {
      const values = latencies(17 + i * 31, 300 + i * 100);
      const process = testProcessInfo({ properties: new Map([['version', '1.0'], ['host', host], ['Team', 'core']]) });
      const sink = await record(() => {
        values.forEach((v, j) => fmetric('latency', 'ms', v, { host, parity: j % 2 === 0 ? 'even' : 'odd' }));
        fmetric('other', 'ms', 1e6);
      }, process);
      await ingest(lake, sink);
      processes.push({ id: process.processId, host, values });
    }
    const { rows } = await lake.db.query<{ lo: string; hi: string }>('SELECT min(insert_time) AS lo, max(insert_time) AS hi FROM blocks');
    const begin = parseTimestampNanos(rows[0]!.lo) - (parseTimestampNanos(rows[0]!.lo) % NS_PER_SECOND);
    const end = parseTimestampNanos(rows[0]!.hi) - (parseTimestampNanos(rows[0]!.hi) % NS_PER_SECOND) + NS_PER_SECOND;
    await materializeGlobalViews(house, DEFAULT_GLOBAL_VIEWS, begin, end, NS_PER_SECOND);
    engine = new LakehouseQueryEngine(house, { memoryLimit: '256MB', threads: 1 });
  });
  after(async () => {
    await engine.close();
    await house.close();
    await lake.drop();
  });

  test('make_histogram of a metric matches the recorded values', async () => {
    const all = processes.flatMap((p) => p.values);
    const stored = (await q(`SELECT value FROM measures WHERE name = 'latency'`)).map((r) => r.value as number);
    assert.deepEqual([...stored].sort((a, b) => a - b), [...all].sort((a, b) => a - b), 'the engine reads the recorded values');
    const [row] = await q(`SELECT ${HISTO_FIELDS}, quantile_from_histogram(h, 0.5) AS p50, quantile_from_histogram(h, 0.9) AS p90,
      variance_from_histogram(h) AS var, count_from_histogram(h) AS n, sum_from_histogram(h) AS s
      FROM (SELECT make_histogram(0.0, 100.0, 20, value) AS h FROM measures WHERE name = 'latency')`);
    const want = expectedHistogram(all, 0, 100, 20);
    assert.equal(row!.hstart, 0);
    assert.equal(row!.hend, 100);
    assert.equal(row!.hmin, want.min);
    assert.equal(row!.hmax, want.max);
    close(row!.hsum, want.sum, 'sum');
    close(row!.hsum_sq, want.sumSq, 'sum_sq');
    assert.equal(row!.hcount, BigInt(want.count));
    assert.deepEqual(Array.from(row!.hbins as Iterable<bigint>, Number), want.bins);
    assert.equal(row!.n, BigInt(want.count));
    close(row!.s, want.sum, 'sum_from_histogram');
    // Sample variance of the values themselves.
    const mean = want.sum / want.count;
    close(row!.var, all.reduce((s, v) => s + (v - mean) ** 2, 0) / (want.count - 1), 'variance');
    // Quantile estimates land within one bin of the exact quantile of the in-range values.
    const sorted = [...all].sort((a, b) => a - b);
    for (const [q, got] of [[0.5, row!.p50], [0.9, row!.p90]] as const) {
      const exact = sorted[Math.ceil(q * sorted.length) - 1]!;
      assert.ok(Math.abs((got as number) - exact) <= 100 / 20, `p${q * 100}: ${String(got)} vs ${exact}`);
    }
    // Bounds as runtime expressions (a CTE joined in), values filtered on a property.
    const parityValues = (even: boolean) => processes.flatMap((p) => p.values.filter((_, j) => (j % 2 === 0) === even));
    const evenRow = (await q(`WITH b AS (SELECT min(value) AS lo, max(value) AS hi FROM measures WHERE name = 'latency')
      SELECT ${HISTO_FIELDS} FROM (SELECT make_histogram(b.lo, b.hi, 7, m.value) AS h
        FROM measures m CROSS JOIN b WHERE m.name = 'latency' AND property_get(m.properties, 'parity') = 'even' GROUP BY b.lo, b.hi)`))[0]!;
    const evenWant = expectedHistogram(parityValues(true), Math.min(...all), Math.max(...all), 7);
    assert.deepEqual(Array.from(evenRow.hbins as Iterable<bigint>, Number), evenWant.bins);
    assert.equal(evenRow.hmin, evenWant.min);
  });

  test('sum_histograms merges per-process histograms', async () => {
    const perProcess = await q(`SELECT process_id, ${HISTO_FIELDS} FROM (SELECT process_id, make_histogram(0.0, 100.0, 10, value) AS h
      FROM measures WHERE name = 'latency' GROUP BY process_id) ORDER BY process_id`);
    assert.equal(perProcess.length, 2);
    for (const r of perProcess) {
      const p = processes.find((x) => x.id === r.process_id)!;
      assert.deepEqual(Array.from(r.hbins as Iterable<bigint>, Number), expectedHistogram(p.values, 0, 100, 10).bins, p.host);
    }
    const [merged] = await q(`SELECT ${HISTO_FIELDS}, quantile_from_histogram(h, 0.25) AS p25 FROM (SELECT sum_histograms(h) AS h FROM
      (SELECT process_id, make_histogram(0.0, 100.0, 10, value) AS h FROM measures WHERE name = 'latency' GROUP BY process_id))`);
    const want = expectedHistogram(processes.flatMap((p) => p.values), 0, 100, 10);
    assert.deepEqual(Array.from(merged!.hbins as Iterable<bigint>, Number), want.bins);
    assert.equal(merged!.hcount, BigInt(want.count));
    assert.equal(merged!.hmin, want.min);
    assert.equal(merged!.hmax, want.max);
    close(merged!.hsum, want.sum, 'merged sum');
    close(merged!.hsum_sq, want.sumSq, 'merged sum_sq');
    // The same estimate as from one histogram of all values.
    const [single] = await q(`SELECT quantile_from_histogram(make_histogram(0.0, 100.0, 10, value), 0.25) AS p25 FROM measures WHERE name = 'latency'`);
    assert.equal(merged!.p25, single!.p25);
    await fails(`SELECT sum_histograms(h) FROM (SELECT process_id, make_histogram(0.0, CASE WHEN process_id = '${processes[0]!.id}' THEN 100.0 ELSE 50.0 END, 10, value) AS h
      FROM measures WHERE name = 'latency' GROUP BY process_id)`, /Error merging incompatible histograms/);
  });

  test('histogram edge cases: quantile walk, empty and invalid histograms', async () => {
    // Values 1..4 in 4 bins of [0, 4): the median (target 2) ends bin 1 exactly, the 0.625 quantile
    // (target 2.5) is half-way through bin 2.
    const [r] = await q(`SELECT quantile_from_histogram(h, 0.5) AS p50, quantile_from_histogram(h, 0.625) AS p62, quantile_from_histogram(h, 1.0) AS p100,
      quantile_from_histogram(h, 0.0) AS p0, variance_from_histogram(h) AS var, h.bins AS bins
      FROM (SELECT make_histogram(0.0, 4.0, 4, v) AS h FROM (VALUES (0.5), (1.5), (2.5), (3.5)) t(v))`);
    assert.deepEqual(Array.from(r!.bins as Iterable<bigint>, Number), [1, 1, 1, 1]);
    assert.equal(r!.p50, 2);
    assert.equal(r!.p62, 2.5);
    assert.equal(r!.p100, 4);
    assert.equal(r!.p0, 0);
    close(r!.var, 5 / 3, 'variance of 0.5..3.5');
    const [empty] = await q(`SELECT ${HISTO_FIELDS} FROM (SELECT make_histogram(0.0, 10.0, 3, CAST(NULL AS DOUBLE)) AS h FROM measures WHERE name = 'other')`);
    assert.deepEqual({ ...empty }, { hstart: 0, hend: 10, hmin: F64_MAX, hmax: -F64_MAX, hsum: 0, hsum_sq: 0, hcount: 0n, hbins: empty!.hbins });
    assert.deepEqual(Array.from(empty!.hbins as Iterable<bigint>, Number), [0, 0, 0]);
    const [none] = await q(`SELECT make_histogram(0.0, 10.0, 3, value) IS NULL AS n, (SELECT sum_histograms(h) FROM (SELECT make_histogram(0.0, 1.0, 2, value) AS h FROM measures WHERE name = 'nope')) IS NULL AS s FROM measures WHERE name = 'nope'`);
    assert.deepEqual({ ...none }, { n: true, s: true });
    await fails(`SELECT make_histogram(0.0, 10.0, 0, value) FROM measures`, /nb_bins must be >= 1/);
    await fails(`SELECT make_histogram(10.0, 0.0, 3, value) FROM measures`, /must be <= end/);
    await fails(`SELECT make_histogram(value, 1000.0, 3, value) FROM measures WHERE name = 'latency'`, /bounds\/bins changed/);
  });

  test('jsonb path queries and keys over property columns', async () => {
    const alpha = processes.find((p) => p.host === 'alpha')!;
    const rows = await q(`SELECT jsonb_as_string(jsonb_path_query_first(properties, '$.host')) AS host,
        jsonb_format_json(jsonb_path_query(properties, '$.*')) AS all_values,
        jsonb_object_keys(properties) AS keys,
        jsonb_path_query_first(properties, '$.missing') IS NULL AS missing,
        jsonb_format_json(jsonb_path_query(properties, '$.missing')) AS none
      FROM processes WHERE process_id = '${alpha.id}'`);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.host, 'alpha');
    assert.equal(rows[0]!.all_values, '["core","alpha","1.0"]');
    assert.deepEqual(Array.from(rows[0]!.keys as Iterable<string>), ['Team', 'host', 'version']);
    assert.equal(rows[0]!.missing, true);
    assert.equal(rows[0]!.none, '[]');
    // Metric properties: filters on the object itself select rows.
    const even = await q(`SELECT count(*) AS n FROM measures WHERE name = 'latency'
      AND jsonb_path_query_first(properties, '$ ? (@.parity == "even" && @.host != "beta")') IS NOT NULL`);
    assert.deepEqual(even, [{ n: BigInt(Math.ceil(alpha.values.length / 2)) }]);
    const doc = `jsonb_parse('{"items":[{"name":"a","n":1,"tags":["x"]},{"name":"b","n":5},{"name":"c","n":10,"tags":["x","y"]}],"k":{"n":3}}')`;
    const cases: [string, string | null][] = [
      ['$.items[*] ? (@.n > 2 && @.n <= 10).name', '["b","c"]'],
      ['$.items[*] ? (@.name == "a" || @.n >= 10).n', '[1,10]'],
      ['$.items[*] ? (@.tags == "y").name', '["c"]'],
      ['$.items[*] ? (exists(@.tags)).name', '["a","c"]'],
      ['$.items[last].name', '["c"]'],
      ['$.items[0 to 1].n', '[1,5]'],
      ['$.items[2, 0].name', '["c","a"]'],
      ['$.items ? (@.n > 2)', '[]'],
      ['$.**.n', '[1,5,10,3]'], // depth first, keys in stored (sorted) order
      ['$.items[*].name ? (@ starts with "b")', '["b"]'],
      ['$.items[*] ? (@.name != 1).n', '[1,5,10]'],
      ['$.k.n == 3', '[true]'],
      ['$."k"["n"]', '[3]'],
    ];
    for (const [path, want] of cases) {
      const [r] = await q(`SELECT jsonb_format_json(jsonb_path_query(${doc}, '${path}')) AS j`);
      assert.equal(r!.j, want, path);
    }
    const [first] = await q(`SELECT jsonb_format_json(jsonb_path_query_first(${doc}, '$.items[*].name')) AS j`);
    assert.equal(first!.j, '"a"');
    await fails(`SELECT jsonb_path_query(properties, '$.[') FROM processes`, /invalid JSONPath '\$\.\['/);
  });

  test('properties_to_jsonb, properties_to_dict/array and the legacy key/value lists', async () => {
    const list = `[{'key': 'b', 'value': '2'}, {'key': 'A', 'value': '1'}, {'key': 'b', 'value': '3'}]`;
    const [r] = await q(`SELECT jsonb_format_json(properties_to_jsonb(${list})) AS from_list,
        property_get(${list}, 'a') AS from_list_ci, properties_length(${list}) AS len,
        property_get(properties_to_dict(${list}), 'b') AS dict,
        jsonb_format_json(properties_to_jsonb(properties)) AS passthrough,
        properties_to_jsonb(properties) = properties AS same_bytes,
        property_get(properties_to_array(properties), 'TEAM') AS team
      FROM processes WHERE process_id = '${processes[1]!.id}'`);
    assert.deepEqual({ ...r }, {
      from_list: '{"A":"1","b":"3"}',
      from_list_ci: '1',
      len: 3,
      dict: '2',
      passthrough: '{"Team":"core","host":"beta","version":"1.0"}',
      same_bytes: true,
      team: 'core',
    });
    await fails(`SELECT property_get(42, 'x')`, /unsupported properties type/);
  });

  test('colors and math helpers', async () => {
    const [r] = await q(`SELECT rgba(1, 0, 0, 1) AS red, rgba(0.5, 0.5, 0.5, 1) AS grey, rgba(2, -1, 'nan'::DOUBLE, 0.5) AS clamped,
        lerp_color(CAST(4278190080 AS UINTEGER), CAST(16711680 AS UINTEGER), 0.5) AS mid, lerp_color(rgba(0, 0, 0, 0), rgba(1, 1, 1, 1), 7) AS t_clamped,
        lerp(10, 20, 0.25) AS l, lerp(10, 20, 1.5) AS l_out, unlerp(10, 20, 12.5) AS u, unlerp(1, 1, 2) AS u_inf,
        bin_center(0, 10) AS b0, bin_center(4.9, 10) AS b1, bin_center(5, 10) AS b2, bin_center(-5.1, 10) AS b3, rgba(NULL, 0, 0, 1) AS n`);
    assert.deepEqual({ ...r }, {
      red: 0xff0000ff, grey: 0x808080ff, clamped: 0xff000080, mid: 0x80800000, t_clamped: 0xffffffff,
      l: 12.5, l_out: 25, u: 0.25, u_inf: Infinity, b0: 0, b1: 0, b2: 10, b3: -10, n: null,
    });
    // Colormap stops at t = 0, 0.1, …, 1 exactly as upstream's documentation lists them.
    const stops: Record<string, string> = {
      viridis: '440154 482475 404387 345f8d 29788e 20908c 22a884 42be70 79d151 bbde27 fde725',
      magma: '000004 140e37 3b0f6f 641a80 8c2981 b53679 dd4968 f66e5b fe9f6d fece91 fcfdbf',
      plasma: '0d0887 41039d 6a00a8 900da3 b12a90 cb4678 e16462 f1834b fca636 fccd25 f0f921',
      inferno: '000004 170b3a 420a67 6b176e 932567 bb3654 dc5139 f3761a fca40a f6d644 fcffa4',
      cividis: '002051 0a316a 2a436d 4c566d 68686f 7f7b74 948f78 aca375 cab969 e9d156 fde945',
      turbo: '22171b 4957dc 2f9df4 27d6c3 4cf883 94fa50 dedc32 ffa422 f55e17 ba2108 900c00',
    };
    for (const [name, hexes] of Object.entries(stops)) {
      const got = await q(`SELECT color_scale('${name.toUpperCase()}', i / 10.0, 1.0) AS c FROM range(11) t(i) ORDER BY i`);
      assert.ok(got.every((r) => ((r.c as number) & 0xff) === 0xff), 'alpha');
      assert.equal(got.map((r) => ((r.c as number) >>> 8).toString(16).padStart(6, '0')).join(' '), hexes, name);
    }
    const [ends] = await q(`SELECT color_scale('viridis', -3, 0) AS lo, color_scale('viridis', 'nan'::DOUBLE, 0) AS nan, color_scale('viridis', 0, 0) AS zero`);
    assert.equal(ends!.lo, 0x44015400);
    assert.equal(ends!.nan, 0x44015400);
    await fails(`SELECT color_scale('jet', 0.5, 1)`, /unknown colormap 'jet'. Recognized: viridis, magma, plasma, inferno, cividis, turbo/);
  });
});
