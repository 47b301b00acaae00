// Blocks recorded by our own tracing package decode member by member; walkObjects agrees with
// parseObjects on real blocks and reports framing errors like it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  TransitFormatError,
  decodeTransitPayload,
  decompressLz4Frame,
  parseObjects,
  udt,
  walkObjects,
  type UserDefinedType,
} from '@micromegas/transit';
import { plain } from './transit_builders.ts';
import { recordTracingBlocks } from './tracing_corpus.ts';
import { rustLog } from './transit_layouts.ts';

const corpus = recordTracingBlocks(2);

/** Replaces run-dependent values (times, descriptor ids, file paths, lines) by markers after checking their type. */
function stable(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => stable(v));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, stable(v, k)]));
  }
  if ((key === 'time' || key === 'id') && typeof value === 'bigint') return `<${key}>`;
  if ((key === 'file' || key === 'module_path') && typeof value === 'string') return value.endsWith('tracing_corpus.ts') ? '<here>' : value;
  if (key === 'line' && typeof value === 'number') return '<line>';
  return value;
}

test('every event our tracing package records decodes with all its members', async () => {
  const { blocks } = await corpus;
  const byKind = (kind: string) =>
    blocks.filter((b) => b.kind === kind).flatMap((b) => decodeTransitPayload(b.stream, b.block.payload).objects.map((o) => stable(plain(o))));
  const site = { target: 'tracing_corpus', module_path: '<here>', file: '<here>', line: '<line>' };
  const logDesc = (fmt: string, level: number) => ({ $type: 'LogMetadataRecord', id: '<id>', fmt_str: fmt, ...site, level });
  const logs = byKind('log');
  assert.deepEqual(logs.slice(0, 4), [
    { $type: 'LogStaticStrEvent', desc: logDesc('static message', 4), time: '<time>' },
    { $type: 'LogStringEventV2', desc: logDesc('formatted {} ✓', 3), time: '<time>', msg: 'formatted 0 ✓' },
    { $type: 'TaggedLogString', desc: logDesc('tagged', 2), properties: { $type: 'property_set', user: 'alice', région: 'ÎdF' }, time: '<time>', msg: 'tagged' },
    { $type: 'LogStringInteropEventV3', time: '<time>', level: 3, target: 'pino', msg: 'interop 0' },
  ]);
  assert.equal(logs.length, 8);
  assert.deepEqual(logs[7], { $type: 'LogStringInteropEventV3', time: '<time>', level: 3, target: 'pino', msg: 'interop 1' });

  const metricDesc = (name: string, unit: string) =>
    ({ $type: 'MetricMetadataDependency', id: '<id>', name, unit, target: site.target, file: site.file, line: site.line, lod: 1 });
  const metrics = byKind('metrics');
  assert.deepEqual(metrics.slice(0, 4), [
    { $type: 'IntegerMetricEvent', desc: metricDesc('requests', 'count'), value: 2n ** 63n, time: '<time>' },
    { $type: 'FloatMetricEvent', desc: metricDesc('ratio', 'percent'), value: 0, time: '<time>' },
    { $type: 'TaggedIntegerMetricEvent', desc: metricDesc('bytes', 'bytes'), properties: { $type: 'property_set', k: 'v' }, value: 0n, time: '<time>' },
    { $type: 'TaggedFloatMetricEvent', desc: metricDesc('load', 'ratio'), properties: { $type: 'property_set', host: 'h1' }, value: 0.5, time: '<time>' },
  ]);
  assert.deepEqual(metrics.slice(4).map((m) => (m as { value: unknown }).value), [2n ** 63n + 1n, 0.25, 1n, 0.5]);

  const spanDesc = (name: string) => ({ $type: 'SpanRecord', id: '<id>', name, ...site, lod: 1 });
  const loc = { $type: 'SpanLocationRecord', id: '<id>', target: 'js', module_path: '', file: '', line: '<line>', lod: 1 };
  const cpu = byKind('cpu');
  assert.deepEqual(cpu.slice(0, 8), [
    { $type: 'BeginThreadSpanEvent', thread_span_desc: spanDesc('outer'), time: '<time>' },
    { $type: 'BeginThreadNamedSpanEvent', thread_span_location: loc, name: 'job-0', time: '<time>' },
    { $type: 'EndThreadNamedSpanEvent', thread_span_location: loc, name: 'job-0', time: '<time>' },
    { $type: 'EndThreadSpanEvent', thread_span_desc: spanDesc('outer'), time: '<time>' },
    { $type: 'BeginAsyncSpanEvent', span_desc: spanDesc('root'), span_id: 1n, parent_span_id: 0n, time: '<time>', depth: 0 },
    { $type: 'BeginAsyncNamedSpanEvent', span_location: loc, name: 'child-0', span_id: 2n, parent_span_id: 1n, time: '<time>', depth: 1 },
    { $type: 'EndAsyncNamedSpanEvent', span_location: loc, name: 'child-0', span_id: 2n, parent_span_id: 1n, time: '<time>', depth: 1 },
    { $type: 'EndAsyncSpanEvent', span_desc: spanDesc('root'), span_id: 1n, parent_span_id: 0n, time: '<time>', depth: 0 },
  ]);
  assert.equal(cpu.length, 16);
});

