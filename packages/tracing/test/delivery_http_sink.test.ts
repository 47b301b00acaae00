import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { decodeBlock, decodeProcessInfo, decodeStreamInfo } from '@micromegas/transit';
import { HttpSink, ingestionUrl } from '../src/http_sink.ts';
import type { HttpSinkOptions } from '../src/http_sink.ts';
import { collectProcessInfo } from '../src/process_info.ts';
import { TestIngestionServer, testBlock, testStream, waitFor } from './delivery_test_server.ts';

const quiet = { warn: () => {} };

function processInfo() {
  return collectProcessInfo({ env: {} });
}

function sinkFor(server: TestIngestionServer, options: Partial<HttpSinkOptions> = {}): HttpSink {
  return new HttpSink({ url: server.url, backoffBaseMs: 5, backoffMaxMs: 50, ...quiet, ...options });
}

test('sends process, then the stream, then its blocks, with the auth header, once each', async () => {
  const server = await TestIngestionServer.start();
  const sink = new HttpSink({ url: `${server.url}/`, apiKey: 'secret-key', ...quiet });
  const info = processInfo();
  sink.onStartup(info);
  const stream = testStream('log');
  sink.onStreamInit(stream, 'log');
  const blocks = [testBlock(stream, 'log'), testBlock(stream, 'log', 200, 1n)];
  for (const b of blocks) sink.onBlock(b);
  await sink.flush();

  assert.deepEqual(server.paths(), [
    '/ingestion/insert_process',
    '/ingestion/insert_stream',
    '/ingestion/insert_block',
    '/ingestion/insert_block',
  ]);
  for (const r of server.received) {
    assert.equal(r.method, 'POST');
    assert.equal(r.headers.authorization, 'Bearer secret-key');
    assert.equal(r.headers['content-type'], 'application/octet-stream');
  }
  assert.equal(decodeProcessInfo(server.received[0]!.body).processId, info.processId);
  assert.equal(decodeStreamInfo(server.received[1]!.body).streamId, stream.streamId);
  const ids = server.on('insert_block').map((r) => decodeBlock(r.body).blockId);
  assert.deepEqual(ids, blocks.map((b) => b.block.blockId));
  assert.deepEqual(sink.stats().sent, { process: 1, stream: 1, log: 2, metrics: 0, cpu: 0 });
  assert.equal(sink.stats().queuedBytes, 0);
  await sink.shutdown();
  await server.down();
});

test('stream metadata is sent lazily: idle streams never send insert_stream', async () => {
  const server = await TestIngestionServer.start();
  const sink = sinkFor(server);
  sink.onStartup(processInfo());
  const busy = testStream('metrics');
  const idle = testStream('cpu');
  sink.onStreamInit(busy, 'metrics');
  sink.onStreamInit(idle, 'cpu');
  await sink.flush();
  assert.equal(server.on('insert_stream').length, 0, 'no stream before its first block');
  sink.onBlock(testBlock(busy, 'metrics'));
  sink.onBlock(testBlock(busy, 'metrics'));
  await sink.flush();
  const streams = server.on('insert_stream').map((r) => decodeStreamInfo(r.body).streamId);
  assert.deepEqual(streams, [busy.streamId]);
  await sink.shutdown();
  await server.down();
});

test('no request without an api key carries an Authorization header', async () => {
  const server = await TestIngestionServer.start();
  const sink = sinkFor(server);
  sink.onStartup(processInfo());
  await sink.flush();
  assert.equal(server.received.length, 1);
  assert.equal(server.received[0]!.headers.authorization, undefined);
  await sink.shutdown();
  await server.down();
});

