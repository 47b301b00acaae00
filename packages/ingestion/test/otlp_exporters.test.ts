// The official OpenTelemetry JS exporters (HTTP/protobuf, HTTP/JSON, gRPC) against our ingestion
// server, on PostgreSQL and on PGlite: rows, ids, counts, times and stored payloads as upstream.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeResourceLogs,
  encodeResourceLogs,
  decodeResourceMetrics,
  decodeResourceSpans,
  otelBlockId,
  otelProcessId,
  otelStreamId,
  type Signal,
} from '@micromegas/otlp';
import { startOtlpGrpcServer, type OtlpGrpcServer } from '@micromegas/ingestion';
import { count, startHarness, stopSharedS3, type Backend, type Harness } from './harness.ts';
import {
  SERVICES,
  exportOnce,
  hrToNs,
  logExporter,
  makeLogs,
  makeMetrics,
  makeSpans,
  metricExporter,
  traceExporter,
  type Endpoints,
  type Transport,
} from './otlp_clients.ts';
import { asArray, blocksOf, kvs, processRow, storedObjects, streamRow } from './otlp_lake.ts';

after(stopSharedS3);

const TRANSPORTS: Transport[] = ['http/protobuf', 'http/json', 'grpc'];
const BACKENDS: Backend[] = ['postgres+file', 'pglite+file'];

async function start(backend: Backend): Promise<{ h: Harness; grpc: OtlpGrpcServer; endpoints: Endpoints }> {
  const h = await startHarness(backend);
  const grpc = await startOtlpGrpcServer({ ingestor: h.server.otlp, port: 0, log: () => {} });
  return { h, grpc, endpoints: { httpUrl: h.url, grpcUrl: `http://127.0.0.1:${grpc.port}` } };
}

const pidOf = (tag: string, r: number): string => otelProcessId(kvs({ ...SERVICES[r]!, 'service.instance.id': tag }));

async function checkProcessAndStream(h: Harness, tag: string, r: number, signal: Signal, firstNs: bigint): Promise<string> {
  const pid = pidOf(tag, r);
  const p = await processRow(h.lake, pid);
  assert.ok(p, `process ${pid} of service ${r} (${tag})`);
  assert.equal(p.exe, r === 0 ? 'shop/frontend' : 'billing');
  assert.equal(p.computer, r === 0 ? 'host-a' : 'host-b');
  assert.equal(p.username, r === 0 ? 'alice' : '');
  assert.equal(p.realname, p.username);
  assert.equal(p.distro, r === 0 ? 'Debian 12' : '');
  assert.equal(p.cpu_brand, r === 0 ? 'EPYC' : '');
  assert.equal(p.tsc_frequency, '1000000000');
  assert.equal(p.parent_process_id, null);
  if (r === 1) {
    assert.equal(p.start_time, '2026-11-25T08:00:00.123456');
    assert.equal(p.start_ticks, String(Date.UTC(2026, 10, 25, 8) * 1e6 + 123_456_000));
  } else {
    assert.ok(BigInt(p.start_ticks) <= firstNs, 'start = first event of the first block');
  }
  const props = asArray(p.props);
  assert.ok(props.includes(`otel.resource.service.name=${r === 0 ? 'frontend' : 'billing'}`), props.join());
  assert.ok(props.includes(`otel.resource.process.pid=${r === 0 ? 1234 : 99}`));
  assert.ok(props.includes(`otel.resource.service.instance.id=${tag}`));
  const sid = otelStreamId(pid, signal);
  const s = await streamRow(h.lake, sid);
  assert.ok(s, `stream ${signal}`);
  assert.equal(s.process_id, pid);
  assert.deepEqual(asArray(s.tags), [{ logs: 'log', metrics: 'metrics', traces: 'trace' }[signal]]);
  assert.equal(s.format, `otlp/v1/${signal}`);
  assert.equal(s.deps, '80');
  assert.equal(s.objs, '80');
  assert.equal(Number(s.nprops), 0);
  return pid;
}

