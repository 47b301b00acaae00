// OTLP log records and spans ingested per second per core (server CPU time) over HTTP/protobuf and
// gRPC, side by side with the same number of events sent through the native protocol (insert_block
// of blocks recorded by @micromegas/tracing), against the same server process and data lake.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { encodeBlock, encodeProcessInfo, encodeStreamInfo } from '@micromegas/transit';
import { encodeExportLogsRequest, encodeExportTraceRequest } from '@micromegas/otlp';
import { createTestDatabase } from '@micromegas/lake/testing';
import { MemorySink, info, spanScope, startTelemetry } from '@micromegas/tracing';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '204800' },
    batch: { type: 'string', default: '1024' },
    clients: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '3' },
    db: { type: 'string', default: 'postgres' }, // postgres | pglite
    store: { type: 'string', default: 'memory' }, // memory | file
  },
});
const RECORDS = Number(values.records);
const BATCH = Number(values.batch);
const CLIENTS = Number(values.clients);
const ROUNDS = Number(values.rounds);
const REQUESTS = Math.ceil(RECORDS / BATCH);

// ---- OTLP requests shaped like the OpenTelemetry JS SDK's (resource, scope, typical record fields).
const RESOURCE = {
  attributes: Object.entries({
    'service.name': 'checkout',
    'service.namespace': 'shop',
    'service.version': '1.4.2',
    'service.instance.id': 'b7d3c0de-0000-4000-8000-000000000001',
    'host.name': 'bench-host',
    'process.pid': 4242,
    'telemetry.sdk.name': 'opentelemetry',
    'telemetry.sdk.language': 'nodejs',
    'telemetry.sdk.version': '2.12.1',
  }).map(([key, v]) => ({ key, value: typeof v === 'number' ? { intValue: BigInt(v) } : { stringValue: v } })),
};
const T0 = 1_764_000_000_000_000_000n;

function logsRequest(r: number): Uint8Array {
  const traceId = randomBytes(16);
  const logRecords = Array.from({ length: BATCH }, (_, i) => ({
    timeUnixNano: T0 + BigInt(r * BATCH + i) * 1000n,
    observedTimeUnixNano: T0 + BigInt(r * BATCH + i) * 1000n + 17n,
    severityNumber: 9,
    severityText: 'INFO',
    body: { stringValue: `order ${r * BATCH + i} accepted for customer ${(i * 7919) % 10007} in 12.5 ms` },
    attributes: [
      { key: 'http.route', value: { stringValue: '/api/orders' } },
      { key: 'order.items', value: { intValue: BigInt(i % 13) } },
    ],
    traceId,
    spanId: randomBytes(8),
    flags: 1,
  }));
  return encodeExportLogsRequest({ resourceLogs: [{ resource: RESOURCE, scopeLogs: [{ scope: { name: 'checkout-logger', version: '1.0.0' }, logRecords }] }] });
}

function tracesRequest(r: number): Uint8Array {
  const traceId = randomBytes(16);
  const spans = Array.from({ length: BATCH }, (_, i) => {
    const start = T0 + BigInt(r * BATCH + i) * 1000n;
    return {
      traceId,
      spanId: randomBytes(8),
      parentSpanId: randomBytes(8),
      name: `GET /api/orders/${i % 50}`,
      kind: 2,
      startTimeUnixNano: start,
      endTimeUnixNano: start + 12_500_000n,
      attributes: [
        { key: 'http.method', value: { stringValue: 'GET' } },
        { key: 'http.status_code', value: { intValue: 200n } },
      ],
      status: { code: 1 },
    };
  });
  return encodeExportTraceRequest({ resourceSpans: [{ resource: RESOURCE, scopeSpans: [{ scope: { name: 'checkout-tracer' }, spans }] }] });
}

// ---- Native blocks with the same number of events, recorded by our tracing client.
interface NativeRun {
  process: Uint8Array;
  streams: Uint8Array[];
  blocks: Uint8Array[];
  events: number;
}

