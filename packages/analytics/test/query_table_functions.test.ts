import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { info, spanScope, imetric } from '@micromegas/tracing';
import { DEFAULT_GLOBAL_VIEWS, materializeGlobalViews, openLakehouse, type Lakehouse } from '../src/index.ts';
import { NS_PER_SECOND } from '../src/lakehouse/view.ts';
import { formatTimestampNanos, parseTimestampNanos } from '../src/time.ts';
import { QueryError, type QueryRequest } from '../src/query/engine.ts';
import { LakehouseQueryEngine } from '../src/query/lakehouse_engine.ts';
import { ingest, openTestLake, record, type TestLake } from './fixtures.ts';

const trunc = (t: bigint, d: bigint) => t - (t % d);
let nextId = 0;

describe('table functions on pglite', () => {
  let lake: TestLake;
  let house: Lakehouse;
  let engine: LakehouseQueryEngine;
  let processId: string;
  let cpuStream: string;
  let begin: bigint;
  let end: bigint;
  const caller = { name: 'test', admin: false };
  const run = async (e: LakehouseQueryEngine, sql: string, extra: Partial<QueryRequest> = {}) => {
    const result = await e.execute({ sql, caller, queryId: `t${nextId++}`, ...extra });
    const rows: Record<string, unknown>[] = [];
    for await (const b of result.batches) rows.push(...b.toArray().map((r) => r.toJSON() as Record<string, unknown>));
    return rows;
  };
  const q = (sql: string, extra: Partial<QueryRequest> = {}) => run(engine, sql, extra);
  const fails = async (sql: string, message: RegExp, extra: Partial<QueryRequest> = {}, e = engine) => {
    const err = await run(e, sql, extra).then(() => undefined, (x: unknown) => x);
    assert.ok(err instanceof QueryError, `${sql}: expected a QueryError, got ${String(err)}`);
    assert.equal(err.kind, 'invalid_argument', err.message);
    assert.match(err.message, message);
  };
  const wide = () => ({ begin: 0n, end: end + 3600n * NS_PER_SECOND });
  const pgCount = async (sql: string, params: unknown[] = []) => Number((await lake.db.query<{ n: string }>(sql, params)).rows[0]!.n);

  before(async () => {
    lake = await openTestLake('pglite');
    house = await openLakehouse(lake, { log: () => {} });
    const sink = await record(() => {
      for (let i = 0; i < 50; i++) {
        info('event {}', i);
        imetric('requests', 'count', i);
        spanScope('outer', () => spanScope('inner', () => {}));
      }
    });
    processId = sink.process!.processId;
    await ingest(lake, sink);
    const { rows } = await lake.db.query<{ lo: string; hi: string }>('SELECT min(insert_time) AS lo, max(insert_time) AS hi FROM blocks');
    begin = trunc(parseTimestampNanos(rows[0]!.lo), NS_PER_SECOND);
    end = trunc(parseTimestampNanos(rows[0]!.hi), NS_PER_SECOND) + NS_PER_SECOND;
    await materializeGlobalViews(house, DEFAULT_GLOBAL_VIEWS, begin, end, NS_PER_SECOND);
    cpuStream = (await lake.db.query<{ stream_id: string }>(`SELECT stream_id::text FROM streams WHERE 'cpu' = ANY(tags)`)).rows[0]!.stream_id;
    engine = new LakehouseQueryEngine(house, { memoryLimit: '256MB', threads: 1, prewarm: 0 });
  });
  after(async () => {
    await engine.close();
    await house.close();
    await lake.drop();
  });

  test('list_view_sets and list_partitions', async () => {
    const sets = await q('SELECT view_set_name, global_instance_available AS g, has_view_maker AS m FROM list_view_sets()');
    assert.deepEqual(sets.map((r) => r.view_set_name), ['blocks', 'processes', 'streams', 'log_entries', 'measures', 'otel_spans', 'histograms', 'log_stats', 'thread_spans', 'async_events', 'net_spans', 'images']);
    assert.deepEqual(sets.find((r) => r.view_set_name === 'thread_spans'), { view_set_name: 'thread_spans', g: false, m: true });
    const parts = await q(`SELECT count(*) AS n, sum(num_rows) AS rows FROM list_partitions() WHERE view_set_name = 'log_entries' AND view_instance_id = 'global'`);
    const expected = await pgCount(`SELECT count(*) AS n FROM lakehouse_partitions WHERE view_set_name = 'log_entries'`);
    assert.deepEqual(parts, [{ n: BigInt(expected), rows: 50n }]);
    const one = await q(`SELECT epoch_ns(begin_insert_time) AS b, partition_format_version AS v, octet_length(source_data_hash) AS h FROM list_partitions() WHERE view_set_name = 'blocks' ORDER BY begin_insert_time LIMIT 1`);
    assert.deepEqual(one, [{ b: begin, v: 2, h: 8n }]);
  });

  test('jsonb_each, jsonb_array_elements, expand_histogram with literal and subquery arguments', async () => {
    const each = await q(`SELECT key, jsonb_format_json(value) AS v FROM jsonb_each(jsonb_parse('{"b": [1, 2], "a": "x"}')) ORDER BY key`);
    assert.deepEqual(each, [{ key: 'a', v: '"x"' }, { key: 'b', v: '[1,2]' }]);
    const props = await q(`SELECT key, jsonb_as_string(value) AS v FROM jsonb_each((SELECT properties FROM processes LIMIT 1))`);
    assert.deepEqual(props, [{ key: 'version', v: '1.0' }]);
    const arr = await q(`SELECT jsonb_format_json(value) AS v FROM jsonb_array_elements(jsonb_parse('[1, "two", {"x": 3}]'))`);
    assert.deepEqual(arr.map((r) => r.v), ['1', '"two"', '{"x":3}']);
    const nested = await q(`SELECT count(*) AS n FROM jsonb_array_elements((SELECT value FROM jsonb_each(jsonb_parse('{"b": [1, 2, 3]}'))))`);
    assert.deepEqual(nested, [{ n: 3n }]);
    const hist = await q(`SELECT bin_center, count FROM expand_histogram({'start': 0.0, 'end': 10.0, 'min': 1.0, 'max': 9.0, 'sum': 20.0, 'sum_sq': 100.0, 'count': 6, 'bins': [1, 2, 3]})`);
    assert.deepEqual(hist.map((r) => [Number((r.bin_center as number).toFixed(6)), r.count]), [[1.666667, 1n], [5, 2n], [8.333333, 3n]]);
    await fails(`SELECT * FROM jsonb_array_elements(jsonb_parse('{"a": 1}'))`, /jsonb_array_elements: input is not a JSONB array/);
    await fails(`SELECT * FROM jsonb_each(jsonb_parse('3'))`, /jsonb_each: input is not a JSONB object or array/);
  });

  test('parse_block and get_payload', async () => {
    const block = (await lake.db.query<{ block_id: string; object_offset: string; nb_objects: number; stream_id: string }>(
      `SELECT b.block_id::text, b.object_offset::text, b.nb_objects, b.stream_id::text FROM blocks b JOIN streams s USING (stream_id) WHERE 'log' = ANY(s.tags) ORDER BY b.insert_time LIMIT 1`,
    )).rows[0]!;
    const rows = await q(`SELECT object_index, type_name, jsonb_as_string(jsonb_get(value, '__type')) AS t, jsonb_as_string(jsonb_get(value, 'msg')) AS msg FROM parse_block('${block.block_id}') ORDER BY object_index`);
    assert.equal(rows.length, block.nb_objects);
    assert.equal(rows[0]!.object_index, BigInt(block.object_offset));
    assert.equal(rows[0]!.t, rows[0]!.type_name);
    assert.ok(rows.some((r) => String(r.msg).startsWith('event')), String(rows[0]!.msg));
    await fails(`SELECT * FROM parse_block('nope')`, /parse_block: 'nope' is not a valid block id/);
    await fails(`SELECT * FROM parse_block('${block.block_id}')`, /not found in `blocks` for the queried range/, { begin: 0n, end: 1n });
    const blob = (await lake.blobs.get(`blobs/${processId}/${block.stream_id}/${block.block_id}`))!;
    const literal = await q(`SELECT octet_length(get_payload('${processId}', '${block.stream_id}', '${block.block_id}')) AS n`);
    assert.deepEqual(literal, [{ n: BigInt(blob.length) }]);
    // Per-row arguments: every block of the process, each with its own payload.
    const perRow = await q(`SELECT block_id, octet_length(get_payload(process_id, stream_id, block_id)) AS n FROM blocks ORDER BY block_id`);
    const total = await pgCount('SELECT count(*) AS n FROM blocks');
    assert.equal(perRow.length, total);
    assert.deepEqual(perRow.find((r) => r.block_id === block.block_id), { block_id: block.block_id, n: BigInt(blob.length) });
  });

  test('process_spans: thread spans with stream and thread name, async, argument errors', async () => {
    const spans = await q(`SELECT stream_id, thread_name, name, count(*) AS n FROM process_spans('${processId}', 'thread') WHERE depth > 0 GROUP BY ALL ORDER BY name`, wide());
    assert.equal(spans.length, 2);
    for (const s of spans) {
      assert.equal(s.stream_id, cpuStream);
      assert.equal(s.n, 50n);
      assert.ok(typeof s.thread_name === 'string' && (s.thread_name as string).length > 0);
    }
    const all = await q(`SELECT count(*) AS n FROM process_spans('${processId}', 'both')`, wide());
    const threads = await q(`SELECT count(*) AS n FROM view_instance('thread_spans', '${cpuStream}')`, wide());
    const asyncRows = await q(`SELECT count(*) AS n FROM process_spans('${processId}', 'async')`, wide());
    assert.equal(all[0]!.n, (threads[0]!.n as bigint) + (asyncRows[0]!.n as bigint));
    await fails(`SELECT * FROM process_spans('${processId}', 'both')`, /query range mandatory for thread spans view/);
    await fails(`SELECT * FROM process_spans('${processId}', 'nope')`, /span_types must be 'thread', 'async', or 'both', given: nope/, wide());
    await fails(`SELECT * FROM process_spans('abc', 'thread')`, /must be a valid UUID/, wide());
  });

  test('admin functions change the catalog', async () => {
    const logParts = async () => (await q(`SELECT file_path FROM list_partitions() WHERE view_set_name = 'log_entries' AND view_instance_id = 'global' ORDER BY file_path`)).map((r) => r.file_path as string);
    const before = await logParts();
    assert.ok(before.length > 0);
    assert.deepEqual(await q(`SELECT retire_partition_by_file('${before[0]}') AS r`), [{ r: `SUCCESS: Retired partition ${before[0]}` }]);
    assert.deepEqual(await logParts(), before.slice(1));
    assert.deepEqual(await q(`SELECT retire_partition_by_file('${before[0]}') AS r`), [{ r: `ERROR: Partition not found: ${before[0]}` }]);
    assert.equal(await pgCount('SELECT count(*) AS n FROM temporary_files WHERE file_path = $1', [before[0]]), 1);

    // retire_partitions: the rest of the view, with a log of what it did.
    const b = formatTimestampNanos(begin);
    const e = formatTimestampNanos(end);
    const log = await q(`SELECT msg FROM retire_partitions('log_entries', 'global', '${b}', TIMESTAMP '${e.replace('T', ' ').replace('Z', '')}')`);
    assert.match(log[0]!.msg as string, new RegExp(`^\\[RETIRE_FOUND\\] view=log_entries/global .* found_partitions=${before.length - 1}$`));
    assert.equal(log.length, before.length);
    assert.deepEqual(await logParts(), []);
    assert.deepEqual(await q('SELECT count(*) AS n FROM log_entries'), [{ n: 0n }]);

    // materialize_partitions rebuilds them from source.
    const mat = await q(`SELECT msg FROM materialize_partitions('log_entries', '${b}', '${e}', 1)`);
    assert.ok(mat.length > 0 && mat.every((r) => !String(r.msg).startsWith('Error')), JSON.stringify(mat));
    assert.ok((await logParts()).length > 0);
    assert.deepEqual(await q('SELECT count(*) AS n FROM log_entries'), [{ n: 50n }]);
    const again = await q(`SELECT msg FROM materialize_partitions('nope', '${b}', '${e}', 1)`);
    assert.deepEqual(again.map((r) => r.msg), [`Error: can't find view nope`]);

    // regenerate_partitions: the delta must tile the range.
    await fails(`SELECT * FROM regenerate_partitions('measures', '${b}', '${formatTimestampNanos(end + NS_PER_SECOND / 2n)}', 1)`, /does not exactly tile the requested range/);
    const regen = await q(`SELECT msg FROM regenerate_partitions('measures', '${b}', '${e}', 1)`);
    assert.equal(regen.length, Number((end - begin) / NS_PER_SECOND));
    assert.deepEqual(await q('SELECT count(*) AS n FROM measures'), [{ n: 50n }]);

    // Per-row retire_partition_by_metadata over list_partitions(): every measures partition goes.
    const n = await pgCount(`SELECT count(*) AS n FROM lakehouse_partitions WHERE view_set_name = 'measures'`);
    const retired = await q(`SELECT retire_partition_by_metadata(view_set_name, view_instance_id, begin_insert_time, end_insert_time) AS r FROM list_partitions() WHERE view_set_name = 'measures'`);
    assert.equal(retired.length, n);
    assert.ok(retired.every((r) => /^SUCCESS: Retired partition measures\/global \[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d.* UTC, .* UTC\)$/.test(r.r as string)), JSON.stringify(retired));
    assert.equal(await pgCount(`SELECT count(*) AS n FROM lakehouse_partitions WHERE view_set_name = 'measures'`), 0);
    const missing = await q(`SELECT retire_partition_by_metadata('measures', 'global', '${b}', '${e}') AS r`);
    assert.match(missing[0]!.r as string, /^ERROR: Partition not found: measures\/global \[/);
  });

  test('admin functions are refused to non-admins when an admin principal is possible', async () => {
    const gated = new LakehouseQueryEngine(house, { memoryLimit: '256MB', threads: 1, prewarm: 0, adminPossible: true });
    try {
      await fails(`SELECT retire_partition_by_file('x') AS r`, /Invalid function 'retire_partition_by_file'/, {}, gated);
      await fails(`SELECT * FROM materialize_partitions('log_entries', '2024-01-01T00:00:00Z', '2024-01-01T00:00:01Z', 1)`, /Invalid function 'materialize_partitions'/, {}, gated);
      // Reading functions stay open; admins may do everything.
      assert.equal((await run(gated, 'SELECT count(*) AS n FROM list_view_sets()'))[0]!.n, 12n);
      const asAdmin = await run(gated, `SELECT retire_partition_by_file('x') AS r`, { caller: { name: 'root', admin: true } });
      assert.deepEqual(asAdmin, [{ r: 'ERROR: Partition not found: x' }]);
    } finally {
      await gated.close();
    }
    // The default (API keys only): every caller may.
    assert.deepEqual(await q(`SELECT retire_partition_by_file('x') AS r`), [{ r: 'ERROR: Partition not found: x' }]);
  });

  test('schema discovery has the functions\' types and no side effects', async () => {
    const before = await pgCount('SELECT count(*) AS n FROM lakehouse_partitions');
    const schema = await engine.schemaOf({ sql: `SELECT * FROM retire_partitions('blocks', 'global', '2000-01-01T00:00:00Z', '2100-01-01T00:00:00Z')`, caller, queryId: 's1' });
    assert.deepEqual(schema.fields.map((f) => f.name), ['time', 'msg']);
    assert.equal(await pgCount('SELECT count(*) AS n FROM lakehouse_partitions'), before);
    const lp = await engine.schemaOf({ sql: 'SELECT * FROM list_partitions()', caller, queryId: 's2' });
    assert.equal(lp.fields.length, 15);
  });
});
