// The OTLP path end to end: export requests through the ingestion service's OTLP ingestor (as the
// /ingestion/otlp/v1/* routes store them), then the daemon's global views and trace_spans.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { RecordBatch } from 'apache-arrow';
import { IngestionService, OtlpIngestor } from '@micromegas/ingestion';
import { encodeExportTraceRequest } from '@micromegas/otlp';
import { currentPartitions, DEFAULT_GLOBAL_VIEWS, materializeGlobalViews, openLakehouse, type Lakehouse } from '../src/index.ts';
import { NS_PER_HOUR, NS_PER_MINUTE } from '../src/lakehouse/view.ts';
import { otelSpansView } from '../src/otel/views.ts';
import { LakehouseQueryEngine } from '../src/query/lakehouse_engine.ts';
import { openTestLake, type TestLake } from './fixtures.ts';
import { kv, msToNs } from './otel_helpers.ts';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const bytes = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));
const t0 = msToNs(Date.now() - 10_000);
let lake: TestLake;
let house: Lakehouse;
let engine: LakehouseQueryEngine;

before(async () => {
  lake = await openTestLake('pglite');
  house = await openLakehouse(lake, { log: () => {} });
  const ingestor = new OtlpIngestor(new IngestionService(lake));
  const service = (name: string, id: string, parent: string, start: number) => ({
    resource: { attributes: [kv('service.name', name), kv('host.name', 'h')] },
    scopeSpans: [{ scope: { name: `${name}.tracer` }, spans: [{ traceId: bytes(TRACE), spanId: bytes(id), parentSpanId: parent ? bytes(parent) : new Uint8Array(), name: `${name} work`, kind: 2, startTimeUnixNano: t0 + msToNs(start), endTimeUnixNano: t0 + msToNs(start + 5) }] }],
  });
  await ingestor.ingest('traces', encodeExportTraceRequest({ resourceSpans: [service('front', 'aaaaaaaaaaaaaaaa', '', 0), service('back', 'bbbbbbbbbbbbbbbb', 'aaaaaaaaaaaaaaaa', 1)] }));
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

test('spans ingested over OTLP from two services come back from one trace_spans query', async () => {
  const result = await engine.execute({ sql: `SELECT exe, name, hex(parent_span_id) AS parent FROM trace_spans('${TRACE}')`, caller: { name: 't', admin: false }, queryId: 'otlp1' });
  const batches: RecordBatch[] = [];
  for await (const b of result.batches) batches.push(b);
  const rows = batches.flatMap((b) => b.toArray().map((r) => r.toJSON()));
  assert.deepEqual(rows, [
    { exe: 'front', name: 'front work', parent: null },
    { exe: 'back', name: 'back work', parent: 'AAAAAAAAAAAAAAAA' },
  ]);
});

test('trace_spans finds a trace in a merged hour partition (dictionary-encoded trace ids with a Bloom filter)', async () => {
  // 40 traces × 50 spans in two blocks of two minutes of an old hour, merged by DuckDB into one hour
  // file: trace_id gets a dictionary and a Bloom filter there, which DuckDB 1.5.6 probes wrongly.
  const hour = msToNs(Date.now()) - (msToNs(Date.now()) % NS_PER_HOUR) - 5n * NS_PER_HOUR;
  const traces = Array.from({ length: 40 }, (_, i) => (i + 1).toString(16).padStart(2, '0').repeat(16));
  const ingestor = new OtlpIngestor(new IngestionService(lake));
  for (const half of [0, 1]) {
    const spans = traces.flatMap((t, ti) => Array.from({ length: 25 }, (_, k) => ({
      traceId: bytes(t), spanId: bytes((half * 25 + k + 1).toString(16).padStart(4, '0') + ti.toString(16).padStart(12, '0')), name: `s${k}`, kind: 1,
      startTimeUnixNano: hour + msToNs(half * 60_000 + k), endTimeUnixNano: hour + msToNs(half * 60_000 + k + 1),
    })));
    await ingestor.ingest('traces', encodeExportTraceRequest({ resourceSpans: [{ resource: { attributes: [kv('service.name', `merged${half}`)] }, scopeSpans: [{ spans }] }] }));
    await lake.db.query(`UPDATE blocks SET insert_time = end_time + interval '1 second' WHERE process_id IN (SELECT process_id FROM processes WHERE exe = $1)`, [`merged${half}`]);
  }
  await materializeGlobalViews(house, [otelSpansView], hour, hour + NS_PER_HOUR, NS_PER_MINUTE);
  await materializeGlobalViews(house, [otelSpansView], hour, hour + NS_PER_HOUR, NS_PER_HOUR);
  const parts = await currentPartitions(house, { setName: 'otel_spans', instanceId: 'global', schemaHash: otelSpansView.schemaHash }, { begin: hour, end: hour + NS_PER_HOUR });
  assert.deepEqual(parts.map((p) => p.endInsertTime - p.beginInsertTime), [NS_PER_HOUR], 'one merged hour partition');
  const result = await engine.execute({ sql: `SELECT count(*)::INT AS n, count(DISTINCT exe)::INT AS services FROM trace_spans('${traces[17]}')`, caller: { name: 't', admin: false }, queryId: 'otlp-merged' });
  const rows: unknown[] = [];
  for await (const b of result.batches) rows.push(...b.toArray().map((r) => r.toJSON()));
  assert.deepEqual(rows, [{ n: 50, services: 2 }]);
  // A user's own equality filter on the view finds the same rows (merged files carry no Bloom filter).
  const plain = await engine.execute({ sql: `SELECT count(*)::INT AS n FROM otel_spans WHERE trace_id = unhex('${traces[17]}')`, begin: hour, end: hour + NS_PER_HOUR, caller: { name: 't', admin: false }, queryId: 'otlp-merged-eq' });
  const counted: unknown[] = [];
  for await (const b of plain.batches) counted.push(...b.toArray().map((r) => r.toJSON()));
  assert.deepEqual(counted, [{ n: 50 }]);
});