for (const backend of BACKENDS) {
  test(`OpenTelemetry exporters over HTTP/protobuf, HTTP/JSON and gRPC (${backend})`, async () => {
    const { h, grpc, endpoints } = await start(backend);
    try {
      for (const transport of TRANSPORTS) {
        const tag = `${transport}-${backend}`;
        // Logs: both services' records in one request → two ResourceLogs → two blocks.
        const logs = makeLogs(tag);
        const le = logExporter(transport, endpoints);
        await exportOnce(le, logs);
        await le.shutdown();
        for (const r of [0, 1]) {
          const mine = logs.filter((l) => l.resource.attributes['service.name'] === SERVICES[r]!['service.name']);
          const times = mine.map((l) => hrToNs(l.hrTime as [number, number]));
          const min = times.reduce((a, b) => (a < b ? a : b));
          const max = times.reduce((a, b) => (a > b ? a : b));
          const pid = await checkProcessAndStream(h, tag, r, 'logs', min);
          const blocks = await blocksOf(h.lake, pid, 'logs');
          assert.equal(blocks.length, 1, `${transport} logs blocks of service ${r}`);
          const b = blocks[0]!;
          assert.equal(b.nb_objects, mine.length);
          assert.equal(b.begin_ticks, min.toString());
          assert.equal(b.end_ticks, max.toString());
          assert.equal(b.object_offset, '0');
          assert.equal(b.begin_time.slice(0, 19), new Date(Number(min / 1_000_000n)).toISOString().slice(0, 19));
          const objects = await storedObjects(h.lake, b);
          assert.equal(b.block_id, otelBlockId(objects));
          const rl = decodeResourceLogs(objects);
          const records = rl.scopeLogs.flatMap((s) => s.logRecords);
          assert.deepEqual(records.map((x) => x.body!.stringValue), mine.map((l) => l.body));
          assert.deepEqual(records.map((x) => x.timeUnixNano), times);
          assert.deepEqual(records.map((x) => x.severityNumber), mine.map((l) => l.severityNumber));
          assert.equal(rl.scopeLogs[0]!.scope!.name, `scope-${r}`);
          assert.equal(otelProcessId(rl.resource!.attributes), pid, 'process id from the stored resource');
        }

        // Traces: both services in one request.
        const spans = makeSpans(tag);
        const te = traceExporter(transport, endpoints);
        await exportOnce(te, spans);
        await te.shutdown();
        for (const r of [0, 1]) {
          const mine = spans.filter((s) => s.resource.attributes['service.name'] === SERVICES[r]!['service.name']);
          const pid = await checkProcessAndStream(h, tag, r, 'traces', hrToNs(mine[0]!.startTime as [number, number]));
          const blocks = await blocksOf(h.lake, pid, 'traces');
          assert.equal(blocks.length, 1);
          const b = blocks[0]!;
          assert.equal(b.nb_objects, mine.length);
          const starts = mine.map((s) => hrToNs(s.startTime as [number, number]));
          const ends = mine.map((s) => hrToNs(s.endTime as [number, number]));
          assert.equal(b.begin_ticks, starts.reduce((a, c) => (a < c ? a : c)).toString());
          assert.equal(b.end_ticks, ends.reduce((a, c) => (a > c ? a : c)).toString());
          const stored = decodeResourceSpans(await storedObjects(h.lake, b)).scopeSpans.flatMap((s) => s.spans);
          assert.deepEqual(stored.map((s) => s.name), mine.map((s) => s.name));
          assert.deepEqual(
            stored.map((s) => Buffer.from(s.spanId).toString('hex')),
            mine.map((s) => s.spanContext().spanId),
          );
          assert.deepEqual(stored.map((s) => s.events[0]!.name), mine.map(() => 'evt'));
        }

        // Metrics: one request per service (one ResourceMetrics each).
        const metrics = await makeMetrics(tag);
        const me = metricExporter(transport, endpoints);
        for (const rm of metrics) await exportOnce(me, rm);
        await me.shutdown();
        for (const r of [0, 1]) {
          const pid = await checkProcessAndStream(h, tag, r, 'metrics', BigInt(Date.now()) * 1_000_000n);
          const blocks = await blocksOf(h.lake, pid, 'metrics');
          assert.equal(blocks.length, 1);
          const b = blocks[0]!;
          assert.equal(b.nb_objects, 2 + 1 + 1 + 1, 'counter (2 series) + gauge + histogram + exponential histogram');
          assert.ok(BigInt(b.begin_ticks) <= BigInt(b.end_ticks));
          const stored = decodeResourceMetrics(await storedObjects(h.lake, b)).scopeMetrics.flatMap((s) => s.metrics);
          const byName = new Map(stored.map((m) => [m.name, m]));
          assert.equal(byName.get('requests')!.data, 'sum');
          assert.deepEqual(byName.get('requests')!.sum!.dataPoints.map((d) => d.asDouble ?? Number(d.asInt)).sort(), [3, 4]);
          assert.equal(byName.get('temperature')!.gauge!.dataPoints[0]!.asDouble, 21.5 + r);
          assert.equal(byName.get('latency')!.histogram!.dataPoints[0]!.count, 4n);
          assert.equal(byName.get('latency.exp')!.data, 'exponentialHistogram');
          assert.equal(byName.get('latency.exp')!.exponentialHistogram!.dataPoints[0]!.sum, 556);
        }

        // A retried identical request is stored once.
        const before = await count(h.lake, 'blocks');
        const again = logExporter(transport, endpoints);
        await exportOnce(again, logs);
        await again.shutdown();
        assert.equal(await count(h.lake, 'blocks'), before, `${transport}: retry must not duplicate`);
      }
      // JSON requests are stored as the canonical protobuf encoding (protobuf library) of the same
      // message; protobuf requests keep the client's bytes (the JS SDK writes explicit zero fields).
      const tag = `same-${backend}`;
      const logs = makeLogs(tag);
      const payloads: Uint8Array[] = [];
      for (const transport of ['http/protobuf', 'http/json'] as Transport[]) {
        const e = logExporter(transport, endpoints);
        await exportOnce(e, logs);
        await e.shutdown();
        const blocks = await blocksOf(h.lake, pidOf(tag, 0), 'logs');
        payloads.push(await storedObjects(h.lake, blocks.at(-1)!));
      }
      const [fromProto, fromJson] = payloads as [Uint8Array, Uint8Array];
      assert.deepEqual(Buffer.from(fromJson), Buffer.from(encodeResourceLogs(decodeResourceLogs(fromProto))));
      assert.deepEqual(decodeResourceLogs(fromJson), decodeResourceLogs(fromProto));
    } finally {
      await grpc.close();
      await h.close();
    }
  });
}

test('gzip-compressed exports over HTTP and gRPC are accepted', async () => {
  const { h, grpc, endpoints } = await start('pglite+file');
  try {
    for (const transport of TRANSPORTS) {
      const tag = `gzip-${transport}`;
      const e = logExporter(transport, { ...endpoints, gzip: true });
      await exportOnce(e, makeLogs(tag));
      await e.shutdown();
      assert.equal((await blocksOf(h.lake, pidOf(tag, 1), 'logs')).length, 1, transport);
    }
  } finally {
    await grpc.close();
    await h.close();
  }
});
