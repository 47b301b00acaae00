import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { ConsoleSink, decodeLogEntries, formatLogEntry } from '../src/console_sink.ts';
import type { ConsoleLogEntry } from '../src/console_sink.ts';
import { interceptConsole } from '../src/interop_console.ts';
import { micromegasPinoDestination, pinoLevel } from '../src/interop_pino.ts';
import { Level, MemorySink, fmetric, imetric, info } from '../src/recording.ts';
import { startTelemetry } from '../src/telemetry.ts';

async function recorded(fn: () => void | Promise<void>): Promise<ConsoleLogEntry[]> {
  const sink = new MemorySink();
  const guard = startTelemetry({ sink, env: {}, installExitHooks: false, maxLevel: Level.Trace });
  try {
    await fn();
    await guard.flush();
  } finally {
    await guard.shutdown();
  }
  return sink.blocksOf('log').flatMap((b) => decodeLogEntries(b));
}

test('console.* goes into micromegas logs with mapped levels, and still prints', async () => {
  const printed: unknown[][] = [];
  const original = console.log;
  const originalWarn = console.warn;
  console.log = (...args: unknown[]) => void printed.push(['log', ...args]);
  console.warn = (...args: unknown[]) => void printed.push(['warn', ...args]);
  let restore = (): void => {};
  try {
    const entries = await recorded(() => {
      restore = interceptConsole();
      console.log('hello %s', 'world', { n: 1 });
      console.warn('careful');
      restore();
      console.log('after restore');
    });
    assert.deepEqual(
      entries.map((e) => [e.level, e.target, e.message]),
      [
        ['INFO', 'console', "hello world { n: 1 }"],
        ['WARN', 'console', 'careful'],
      ],
    );
    assert.deepEqual(printed, [['log', 'hello %s', 'world', { n: 1 }], ['warn', 'careful'], ['log', 'after restore']]);
  } finally {
    console.log = original;
    console.warn = originalWarn;
  }
});

test('console interception without echo prints nothing and maps every method', async () => {
  const calls: string[] = [];
  const methods = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
  const saved = methods.map((m) => console[m]);
  for (const m of methods) console[m] = () => void calls.push(m);
  try {
    const entries = await recorded(() => {
      const restore = interceptConsole({ echo: false, target: 'app.console' });
      for (const m of methods) console[m](`via ${m}`);
      restore();
    });
    assert.deepEqual(calls, []);
    assert.deepEqual(
      entries.map((e) => [e.level, e.target, e.message]),
      [
        ['INFO', 'app.console', 'via log'],
        ['INFO', 'app.console', 'via info'],
        ['WARN', 'app.console', 'via warn'],
        ['ERROR', 'app.console', 'via error'],
        ['DEBUG', 'app.console', 'via debug'],
        ['TRACE', 'app.console', 'Trace: via trace'],
      ],
    );
  } finally {
    methods.forEach((m, i) => (console[m] = saved[i]!));
  }
});

test('pino writes into micromegas logs through its destination', async () => {
  const entries = await recorded(() => {
    const logger = pino({ level: 'trace', name: 'orders' }, micromegasPinoDestination());
    logger.info('order placed');
    logger.warn({ orderId: 42, user: 'ann' }, 'slow order');
    logger.error(new Error('payment failed'));
    logger.trace('fine detail');
    logger.fatal('down');
    const anonymous = pino({ level: 'debug' }, micromegasPinoDestination({ target: 'svc' }));
    anonymous.debug('no name');
  });
  assert.equal(entries.length, 6);
  assert.deepEqual(entries[0], { time: entries[0]!.time, level: 'INFO', target: 'orders', message: 'order placed' });
  assert.equal(entries[1]!.level, 'WARN');
  assert.equal(entries[1]!.message, 'slow order {"orderId":42,"user":"ann"}');
  assert.equal(entries[2]!.level, 'ERROR');
  assert.match(entries[2]!.message, /^payment failed Error: payment failed\n\s+at /);
  assert.equal(entries[3]!.level, 'TRACE');
  assert.equal(entries[4]!.level, 'FATAL');
  assert.deepEqual([entries[5]!.target, entries[5]!.level, entries[5]!.message], ['svc', 'DEBUG', 'no name']);
});

test('the pino destination survives lines that are not JSON', async () => {
  const entries = await recorded(() => {
    const destination = micromegasPinoDestination();
    destination.write('plain text\n');
    destination.write('[1,2]\n');
    destination.write('{"level":"weird","msg":7}\n');
  });
  assert.deepEqual(entries.map((e) => [e.level, e.message]), [['INFO', 'plain text'], ['INFO', '[1,2]'], ['INFO', '7']]);
  assert.equal(pinoLevel(35), Level.Info);
  assert.equal(pinoLevel(10), Level.Trace);
  assert.equal(pinoLevel(65), Level.Fatal);
});

test('the console sink prints decoded log entries and metrics', async () => {
  const lines: string[] = [];
  const sink = new ConsoleSink({ write: (line) => lines.push(line) });
  const guard = startTelemetry({ sink, env: {}, installExitHooks: false });
  info('user {} logged in', 'ann');
  imetric('requests', 'count', 3);
  fmetric('latency', 'ms', 1.5, { route: '/a' });
  await guard.shutdown();
  assert.match(lines[0]!, /^micromegas: process [0-9a-f-]{36} .* started /);
  const logLine = lines.find((l) => l.includes('logged in'));
  assert.match(logLine!, /^\d{4}-\d\d-\d\dT[\d:.]+\+00:00 INFO  \[[^\]]+\] user ann logged in$/);
  assert.ok(lines.some((l) => /METRIC requests=3 count$/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /METRIC latency=1.5 ms \{"route":"\/a"\}$/.test(l)), lines.join('\n'));
  assert.equal(formatLogEntry({ time: 't', level: 'WARN', target: 'x', message: 'm', properties: { a: 'b' } }), 't WARN  [x] m {"a":"b"}');
});
