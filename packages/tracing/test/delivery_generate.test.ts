import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeTransitPayload, TransitObject } from '@micromegas/transit';
import { decodeLogEntries } from '../src/console_sink.ts';
import { GENERATOR_PROCESS_PROPERTIES, runGenerator } from '../src/generate.ts';
import { Level, MemorySink } from '../src/recording.ts';
import { startTelemetry } from '../src/telemetry.ts';

test('the generator runs 1 s with 2 workers and produces logs, metrics and spans from several threads', async () => {
  const sink = new MemorySink();
  const guard = startTelemetry({ sink, env: {}, installExitHooks: false, maxLevel: Level.Trace, properties: { ...GENERATOR_PROCESS_PROPERTIES } });
  const stats = await runGenerator({ durationMs: 1000, workers: 2, rate: 100 });
  await guard.shutdown();

  assert.equal(stats.workers, 2);
  assert.ok(stats.durationMs >= 1000 && stats.durationMs < 8000, `ran ${stats.durationMs} ms`);
  assert.ok(stats.iterations >= 100, `${stats.iterations} requests`);
  assert.equal(sink.process!.properties.get('app.role'), 'demo-producer');

  const logs = sink.blocksOf('log').flatMap((b) => decodeLogEntries(b));
  assert.equal(logs.length, stats.logs, 'every counted log entry was recorded');
  assert.deepEqual(new Set(logs.map((e) => e.level)), new Set(['FATAL', 'ERROR', 'WARN', 'INFO', 'DEBUG', 'TRACE']));
  assert.ok(logs.some((e) => e.properties?.route !== undefined), 'logs with properties');
  assert.ok(logs.some((e) => e.message === 'worker started'), 'logs without arguments');
  assert.ok(logs.some((e) => /^request \d+ on \//.test(e.message)), 'logs with arguments');

  const metricEvents = sink.blocksOf('metrics').flatMap((b) => decodeTransitPayload(b.stream, b.block.payload).objects);
  assert.equal(metricEvents.length, stats.metrics, 'every counted metric was recorded');
  const metricTypes = new Set(metricEvents.map((m) => (m as TransitObject).typeName));
  for (const t of ['IntegerMetricEvent', 'FloatMetricEvent', 'TaggedIntegerMetricEvent', 'TaggedFloatMetricEvent']) {
    assert.ok(metricTypes.has(t), `${t} present (${[...metricTypes].join(', ')})`);
  }

  const cpuBlocks = sink.blocksOf('cpu');
  const threads = new Set(cpuBlocks.map((b) => b.stream.properties.get('thread-name')));
  assert.ok(threads.has('generator-worker-0') && threads.has('generator-worker-1') && threads.has('main'), [...threads].join(', '));
  const spanTypes = new Set(
    cpuBlocks.flatMap((b) => decodeTransitPayload(b.stream, b.block.payload).objects.map((o) => (o as TransitObject).typeName)),
  );
  for (const t of ['BeginThreadSpanEvent', 'EndThreadSpanEvent', 'BeginThreadNamedSpanEvent', 'BeginAsyncSpanEvent', 'EndAsyncNamedSpanEvent']) {
    assert.ok(spanTypes.has(t), `${t} present (${[...spanTypes].join(', ')})`);
  }
  const streamsPerKind = new Set(sink.blocks.map((b) => `${b.kind}:${b.stream.streamId}`));
  assert.ok([...streamsPerKind].filter((k) => k.startsWith('log:')).length >= 3, 'each worker has its own log stream');
});

test('the generator stops when its signal aborts and rejects bad options', async () => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 300);
  const started = Date.now();
  const stats = await runGenerator({ workers: 1, rate: 20, signal: controller.signal });
  assert.ok(Date.now() - started < 3000);
  assert.ok(stats.iterations >= 1);
  await assert.rejects(runGenerator({ workers: 0 }), /workers must be a positive integer/);
  await assert.rejects(runGenerator({ rate: -1 }), /rate must be a positive number/);
});
