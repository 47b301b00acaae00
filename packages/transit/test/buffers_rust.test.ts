// Blocks hand-built in the byte layouts of upstream's Rust producer (rust/tracing), decoded with the
// metadata it declares; every decoded member is checked.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compressLz4Frame, decodeTransitPayload, parseBlockObjects, parseDependencies } from '@micromegas/transit';
import { Bytes, Queue, plain, utf8 } from './transit_builders.ts';
import { rustImage, rustLog, rustMetrics, rustThread } from './transit_layouts.ts';

const UTF8 = 2;
const BIG_TIME = 0x7fff_ffff_ffff_fff0n; // exercises all 64 bits

/** Rust Utf8StaticStringDependency ("StaticString"): id, then the UTF-8 bytes up to the end. */
function staticString(q: Queue, id: bigint, text: string): Queue {
  return q.custom('StaticString', new Bytes().u64(id).raw(utf8(text)));
}

test('Rust log stream: all five event types, property sets, string ids and refs', () => {
  const deps = new Queue(rustLog.dependencies);
  for (const [id, s] of [[0x10n, 'fmt {}'], [0x11n, 'static message ✓'], [0x20n, 'my_app'], [0x30n, 'my_app::m'], [0x40n, 'src/lib.rs'], [0x50n, 'log::target']] as const) {
    staticString(deps, id, s);
  }
  deps.custom('StaticStringDependency', new Bytes().u64(0x60n).dyn(UTF8, utf8('région')));
  deps.custom('StaticStringDependency', new Bytes().u64(0x61n).dyn(UTF8, utf8('Île-de-France')));
  deps.pod('LogMetadataRecord', (s) => s.u64(0, 0x1000n).u64(8, 0x10n).u64(16, 0x20n).u64(24, 0x30n).u64(32, 0x40n).u32(40, 77).u32(44, 3));
  deps.pod('LogMetadataRecord', (s) => s.u64(0, 0x1001n).u64(8, 0x11n).u64(16, 0x20n).u64(24, 0x30n).u64(32, 0x40n).u32(40, 5).u32(44, 1));
  const props = new Bytes().u64(0x2000n).u32(1);
  props.raw(new Uint8Array([...le64(0x60n), ...le32(7), UTF8, 0, 0, 0, ...le64(0x61n), ...le32(13), UTF8, 0xaa, 0xaa, 0xaa]));
  deps.custom('PropertySetDependency', props);

  const objs = new Queue(rustLog.objects)
    .pod('LogStaticStrEvent', (s) => s.u64(0, 0x1001n).u64(8, BIG_TIME))
    .custom('LogStringEventV2', new Bytes().u64(0x1000n).u64(101n).dyn(UTF8, utf8('fmt 42 — ok')))
    .pod('LogStaticStrInteropEvent', (s) => s.strRef(0, 0x50n, 11, -1).strRef(16, 0x11n, 18, -1).u64(32, 102n).u32(40, 2))
    .custom('LogStringInteropEventV3', new Bytes().u64(103n).u8(6).u64(0x50n).u32(11).u8(UTF8).raw([0, 0, 0]).dyn(UTF8, utf8('interop 日本')))
    .custom('TaggedLogString', new Bytes().u64(0x1000n).u64(0x2000n).u64(104n).dyn(UTF8, utf8('tagged')));

  const descDyn = { $type: 'LogMetadataRecord', id: 0x1000n, fmt_str: 'fmt {}', target: 'my_app', module_path: 'my_app::m', file: 'src/lib.rs', line: 77, level: 3 };
  const descStatic = { ...descDyn, id: 0x1001n, fmt_str: 'static message ✓', line: 5, level: 1 };
  assert.deepEqual(parseBlockObjects(rustLog.dependencies, rustLog.objects, deps.finish(), objs.finish()).map(plain), [
    { $type: 'LogStaticStrEvent', desc: descStatic, time: BIG_TIME },
    { $type: 'LogStringEventV2', desc: descDyn, time: 101n, msg: 'fmt 42 — ok' },
    { $type: 'LogStaticStrInteropEvent', target: 'log::target', msg: 'static message ✓', time: 102n, level: 2 },
    { $type: 'LogStringInteropEventV3', time: 103n, level: 6, target: 'log::target', msg: 'interop 日本' },
    { $type: 'TaggedLogString', desc: descDyn, properties: { $type: 'property_set', région: 'Île-de-France' }, time: 104n, msg: 'tagged' },
  ]);
});