test('503 is retried with the same bytes until accepted', async () => {
  const server = await TestIngestionServer.start();
  let failures = 3;
  server.reply = (r) => (r.path.endsWith('insert_block') && failures-- > 0 ? 503 : 200);
  const sink = sinkFor(server);
  sink.onStartup(processInfo());
  const stream = testStream('cpu');
  const block = testBlock(stream, 'cpu');
  sink.onBlock(block);
  await sink.flush();
  const attempts = server.on('insert_block');
  assert.equal(attempts.length, 4, '3 refusals then success, although cpu blocks get 1 retry: 503 is an outage');
  for (const a of attempts) assert.deepEqual(a.body, attempts[0]!.body);
  assert.equal(decodeBlock(attempts[0]!.body).blockId, block.block.blockId);
  assert.equal(sink.stats().sent.cpu, 1);
  assert.equal(sink.stats().retries, 3);
  await sink.shutdown();
  await server.down();
});

test('500 uses the per-priority retries, then gives up (cpu: one retry)', async () => {
  const server = await TestIngestionServer.start();
  server.reply = (r) => (r.path.endsWith('insert_block') ? 500 : 200);
  const sink = sinkFor(server);
  sink.onStartup(processInfo());
  sink.onBlock(testBlock(testStream('cpu'), 'cpu'));
  sink.onBlock(testBlock(testStream('log'), 'log'));
  await sink.flush();
  const byKind = server.on('insert_block').length;
  assert.equal(byKind, 2 + 6, 'cpu: 1 + 1 retry; log: 1 + 5 retries');
  assert.equal(sink.stats().failed.cpu, 1);
  assert.equal(sink.stats().failed.log, 1);
  await sink.shutdown();
  await server.down();
});

test('400 is not retried: dropped, counted, one warning', async () => {
  const server = await TestIngestionServer.start();
  server.reply = (r) => (r.path.endsWith('insert_block') ? 400 : 200);
  const warnings: string[] = [];
  const sink = sinkFor(server, { warn: (line) => warnings.push(line) });
  sink.onStartup(processInfo());
  const stream = testStream('log');
  for (let i = 0; i < 3; i++) sink.onBlock(testBlock(stream, 'log'));
  await sink.flush();
  assert.equal(server.on('insert_block').length, 3, 'each block tried exactly once');
  assert.equal(sink.stats().rejected.log, 3);
  assert.equal(sink.stats().retries, 0);
  assert.equal(warnings.length, 1, 'warnings are rate-limited');
  assert.match(warnings[0]!, /HTTP 400/);
  await sink.shutdown();
  await server.down();
});

