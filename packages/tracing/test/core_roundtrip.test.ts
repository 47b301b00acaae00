import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { TransitObject } from '@micromegas/transit';
import {
  Level,
  MemorySink,
  asyncNamedSpan,
  asyncSpan,
  beginSpan,
  currentAsyncSpan,
  debug,
  endSpan,
  error,
  fatal,
  flushAllStreams,
  fmetric,
  imetric,
  info,
  initDispatch,
  instrument,
  isTelemetryActive,
  log,
  logDescriptor,
  logInterop,
  logWith,
  metricDescriptor,
  namedSpanScope,
  recordFloat,
  recordInt,
  setMaxLevel,
  setProcessProperty,
  shutdownDispatch,
  spanDescriptor,
  spanScope,
  trace,
  warn,
} from '@micromegas/tracing';
import { decodeKind, logLevel, logText, testProcess } from './core_helpers.ts';

afterEach(async () => {
  await shutdownDispatch();
  setMaxLevel(Level.Info);
});

function start(options: { logBufferBytes?: number; metricsBufferBytes?: number; threadBufferBytes?: number } = {}): MemorySink {
  const sink = new MemorySink();
  initDispatch({ sink, process: testProcess(), backgroundCompression: false, ...options });
  return sink;
}

test('every API call is a no-op before initDispatch', async () => {
  assert.equal(isTelemetryActive(), false);
  info('nothing');
  error('nothing {}', 1);
  imetric('m', 'count', 1);
  fmetric('f', 'ratio', 0.5);
  assert.equal(spanScope('s', () => 42), 42);
  assert.equal(await asyncSpan('a', async () => 7), 7);
  flushAllStreams();
  await shutdownDispatch();
  const sink = start();
  flushAllStreams();
  assert.equal(sink.blocks.length, 0, 'nothing recorded before init reaches the sink');
});

test('logs come back exactly: static, formatted, properties, interop, unicode, levels', async () => {
  setProcessProperty('version', '1.2.3');
  const sink = start();
  assert.equal(sink.process?.properties.get('version'), '1.2.3');
  assert.deepEqual(
    sink.streams.map((s) => s.kind),
    ['log', 'metrics', 'cpu'],
  );
  fatal('fatal static');
  error('disk {} is {}% full', '/dev/sda1', 97);
  warn('printf %s=%d', 'x', 5);
  info('héllo wörld ✓ 🚀');
  info('unicode arg {}', 'naïve — 日本語 🎉');
  debug('filtered out at Info');
  trace('filtered out too');
  log(Level.Warn, 'with props', { user: 'alice', région: 'ÎdF' });
  logInterop(Level.Error, 'pino', 'fully formatted {"a":1}');
  setMaxLevel(Level.Trace);
  debug('now visible');
  trace('trace {}', { nested: [1, 2] });
  const d = logDescriptor(Level.Info, 'descriptor {} {}', { target: 'custom', file: 'a.ts', line: 12 });
  logWith(d);
  logWith(d, 1n, null);
  flushAllStreams();

  const events = decodeKind(sink, 'log');
  assert.deepEqual(
    events.map((e) => [e.typeName, logLevel(e), logText(e)]),
    [
      ['LogStaticStrEvent', 1, 'fatal static'],
      ['LogStringEventV2', 2, 'disk /dev/sda1 is 97% full'],
      ['LogStringEventV2', 3, 'printf x=5'],
      ['LogStaticStrEvent', 4, 'héllo wörld ✓ 🚀'],
      ['LogStringEventV2', 4, 'unicode arg naïve — 日本語 🎉'],
      ['TaggedLogString', 3, 'with props'],
      ['LogStringInteropEventV3', 2, 'fully formatted {"a":1}'],
      ['LogStaticStrEvent', 5, 'now visible'],
      ['LogStringEventV2', 6, 'trace { nested: [ 1, 2 ] }'],
      ['LogStaticStrEvent', 4, 'descriptor {} {}'],
      ['LogStringEventV2', 4, 'descriptor 1 null'],
    ],
  );
  const tagged = events[5]!;
  assert.deepEqual([...(tagged.get('properties') as TransitObject).members], [['user', 'alice'], ['région', 'ÎdF']]);
  assert.equal(events[6]!.get('target'), 'pino');
  const desc = events[9]!.get('desc') as TransitObject;
  assert.equal(desc.get('target'), 'custom');
  assert.equal(desc.get('file'), 'a.ts');
  assert.equal(desc.get('line'), 12);
  // descriptors created from a call carry that call's file and line
  const firstDesc = events[0]!.get('desc') as TransitObject;
  assert.match(firstDesc.get('file') as string, /core_roundtrip\.test\.ts$/);
  assert.equal(firstDesc.get('target'), 'core_roundtrip.test');
  assert.ok((firstDesc.get('line') as number) > 0);
  // times increase and are absolute ticks
  const times = events.map((e) => e.get('time') as bigint);
  for (let i = 1; i < times.length; i++) assert.ok(times[i]! >= times[i - 1]!);
  assert.ok(times[0]! >= sink.process!.startTicks);
});