async function nativeEvents(kind: 'log' | 'cpu'): Promise<NativeRun> {
  const sink = new MemorySink();
  const guard = startTelemetry({ sink, installExitHooks: false, flushPeriodMs: 3_600_000, exe: 'bench' });
  for (let r = 0; r < REQUESTS; r++) {
    for (let i = 0; i < BATCH; i++) {
      // A span is two events (begin and end); record half as many to send the same number of events.
      if (kind === 'log') info(`order ${r * BATCH + i} accepted for customer ${(i * 7919) % 10007} in 12.5 ms`);
      else if (i % 2 === 0) spanScope('GET /api/orders', () => undefined);
    }
    await guard.flush(); // one block per batch, like one OTLP request per batch
  }
  await guard.flush();
  const blocks = sink.blocksOf(kind).map((b) => encodeBlock(b.block));
  const events = sink.blocksOf(kind).reduce((n, b) => n + b.block.nbObjects, 0);
  const run = {
    process: encodeProcessInfo(sink.process!),
    streams: sink.streams.map((s) => encodeStreamInfo(s.stream)),
    blocks,
    events,
  };
  await guard.shutdown();
  return run;
}

// ---- Clients.
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function httpPost(url: string, body: Uint8Array, contentType?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { 'content-length': body.length };
    if (contentType) headers['content-type'] = contentType;
    const req = http.request(url, { method: 'POST', agent, headers }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`${url} answered ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function grpcCall(client: grpc.Client, path: string, body: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, Buffer.from(body.buffer, body.byteOffset, body.byteLength), (err) =>
      err ? reject(err) : resolve(),
    ),
  );
}

async function runConcurrently(count: number, one: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      for (let i = next++; i < count; i = next++) await one(i);
    }),
  );
}

// ---- Server process.
interface Server {
  url: string;
  grpc: string;
  cpu(): Promise<number>;
  stop(): Promise<void>;
}

function lines(child: ChildProcessWithoutNullStreams): () => Promise<string> {
  const queue: string[] = [];
  const waiters: ((l: string) => void)[] = [];
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const w = waiters.shift();
      if (w) w(line);
      else queue.push(line);
    }
  });
  return () => new Promise((resolve) => (queue.length ? resolve(queue.shift()!) : waiters.push(resolve)));
}

async function startServer(): Promise<Server> {
  const db = values.db === 'postgres' ? await createTestDatabase('mm_bench_otlp') : undefined;
  const dir = await mkdtemp(join(tmpdir(), 'mm-bench-otlp-'));
  const store = values.store === 'file' ? `file://${join(dir, 'objects')}` : 'memory://';
  const script = fileURLToPath(new URL('./otlp_server_process.ts', import.meta.url));
  const nodeArgs = process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', script, db?.connectionString ?? '', store, dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  }) as unknown as ChildProcessWithoutNullStreams;
  const next = lines(child);
  const addr = JSON.parse(await next()) as { url: string; grpc: string };
  return {
    ...addr,
    async cpu() {
      child.kill('SIGUSR2');
      return (JSON.parse(await next()) as { cpuSeconds: number }).cpuSeconds;
    },
    async stop() {
      await new Promise<void>((r) => {
        child.once('exit', () => r());
        child.kill('SIGTERM');
      });
      await db?.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

interface Result {
  seconds: number;
  cpuSeconds: number;
  events: number;
}

type Transport = 'native' | 'otlp-http' | 'otlp-grpc';

async function measure(signal: 'logs' | 'traces', transport: Transport, warm: Uint8Array[], data: Uint8Array[] | NativeRun): Promise<Result> {
  const server = await startServer();
  const client = new grpc.Client(server.grpc, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': 64 << 20 });
  const otlpPath = signal === 'logs' ? '/v1/logs' : '/v1/traces';
  const grpcPath =
    signal === 'logs' ? '/opentelemetry.proto.collector.logs.v1.LogsService/Export' : '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
  const sendOtlp = (body: Uint8Array) =>
    transport === 'otlp-grpc' ? grpcCall(client, grpcPath, body) : httpPost(`${server.url}${otlpPath}`, body, 'application/x-protobuf');
  try {
    let events: number;
    let send: (i: number) => Promise<void>;
    let count: number;
    if (transport === 'native') {
      const n = data as NativeRun;
      await httpPost(`${server.url}/ingestion/insert_process`, n.process);
      for (const s of n.streams) await httpPost(`${server.url}/ingestion/insert_stream`, s);
      events = n.events;
      count = n.blocks.length;
      // Warm-up: resend a few blocks (duplicates are cheap but exercise the same code).
      await runConcurrently(Math.min(8, count), (i) => httpPost(`${server.url}/ingestion/insert_block`, n.blocks[i]!));
      send = (i) => httpPost(`${server.url}/ingestion/insert_block`, n.blocks[i]!);
    } else {
      const reqs = data as Uint8Array[];
      await runConcurrently(warm.length, (i) => sendOtlp(warm[i]!));
      events = reqs.length * BATCH;
      count = reqs.length;
      send = (i) => sendOtlp(reqs[i]!);
    }
    const cpu0 = await server.cpu();
    const t0 = performance.now();
    await runConcurrently(count, send);
    const seconds = (performance.now() - t0) / 1000;
    const cpuSeconds = (await server.cpu()) - cpu0;
    return { seconds, cpuSeconds, events };
  } finally {
    client.close();
    await server.stop();
  }
}

console.log(
  `${RECORDS} events per run in requests of ${BATCH} (native: blocks recorded by @micromegas/tracing), ${CLIENTS} concurrent clients, ` +
    `${values.db === 'postgres' ? 'real PostgreSQL' : 'PGlite'}, ${values.store === 'file' ? 'file://' : 'memory://'} object store, ` +
    `server in its own process; ${ROUNDS} rounds (median); "per core" = events / server CPU seconds`,
);
const warmLogs = Array.from({ length: 8 }, (_, r) => logsRequest(100_000 + r));
const warmSpans = Array.from({ length: 8 }, (_, r) => tracesRequest(100_000 + r));
const logsReqs = Array.from({ length: REQUESTS }, (_, r) => logsRequest(r));
const spanReqs = Array.from({ length: REQUESTS }, (_, r) => tracesRequest(r));
const nativeLogs = await nativeEvents('log');
const nativeSpans = await nativeEvents('cpu');
const avg = (a: Uint8Array[]) => a.reduce((n, b) => n + b.length, 0) / a.length / 1024;
console.log(
  `request sizes: OTLP logs ${avg(logsReqs).toFixed(0)} KiB, OTLP spans ${avg(spanReqs).toFixed(0)} KiB; native: ${nativeLogs.blocks.length} log blocks ` +
    `(${nativeLogs.events} events, ${avg(nativeLogs.blocks).toFixed(0)} KiB), ${nativeSpans.blocks.length} thread blocks (${nativeSpans.events} events, ${avg(nativeSpans.blocks).toFixed(0)} KiB)`,
);

const variants: { name: string; run: () => Promise<Result>; results: Result[] }[] = [
  { name: 'logs, native insert_block', run: () => measure('logs', 'native', [], nativeLogs), results: [] },
  { name: 'logs, OTLP HTTP/protobuf', run: () => measure('logs', 'otlp-http', warmLogs, logsReqs), results: [] },
  { name: 'logs, OTLP gRPC', run: () => measure('logs', 'otlp-grpc', warmLogs, logsReqs), results: [] },
  { name: 'spans, native insert_block (begin+end events)', run: () => measure('traces', 'native', [], nativeSpans), results: [] },
  { name: 'spans, OTLP HTTP/protobuf', run: () => measure('traces', 'otlp-http', warmSpans, spanReqs), results: [] },
  { name: 'spans, OTLP gRPC', run: () => measure('traces', 'otlp-grpc', warmSpans, spanReqs), results: [] },
];
for (let round = 0; round < ROUNDS; round++) {
  for (const v of variants) {
    const r = await v.run();
    v.results.push(r);
    process.stderr.write(`round ${round + 1}: ${v.name}: ${(r.events / r.cpuSeconds).toFixed(0)} events/s/core, ${(r.events / r.seconds).toFixed(0)} events/s\n`);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log('');
console.log('| path | events | events/s per core (server CPU) | events/s (wall) | server CPU s |');
console.log('|---|---:|---:|---:|---:|');
for (const v of variants) {
  const perCore = median(v.results.map((r) => r.events / r.cpuSeconds));
  const wall = median(v.results.map((r) => r.events / r.seconds));
  const cpu = median(v.results.map((r) => r.cpuSeconds));
  console.log(`| ${v.name} | ${v.results[0]!.events} | ${perCore.toFixed(0)} | ${wall.toFixed(0)} | ${cpu.toFixed(2)} |`);
}