test('Rust metrics stream: integer, float and tagged metrics', () => {
  const deps = new Queue(rustMetrics.dependencies);
  for (const [id, s] of [[0x10n, 'frame_time'], [0x11n, 'ticks'], [0x12n, 'queue_len'], [0x13n, 'count'], [0x20n, 'engine'], [0x40n, 'src/main.rs']] as const) {
    staticString(deps, id, s);
  }
  deps.custom('StaticStringDependency', new Bytes().u64(0x60n).dyn(UTF8, utf8('gpu')));
  deps.custom('StaticStringDependency', new Bytes().u64(0x61n).dyn(UTF8, utf8('0')));
  const metric = (id: bigint, name: bigint, unit: bigint, line: number, lod: number) =>
    deps.pod('MetricMetadataDependency', (s) => s.u64(0, id).u64(8, name).u64(16, unit).u64(24, 0x20n).u64(32, 0x40n).u32(40, line).u32(44, lod));
  metric(0x1000n, 0x10n, 0x11n, 10, 2);
  metric(0x1001n, 0x12n, 0x13n, 11, 3);
  deps.custom('PropertySetDependency', new Bytes().u64(0x2000n).u32(1).u64(0x60n).u32(3).u8(UTF8).raw([0, 0, 0]).u64(0x61n).u32(1).u8(UTF8).raw([0, 0, 0]));

  const objs = new Queue(rustMetrics.objects)
    .pod('IntegerMetricEvent', (s) => s.u64(0, 0x1001n).u64(8, 0xffff_ffff_ffff_ffffn).u64(16, 1n))
    .pod('FloatMetricEvent', (s) => s.u64(0, 0x1000n).f64(8, -0.25).u64(16, 2n))
    .pod('TaggedFloatMetricEvent', (s) => s.u64(0, 0x1000n).u64(8, 0x2000n).f64(16, 1e300).u64(24, 3n))
    .pod('TaggedIntegerMetricEvent', (s) => s.u64(0, 0x1001n).u64(8, 0x2000n).u64(16, 42n).u64(24, BIG_TIME));

  const ft = { $type: 'MetricMetadataDependency', id: 0x1000n, name: 'frame_time', unit: 'ticks', target: 'engine', file: 'src/main.rs', line: 10, lod: 2 };
  const ql = { ...ft, id: 0x1001n, name: 'queue_len', unit: 'count', line: 11, lod: 3 };
  const set = { $type: 'property_set', gpu: '0' };
  assert.deepEqual(parseBlockObjects(rustMetrics.dependencies, rustMetrics.objects, deps.finish(), objs.finish()).map(plain), [
    { $type: 'IntegerMetricEvent', desc: ql, value: 0xffff_ffff_ffff_ffffn, time: 1n },
    { $type: 'FloatMetricEvent', desc: ft, value: -0.25, time: 2n },
    { $type: 'TaggedFloatMetricEvent', desc: ft, properties: set, value: 1e300, time: 3n },
    { $type: 'TaggedIntegerMetricEvent', desc: ql, properties: set, value: 42n, time: BIG_TIME },
  ]);
});