test('metric values come back exactly, integers beyond 2^32 and 2^53 included', () => {
  const sink = start();
  const ints: [number | bigint, bigint][] = [
    [0, 0n],
    [42, 42n],
    [2 ** 32 + 7, 2n ** 32n + 7n],
    [2 ** 53 - 1, 2n ** 53n - 1n],
    [2n ** 63n + 5n, 2n ** 63n + 5n],
    [-1, 2n ** 64n - 1n],
  ];
  for (const [v] of ints) imetric('requests', 'count', v);
  const floats = [0, -0.5, Math.PI, 1e300, -Infinity, Number.MIN_VALUE];
  for (const v of floats) fmetric('ratio', 'percent', v);
  const m = metricDescriptor('latency', 'ticks', { target: 'net' });
  recordInt(m, 123456789012);
  recordFloat(m, 2.5, { route: '/a' });
  imetric('tagged', 'bytes', 2 ** 40, new Map([['k', 'v']]));
  fmetric('nan', 'none', NaN);
  flushAllStreams();
  const events = decodeKind(sink, 'metrics');
  assert.equal(events.length, ints.length + floats.length + 4);
  ints.forEach(([, expected], i) => {
    const e = events[i]!;
    assert.equal(e.typeName, 'IntegerMetricEvent');
    assert.equal(e.get('value'), expected);
    const desc = e.get('desc') as TransitObject;
    assert.equal(desc.get('name'), 'requests');
    assert.equal(desc.get('unit'), 'count');
  });
  floats.forEach((expected, i) => {
    const e = events[ints.length + i]!;
    assert.equal(e.typeName, 'FloatMetricEvent');
    assert.ok(Object.is(e.get('value'), expected), `${String(e.get('value'))} vs ${expected}`);
  });
  const [a, b, c, d] = events.slice(ints.length + floats.length);
  assert.equal(a!.get('value'), 123456789012n);
  assert.equal((a!.get('desc') as TransitObject).get('target'), 'net');
  assert.equal(b!.typeName, 'TaggedFloatMetricEvent');
  assert.equal(b!.get('value'), 2.5);
  assert.deepEqual([...(b!.get('properties') as TransitObject).members], [['route', '/a']]);
  assert.equal(c!.typeName, 'TaggedIntegerMetricEvent');
  assert.equal(c!.get('value'), 2n ** 40n);
  assert.ok(Number.isNaN(d!.get('value') as number));
});

interface SpanEvent {
  kind: 'begin' | 'end';
  name: string;
  id?: bigint;
  parent?: bigint;
  depth?: number;
  time: bigint;
}

function spanEvents(sink: MemorySink): SpanEvent[] {
  return decodeKind(sink, 'cpu').map((e) => {
    const kind = e.typeName.startsWith('Begin') ? 'begin' : 'end';
    const desc = (e.get('thread_span_desc') ?? e.get('span_desc')) as TransitObject | undefined;
    const name = desc ? (desc.get('name') as string) : (e.get('name') as string);
    const out: SpanEvent = { kind, name, time: e.get('time') as bigint };
    if (e.typeName.includes('Async')) {
      out.id = e.get('span_id') as bigint;
      out.parent = e.get('parent_span_id') as bigint;
      out.depth = e.get('depth') as number;
    }
    return out;
  });
}