test('connection refused is retried until the server comes up', async () => {
  const server = await TestIngestionServer.start({ down: true });
  const warnings: string[] = [];
  const sink = sinkFor(server, { warn: (line) => warnings.push(line) });
  sink.onStartup(processInfo());
  const stream = testStream('log');
  sink.onBlock(testBlock(stream, 'log'));
  await waitFor(() => sink.stats().retries >= 3, 5_000, 'some refused attempts');
  assert.equal(server.received.length, 0);
  assert.equal(warnings.length, 1, 'one rate-limited warning for the outage');
  assert.match(warnings[0]!, /unavailable \(connect ECONNREFUSED/);
  await server.up();
  await sink.flush();
  assert.deepEqual(server.paths().map((p) => p.split('/').pop()), ['insert_process', 'insert_stream', 'insert_block']);
  assert.equal(sink.stats().sent.log, 1);
  await sink.shutdown();
  await server.down();
});

test('queues drain in priority order: metadata, logs, metrics, spans', async () => {
  const server = await TestIngestionServer.start({ down: true });
  const sink = sinkFor(server, { maxInFlight: 1 });
  sink.onStartup(processInfo());
  const cpu = testStream('cpu');
  const metrics = testStream('metrics');
  const log = testStream('log');
  sink.onBlock(testBlock(cpu, 'cpu'));
  sink.onBlock(testBlock(metrics, 'metrics'));
  sink.onBlock(testBlock(cpu, 'cpu'));
  sink.onBlock(testBlock(log, 'log'));
  sink.onBlock(testBlock(metrics, 'metrics'));
  sink.onBlock(testBlock(log, 'log'));
  await server.up();
  await sink.flush();
  const order = server.received.map((r) => {
    const route = r.path.split('/').pop();
    if (route !== 'insert_block') return route;
    const id = decodeBlock(r.body).streamId;
    return id === cpu.streamId ? 'cpu' : id === metrics.streamId ? 'metrics' : 'log';
  });
  assert.deepEqual(order, [
    'insert_process',
    'insert_stream',
    'insert_stream',
    'insert_stream',
    'log',
    'log',
    'metrics',
    'metrics',
    'cpu',
    'cpu',
  ]);
  await sink.shutdown();
  await server.down();
});

test('over budget, the lowest priority is dropped first and drops are counted', async () => {
  const server = await TestIngestionServer.start({ down: true });
  const payload = 10_000;
  const sink = sinkFor(server, { maxQueueBytes: 50_000, hardQueueBytes: 100_000 });
  sink.onStartup(processInfo());
  const cpu = testStream('cpu');
  const metrics = testStream('metrics');
  const log = testStream('log');
  for (let i = 0; i < 8; i++) sink.onBlock(testBlock(cpu, 'cpu', payload));
  let stats = sink.stats();
  assert.ok(stats.dropped.cpu >= 3, `spans beyond the soft budget are dropped (${stats.dropped.cpu})`);
  assert.ok(stats.queuedBytes <= 50_000);
  for (let i = 0; i < 4; i++) sink.onBlock(testBlock(metrics, 'metrics', payload));
  const logBlocks = Array.from({ length: 6 }, () => testBlock(log, 'log', payload));
  for (const b of logBlocks) sink.onBlock(b);
  stats = sink.stats();
  assert.ok(stats.queuedBytes <= 100_000);
  assert.equal(stats.dropped.log, 0, 'logs evict lower priorities instead of being dropped');
  assert.equal(stats.dropped.cpu, 8, 'every span block made room for logs');
  assert.ok(stats.dropped.metrics >= 1, 'then metrics');
  assert.equal(stats.dropped.process + stats.dropped.stream, 0, 'metadata is never dropped');
  assert.ok(stats.droppedBytes >= 9 * payload);
  await server.up();
  await sink.flush();
  const received = new Set(server.on('insert_block').map((r) => decodeBlock(r.body).blockId));
  for (const b of logBlocks) assert.ok(received.has(b.block.blockId), 'every log block arrives');
  assert.equal(received.size, 6 + 4 - stats.dropped.metrics);
  await sink.shutdown();
  await server.down();
});

test('server down then up: nothing below the queue limit is lost', async () => {
  const server = await TestIngestionServer.start({ down: true });
  const sink = sinkFor(server, { backoffMaxMs: 100 });
  sink.onStartup(processInfo());
  const kinds = ['log', 'metrics', 'cpu'] as const;
  const streams = kinds.map((k) => testStream(k));
  const sent = [];
  for (let i = 0; i < 60; i++) {
    const kind = kinds[i % 3]!;
    const b = testBlock(streams[i % 3]!, kind, 1000, BigInt(i));
    sent.push(b);
    sink.onBlock(b);
    if (i === 30) await new Promise((resolve) => setTimeout(resolve, 300));
  }
  await waitFor(() => sink.stats().retries > 5, 5_000, 'refused attempts');
  await server.up();
  await sink.flush();
  const blocks = server.on('insert_block').map((r) => decodeBlock(r.body));
  assert.deepEqual(new Set(blocks.map((b) => b.blockId)), new Set(sent.map((b) => b.block.blockId)));
  assert.equal(blocks.length, sent.length, 'each block exactly once');
  const stats = sink.stats();
  assert.deepEqual(stats.dropped, { process: 0, stream: 0, log: 0, metrics: 0, cpu: 0 });
  assert.deepEqual(stats.failed, { process: 0, stream: 0, log: 0, metrics: 0, cpu: 0 });
  await sink.shutdown();
  await server.down();
});

test('shutdown is bounded when the server never answers', async () => {
  const server = await TestIngestionServer.start();
  server.reply = () => 'hang';
  const sink = sinkFor(server, { shutdownTimeoutMs: 300 });
  sink.onStartup(processInfo());
  sink.onBlock(testBlock(testStream('log'), 'log'));
  const started = Date.now();
  await sink.shutdown();
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 250 && elapsed < 1500, `shutdown took ${elapsed} ms`);
  assert.equal(sink.stats().abandoned.process, 1);
  assert.equal(sink.stats().abandoned.log, 1);
  sink.onBlock(testBlock(testStream('log'), 'log'));
  assert.equal(sink.stats().dropped.log, 1, 'blocks after shutdown are dropped, not thrown');
  await server.down();
});