test('Rust thread stream: thread, named, async and async named spans', () => {
  const deps = new Queue(rustThread.dependencies);
  for (const [id, s] of [[0x10n, 'work'], [0x20n, 'app'], [0x30n, 'app::jobs'], [0x40n, 'src/jobs.rs'], [0x50n, 'dynamic name']] as const) {
    staticString(deps, id, s);
  }
  deps.pod('SpanRecord', (s) => s.u64(0, 0x1000n).u64(8, 0x10n).u64(16, 0x20n).u64(24, 0x30n).u64(32, 0x40n).u32(40, 12).u32(44, 1));
  deps.pod('SpanLocationRecord', (s) => s.u64(0, 0x1001n).u64(8, 0x20n).u64(16, 0x30n).u64(24, 0x40n).u32(32, 34).u32(36, 2));
  const q = new Queue(rustThread.objects);
  q.pod('BeginThreadSpanEvent', (s) => s.u64(0, 0x1000n).u64(8, 1n));
  q.pod('EndThreadSpanEvent', (s) => s.u64(0, 0x1000n).u64(8, 2n));
  q.pod('BeginThreadNamedSpanEvent', (s) => s.u64(0, 0x1001n).strRef(8, 0x50n, 12, -1).u64(24, 3n));
  q.pod('EndThreadNamedSpanEvent', (s) => s.u64(0, 0x1001n).strRef(8, 0x50n, 12, -1).u64(24, 4n));
  q.pod('BeginAsyncSpanEvent', (s) => s.u64(0, 0x1000n).u64(8, 7n).u64(16, 0n).u64(24, 5n).u32(32, 0));
  q.pod('EndAsyncSpanEvent', (s) => s.u64(0, 0x1000n).u64(8, 7n).u64(16, 0n).u64(24, 6n).u32(32, 0));
  q.pod('BeginAsyncNamedSpanEvent', (s) => s.u64(0, 0x1001n).strRef(8, 0x50n, 12, -1).u64(24, 8n).u64(32, 7n).u64(40, 7n).u32(48, 1));
  q.pod('EndAsyncNamedSpanEvent', (s) => s.u64(0, 0x1001n).strRef(8, 0x50n, 12, -1).u64(24, 8n).u64(32, 7n).u64(40, 8n).u32(48, 1));

  const desc = { $type: 'SpanRecord', id: 0x1000n, name: 'work', target: 'app', module_path: 'app::jobs', file: 'src/jobs.rs', line: 12, lod: 1 };
  const loc = { $type: 'SpanLocationRecord', id: 0x1001n, target: 'app', module_path: 'app::jobs', file: 'src/jobs.rs', line: 34, lod: 2 };
  const name = 'dynamic name';
  assert.deepEqual(parseBlockObjects(rustThread.dependencies, rustThread.objects, deps.finish(), q.finish()).map(plain), [
    { $type: 'BeginThreadSpanEvent', thread_span_desc: desc, time: 1n },
    { $type: 'EndThreadSpanEvent', thread_span_desc: desc, time: 2n },
    { $type: 'BeginThreadNamedSpanEvent', thread_span_location: loc, name, time: 3n },
    { $type: 'EndThreadNamedSpanEvent', thread_span_location: loc, name, time: 4n },
    { $type: 'BeginAsyncSpanEvent', span_desc: desc, span_id: 7n, parent_span_id: 0n, time: 5n, depth: 0 },
    { $type: 'EndAsyncSpanEvent', span_desc: desc, span_id: 7n, parent_span_id: 0n, time: 6n, depth: 0 },
    { $type: 'BeginAsyncNamedSpanEvent', span_location: loc, name, span_id: 8n, parent_span_id: 7n, time: 7n, depth: 1 },
    { $type: 'EndAsyncNamedSpanEvent', span_location: loc, name, span_id: 8n, parent_span_id: 7n, time: 8n, depth: 1 },
  ]);
});

test('Rust image stream through LZ4 frames: empty dependencies, binary data kept exactly', () => {
  const data = Uint8Array.from({ length: 3000 }, (_, i) => (i * 31) & 0xff);
  const objs = new Queue(rustImage.objects)
    .custom('ImageEvent', new Bytes().u64(9n).dyn(UTF8, utf8('screenshot')).dyn(UTF8, utf8('png')).u32(data.length).raw(data))
    .custom('ImageEvent', new Bytes().u64(10n).dyn(UTF8, utf8('')).dyn(UTF8, utf8('raw')).u32(0));
  const payload = { dependencies: compressLz4Frame(new Uint8Array(0)), objects: compressLz4Frame(objs.finish()) };
  const decoded = decodeTransitPayload({ dependenciesMetadata: rustImage.dependencies, objectsMetadata: rustImage.objects }, payload);
  assert.equal(decoded.dependencies.size, 0);
  assert.deepEqual(decoded.objects.map(plain), [
    { $type: 'ImageEvent', time: 9n, name: 'screenshot', format: 'png', data: [...data] },
    { $type: 'ImageEvent', time: 10n, name: '', format: 'raw', data: [] },
  ]);
  assert.equal(parseDependencies(rustImage.dependencies, new Uint8Array(0)).size, 0);
});

function le64(v: bigint): number[] {
  return [...new Bytes().u64(v).finish()];
}
function le32(v: number): number[] {
  return [...new Bytes().u32(v).finish()];
}