test('thread spans: nested, static and run-time names, begin/end handles, instrument', () => {
  const sink = start();
  const outer = spanDescriptor('outer');
  beginSpan(outer);
  const r = spanScope('inner', () => namedSpanScope(`job-${7}`, () => 5));
  assert.equal(r, 5);
  assert.throws(() => spanScope('throws', () => { throw new Error('x'); }));
  const add = instrument('add', (a: number, b: number) => a + b);
  assert.equal(add(2, 3), 5);
  endSpan(outer);
  flushAllStreams();
  const events = spanEvents(sink);
  assert.deepEqual(
    events.map((e) => `${e.kind}:${e.name}`),
    ['begin:outer', 'begin:inner', 'begin:job-7', 'end:job-7', 'end:inner', 'begin:throws', 'end:throws', 'begin:add', 'end:add', 'end:outer'],
  );
  const named = decodeKind(sink, 'cpu')[2]!;
  assert.equal(named.typeName, 'BeginThreadNamedSpanEvent');
  assert.equal((named.get('thread_span_location') as TransitObject).get('target'), 'js');
  for (let i = 1; i < events.length; i++) assert.ok(events[i]!.time >= events[i - 1]!.time);
});

const tick = () => new Promise<void>((r) => setImmediate(r));

test('async spans: nested awaits and concurrent branches get the right parents and depths', async () => {
  const sink = start();
  let ids: Record<string, number> = {};
  const result = await asyncSpan('root', async () => {
    ids.root = currentAsyncSpan()!.spanId;
    await tick();
    const [a, b] = await Promise.all([
      asyncSpan('a', async () => {
        ids.a = currentAsyncSpan()!.spanId;
        await tick();
        await asyncSpan('a1', async () => {
          ids.a1 = currentAsyncSpan()!.spanId;
          await tick();
        });
        return 'A';
      }),
      asyncNamedSpan(`b-${1}`, async () => {
        ids.b = currentAsyncSpan()!.spanId;
        await tick();
        await asyncSpan('b1', async () => {
          ids.b1 = currentAsyncSpan()!.spanId;
          await tick();
          assert.equal(currentAsyncSpan()!.depth, 2);
        });
        return 'B';
      }),
    ]);
    await tick();
    return a + b;
  });
  assert.equal(result, 'AB');
  assert.equal(currentAsyncSpan(), undefined);
  await asyncSpan('second-root', async () => {});
  const fetchLike = instrument('fetchLike', async (x: number) => {
    await tick();
    return x * 2;
  });
  assert.equal(await fetchLike(21), 42);
  flushAllStreams();

  const events = spanEvents(sink);
  const begins = new Map(events.filter((e) => e.kind === 'begin').map((e) => [e.name, e]));
  const ends = new Map(events.filter((e) => e.kind === 'end').map((e) => [e.name, e]));
  const expect: [string, string | null, number, keyof typeof ids | null][] = [
    ['root', null, 0, 'root'],
    ['a', 'root', 1, 'a'],
    ['a1', 'a', 2, 'a1'],
    ['b-1', 'root', 1, 'b'],
    ['b1', 'b-1', 2, 'b1'],
    ['second-root', null, 0, null],
    ['fetchLike', null, 0, null],
  ];
  for (const [name, parent, depth, key] of expect) {
    const b = begins.get(name)!;
    const e = ends.get(name)!;
    assert.ok(b && e, name);
    assert.equal(b.depth, depth, name);
    assert.equal(e.id, b.id);
    assert.equal(e.parent, b.parent);
    assert.equal(e.depth, depth);
    assert.equal(b.parent, parent === null ? 0n : begins.get(parent)!.id, name);
    if (key !== null) assert.equal(b.id, BigInt(ids[key]!));
    assert.ok(e.time >= b.time);
  }
  const allIds = [...begins.values()].map((b) => b.id);
  assert.equal(new Set(allIds).size, allIds.length, 'span ids are unique');
  assert.ok(allIds.every((id) => id! >= 1n));
  // concurrency: both branches began before either ended
  const order = events.map((e) => `${e.kind}:${e.name}`);
  assert.ok(order.indexOf('begin:b-1') < order.indexOf('end:a'));
  ids = {};
});

