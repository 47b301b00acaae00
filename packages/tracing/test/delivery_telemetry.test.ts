import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConsoleSink, decodeLogEntries } from '../src/console_sink.ts';
import type { ConsoleLogEntry } from '../src/console_sink.ts';
import { HttpSink } from '../src/http_sink.ts';
import { TelemetryConfigError } from '../src/process_info.ts';
import { Level, MemorySink, debug, error, fatal, imetric, info, isTelemetryActive, log, trace, warn } from '../src/recording.ts';
import type { FinishedBlock } from '../src/sink.ts';
import { startTelemetry } from '../src/telemetry.ts';
import { TestIngestionServer, waitFor } from './delivery_test_server.ts';

function logEntries(blocks: FinishedBlock[]): ConsoleLogEntry[] {
  return blocks.filter((b) => b.kind === 'log').flatMap((b) => decodeLogEntries(b));
}

test('without a URL or a sink, telemetry stays off and every call is a no-op', async () => {
  const guard = startTelemetry({ env: {}, installExitHooks: false });
  assert.equal(guard.active, false);
  assert.equal(isTelemetryActive(), false);
  info('nothing');
  imetric('m', 'count', 1);
  await guard.flush();
  await guard.shutdown();
});

test('records every level through the given sink, and shuts it down', async () => {
  const sink = new MemorySink();
  const guard = startTelemetry({ sink, env: {}, installExitHooks: false, maxLevel: Level.Trace, properties: { team: 'core' } });
  assert.equal(guard.active, true);
  assert.equal(startTelemetry({ sink: new MemorySink(), env: {} }), guard, 'a second start returns the running guard');
  fatal('f');
  error('e {}', 1);
  warn('w');
  info('i');
  debug('d');
  trace('t');
  log(Level.Info, 'with props', { k: 'v' });
  await guard.flush();
  assert.equal(sink.process?.properties.get('team'), 'core');
  const entries = logEntries(sink.blocks);
  assert.deepEqual(
    entries.map((e) => [e.level, e.message]),
    [['FATAL', 'f'], ['ERROR', 'e 1'], ['WARN', 'w'], ['INFO', 'i'], ['DEBUG', 'd'], ['TRACE', 't'], ['INFO', 'with props']],
  );
  assert.deepEqual(entries[6]!.properties, { k: 'v' });
  await guard.shutdown();
  assert.equal(sink.isShutDown, true);
  assert.equal(isTelemetryActive(), false);
});

test('the periodic flush sends log blocks without being asked', async () => {
  const sink = new MemorySink();
  const guard = startTelemetry({ sink, env: {}, installExitHooks: false, flushPeriodMs: 50 });
  info('periodic');
  await waitFor(() => sink.blocksOf('log').length > 0, 2_000, 'a periodic flush');
  assert.equal(logEntries(sink.blocks)[0]!.message, 'periodic');
  await guard.shutdown();
});

test('environment: max level, flush period, sink selection, bad values', async () => {
  let sink = new MemorySink();
  let guard = startTelemetry({ sink, env: { MICROMEGAS_MAX_LEVEL: 'debug', MICROMEGAS_FLUSH_PERIOD: '0.05' }, installExitHooks: false });
  debug('dbg');
  trace('not recorded');
  await waitFor(() => sink.blocksOf('log').length > 0, 2_000, 'a periodic flush from MICROMEGAS_FLUSH_PERIOD');
  assert.deepEqual(logEntries(sink.blocks).map((e) => e.message), ['dbg']);
  await guard.shutdown();

  guard = startTelemetry({ env: { MICROMEGAS_TELEMETRY_SINK: 'console' }, installExitHooks: false });
  assert.ok(guard.sink instanceof ConsoleSink);
  await guard.shutdown();

  guard = startTelemetry({ env: { MICROMEGAS_TELEMETRY_URL: 'http://127.0.0.1:9', MICROMEGAS_TELEMETRY_SINK: 'none' }, installExitHooks: false });
  assert.equal(guard.active, false);

  guard = startTelemetry({ env: { MICROMEGAS_TELEMETRY_URL: 'http://127.0.0.1:9/' }, installExitHooks: false, http: { shutdownTimeoutMs: 100, warn: () => {} } });
  assert.ok(guard.sink instanceof HttpSink);
  await guard.shutdown();

  for (const [env, pattern] of [
    [{ MICROMEGAS_FLUSH_PERIOD: 'soon' }, /MICROMEGAS_FLUSH_PERIOD/],
    [{ MICROMEGAS_MAX_LEVEL: 'loud' }, /MICROMEGAS_MAX_LEVEL/],
    [{ MICROMEGAS_TELEMETRY_SINK: 'kafka' }, /MICROMEGAS_TELEMETRY_SINK/],
    [{ MICROMEGAS_TELEMETRY_URL: 'http://h', MICROMEGAS_TELEMETRY_MAX_IN_FLIGHT_REQUESTS: '-1' }, /MAX_IN_FLIGHT/],
    [{ MICROMEGAS_PROCESS_PROPERTIES: 'micromegas.x=1' }, /reserved/],
  ] as const) {
    const withUrl = { MICROMEGAS_TELEMETRY_URL: 'http://127.0.0.1:9', ...env };
    assert.throws(() => startTelemetry({ env: withUrl, installExitHooks: false }), (e: unknown) => e instanceof TelemetryConfigError && pattern.test(e.message));
    assert.equal(isTelemetryActive(), false, 'a configuration error starts nothing');
  }
});

test('a program logging while the server is down, then up, loses nothing below its queue limit', async () => {
  const server = await TestIngestionServer.start({ down: true });
  const guard = startTelemetry({
    url: server.url,
    apiKey: 'k',
    env: {},
    installExitHooks: false,
    http: { backoffMaxMs: 50, flushTimeoutMs: 50, warn: () => {} },
  });
  const expected: string[] = [];
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 200; i++) {
      const message = `event ${round}-${i}`;
      expected.push(message);
      info(message);
      imetric('events', 'count', i);
    }
    await guard.flush(); // closes a block per round; the server is down, so it stays queued
  }
  const stats = (guard.sink as HttpSink).stats();
  assert.equal(stats.sent.log, 0);
  assert.ok(stats.retries > 0);
  await server.up();
  await guard.shutdown();
  const after = (guard.sink as HttpSink).stats();
  assert.deepEqual(after.dropped, { process: 0, stream: 0, log: 0, metrics: 0, cpu: 0 });
  assert.equal(server.on('insert_process').length, 1);
  for (const r of server.received) assert.equal(r.headers.authorization, 'Bearer k');
  // Several requests are in flight at once, so blocks may arrive in any order: sorted by object offset.
  const blocks = server.blocks();
  const messages = logEntries(blocks).map((e) => e.message);
  assert.deepEqual(messages, expected, 'every event comes back exactly once');
  assert.ok(blocks.some((b) => b.kind === 'metrics'));
  await server.down();
});