test('walkObjects visits exactly the objects parseObjects decodes, with contiguous body ranges', async () => {
  const { blocks } = await corpus;
  for (const b of blocks) {
    const udts = b.stream.objectsMetadata;
    const bytes = decompressLz4Frame(b.block.payload.objects);
    const { dependencies, objects } = decodeTransitPayload(b.stream, b.block.payload);
    const seen: [number, string, number, number][] = [];
    walkObjects(udts, bytes, (index, u, start, end) => seen.push([index, u.name, start, end]));
    assert.equal(seen.length, objects.length);
    assert.equal(seen.length, b.block.nbObjects);
    let expectedStart = 0;
    seen.forEach(([index, name, start, end], i) => {
      assert.equal(name, (objects[i] as { typeName: string }).typeName);
      assert.equal(udts[index]!.name, name);
      const headerSize = udts[index]!.size === 0 ? 5 : 1;
      assert.equal(start, expectedStart + headerSize);
      if (udts[index]!.size > 0) assert.equal(end - start, udts[index]!.size);
      // each body alone parses to the same object
      const framed = bytes.slice(start - headerSize, end);
      assert.deepEqual(plain(parseObjects(udts, dependencies, framed)[0]), plain(objects[i]));
      expectedStart = end;
    });
    assert.equal(expectedStart, bytes.length);
  }
});

test('walkObjects raises the same framing errors as parseObjects and never calls back past one', () => {
  const udts: UserDefinedType[] = [udt('Fixed', 4), udt('Dyn', 0)];
  const cases: [Uint8Array, RegExp][] = [
    [Uint8Array.of(2), /type index 2 is not in the stream metadata/],
    [Uint8Array.of(0, 1, 2), /Fixed of 4 bytes at offset 1 runs past the end/],
    [Uint8Array.of(1, 1, 0), /Dyn size prefix out of bounds/],
    [Uint8Array.of(1, 9, 0, 0, 0, 1), /Dyn of 9 bytes at offset 5 runs past the end/],
  ];
  for (const [bytes, pattern] of cases) {
    let calls = 0;
    assert.throws(() => walkObjects(udts, bytes, () => calls++), (e: unknown) => e instanceof TransitFormatError && pattern.test(e.message));
    assert.throws(() => parseObjects(udts, new Map(), bytes), (e: unknown) => e instanceof TransitFormatError && pattern.test(e.message));
    assert.equal(calls, 0);
  }
  // bodies are not decoded: a LogStringEventV2 with a dangling desc walks fine but does not parse
  const body = Uint8Array.of(1, 4, 0, 0, 0, 1, 2, 3, 4);
  const seen: number[][] = [];
  walkObjects(rustLog.objects, body, (i, _u, s, e) => seen.push([i, s, e]));
  assert.deepEqual(seen, [[1, 5, 9]]);
  assert.throws(() => parseObjects(rustLog.objects, new Map(), body), TransitFormatError);
  // malformed metadata is refused before any callback
  assert.throws(() => walkObjects([{ name: 'Bad', size: -1, members: [], isReference: false }], Uint8Array.of(0), () => assert.fail()), /malformed type/);
});