test('block boundaries: contiguous offsets, end == next begin, each block self-contained', () => {
  const sink = start({ logBufferBytes: 1024, metricsBufferBytes: 1024, threadBufferBytes: 1024 });
  const n = 2000;
  for (let i = 0; i < n; i++) {
    info(i % 3 === 0 ? 'static a' : 'static b');
    if (i % 10 === 0) warn('value {}', i);
    if (i % 50 === 0) log(Level.Info, 'tagged', { i: String(i % 2) });
    imetric('counter', 'count', i);
    if (i % 7 === 0) fmetric('gauge', 'ratio', i / 7, { parity: String(i % 2) });
    spanScope('loop', () => namedSpanScope(i % 2 ? 'odd' : 'even', () => undefined));
  }
  flushAllStreams();
  for (const kind of ['log', 'metrics', 'cpu'] as const) {
    const blocks = sink.blocksOf(kind);
    assert.ok(blocks.length > 5, `${kind}: ${blocks.length} blocks`);
    let offset = 0n;
    for (let i = 0; i < blocks.length; i++) {
      const b = blocks[i]!.block;
      assert.equal(b.objectOffset, offset, `${kind} block ${i} offset`);
      offset += BigInt(b.nbObjects);
      if (i > 0) {
        assert.equal(b.beginTime, blocks[i - 1]!.block.endTime);
        assert.equal(b.beginTicks, blocks[i - 1]!.block.endTicks);
      }
      assert.ok(b.endTicks >= b.beginTicks);
      assert.match(b.blockId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.match(b.beginTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}\+00:00$/);
    }
    // decoding each block alone succeeds (duplicate or missing dependencies would throw)
    const decoded = decodeKind(sink, kind);
    assert.equal(BigInt(decoded.length), offset);
    for (const block of blocks) assert.equal(decodeKind({ blocks: [block] } as MemorySink, kind).length, block.block.nbObjects);
  }
  const logs = decodeKind(sink, 'log');
  assert.equal(logs.filter((e) => logText(e).startsWith('static')).length, n);
  assert.deepEqual(
    logs.filter((e) => e.typeName === 'LogStringEventV2').map(logText),
    Array.from({ length: n / 10 }, (_, k) => `value ${k * 10}`),
  );
  const counter = decodeKind(sink, 'metrics').filter((e) => e.typeName === 'IntegerMetricEvent');
  assert.deepEqual(counter.map((e) => e.get('value')), Array.from({ length: n }, (_, i) => BigInt(i)));
  const spans = decodeKind(sink, 'cpu');
  assert.equal(spans.length, 4 * n);
});

test('level filtering and shutdown: nothing is recorded after shutdown, and shutdown is idempotent', async () => {
  const sink = start();
  setMaxLevel(Level.Error);
  warn('no');
  error('yes');
  fatal('yes too');
  await shutdownDispatch();
  assert.equal(sink.isShutDown, true);
  assert.equal(isTelemetryActive(), false);
  info('after');
  imetric('after', 'count', 1);
  await shutdownDispatch();
  assert.deepEqual(decodeKind(sink, 'log').map(logText), ['yes', 'yes too']);
});

test('a message larger than the whole buffer still travels intact', () => {
  const sink = start({ logBufferBytes: 1024 });
  info('before');
  const big = 'é'.repeat(5000) + '✓';
  info('big: {}', big);
  info('after');
  flushAllStreams();
  assert.deepEqual(decodeKind(sink, 'log').map(logText), ['before', `big: ${big}`, 'after']);
});