test('flush is bounded too, and leaves undelivered data queued', async () => {
  const server = await TestIngestionServer.start({ down: true });
  const sink = sinkFor(server, { flushTimeoutMs: 200 });
  sink.onStartup(processInfo());
  sink.onBlock(testBlock(testStream('log'), 'log'));
  const started = Date.now();
  await sink.flush();
  assert.ok(Date.now() - started < 1000);
  assert.equal(sink.stats().pendingItems, 3);
  await server.up();
  await sink.flush();
  assert.equal(sink.stats().sent.log, 1);
  await sink.shutdown();
  await server.down();
});

test('a slow server delays nothing in the caller', async () => {
  const server = await TestIngestionServer.start();
  server.delayMs = 200;
  const sink = sinkFor(server);
  sink.onStartup(processInfo());
  const stream = testStream('log');
  const started = performance.now();
  for (let i = 0; i < 12; i++) sink.onBlock(testBlock(stream, 'log'));
  assert.ok(performance.now() - started < 50, 'handing over blocks does not wait for the network');
  await sink.flush();
  assert.equal(sink.stats().sent.log, 12);
  await sink.shutdown();
  await server.down();
});

test('bad input never throws into the host', async () => {
  const server = await TestIngestionServer.start();
  const warnings: string[] = [];
  const sink = sinkFor(server, { warn: (line) => warnings.push(line) });
  sink.onStartup(processInfo());
  const broken = testBlock(testStream('log'), 'log');
  (broken.block as { blockId: string }).blockId = 'not-a-uuid';
  assert.doesNotThrow(() => sink.onBlock(broken));
  assert.doesNotThrow(() => sink.onBlock(null as never));
  await sink.flush();
  assert.equal(warnings.length, 1, 'reported once (rate-limited)');
  assert.match(warnings[0]!, /not sent/);
  assert.equal(sink.stats().dropped.log, 1);
  assert.equal(sink.stats().sent.process, 1, 'the sink keeps working');
  await sink.shutdown();
  await server.down();
});

test('invalid configuration is a clear error', () => {
  assert.throws(() => new HttpSink({ url: 'not a url' }), /invalid telemetry URL/);
  assert.throws(() => new HttpSink({ url: 'ftp://host' }), /http or https/);
  assert.throws(() => new HttpSink({ url: 'http://h', maxInFlight: 0 }), /maxInFlight/);
  assert.equal(ingestionUrl('http://h:9000/', 'insert_block').href, 'http://h:9000/ingestion/insert_block');
  assert.equal(ingestionUrl('http://h/base//', 'insert_stream').href, 'http://h/base/ingestion/insert_stream');
});

test('an unfinished request never keeps the program alive on its own', async () => {
  const server = await TestIngestionServer.start();
  server.reply = () => 'hang';
  const script = `
    import { HttpSink } from ${JSON.stringify(fileURLToPath(new URL('../src/http_sink.ts', import.meta.url)))};
    import { collectProcessInfo } from ${JSON.stringify(fileURLToPath(new URL('../src/process_info.ts', import.meta.url)))};
    const sink = new HttpSink({ url: ${JSON.stringify(server.url)} });
    sink.onStartup(collectProcessInfo({ env: {} }));
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: 'inherit' });
  const started = Date.now();
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 0);
  await waitFor(() => server.received.length === 1, 2000, 'the request reached the server');
  assert.ok(Date.now() - started < 5_000, 'exited without waiting for the 10 s request timeout');
  await server.down();
});
