// Blocks hand-built in the byte layouts of upstream's Unreal producer (unreal/MicromegasTracing, x86-64
// struct layouts), decoded with the metadata it declares; every decoded member is checked, with its
// three string codecs: Ansi (0), Wide UTF-16LE (1) and Utf8 (2).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBlockObjects, parseDependencies } from '@micromegas/transit';
import { Bytes, Queue, latin1, plain, utf16, utf8 } from './transit_builders.ts';
import { unrealImage, unrealLog, unrealMetrics, unrealNet, unrealThread } from './transit_layouts.ts';

const ANSI = 0;
const WIDE = 1;
const UTF8 = 2;
const UNREAL_NAME = 3; // codec of an FName StaticStringRef in memory; its dependency is written as Ansi or Wide

/** StaticStringDependency (Unreal StaticStringDependency.h): id, then a DynString. */
function ssd(q: Queue, id: bigint, codec: number, bytes: Uint8Array): Queue {
  return q.custom('StaticStringDependency', new Bytes().u64(id).dyn(codec, bytes));
}
/** A raw 16-byte StaticStringRef (ptr, size in bytes, codec, 3 padding bytes). */
function ssrBytes(b: Bytes, id: bigint, size: number, codec: number): Bytes {
  return b.u64(id).u32(size).u8(codec).raw([0xcd, 0xcd, 0xcd]);
}

test('Unreal log stream: TaggedLogInteropEvent and TaggedLogString with FName property sets', () => {
  const deps = new Queue(unrealLog.dependencies);
  ssd(deps, 0x10n, WIDE, utf16('LogTemp'));
  ssd(deps, 0x11n, WIDE, utf16('Spawned {0} actors ✓'));
  ssd(deps, 0x12n, ANSI, latin1('Source/Game/Main.cpp'));
  ssd(deps, 0x13n, ANSI, latin1('map'));
  ssd(deps, 0x14n, WIDE, utf16('Städte_日本'));
  ssd(deps, 0x15n, UTF8, utf8('LogNet'));
  deps.pod('LogMetadataDependency', (s) =>
    s.u64(0, 0x1000n).strRef(8, 0x10n, 14, WIDE).strRef(24, 0x11n, 42, WIDE).strRef(40, 0x12n, 20, ANSI).u32(56, 321).u8(60, 4),
  );
  const props = ssrBytes(ssrBytes(new Bytes().u64(0x2000n).u32(1), 0x13n, 0, UNREAL_NAME), 0x14n, 0, UNREAL_NAME);
  deps.custom('PropertySetDependency', props);

  const interop = ssrBytes(new Bytes().u64(0xffff_0000_0000_0001n).u8(2), 0x15n, 6, UTF8).u64(0x2000n).dyn(WIDE, utf16('Connection lost: «peer» 🚫'));
  const objs = new Queue(unrealLog.objects)
    .custom('TaggedLogInteropEvent', interop)
    .custom('TaggedLogString', new Bytes().u64(0x1000n).u64(0x2000n).u64(55n).dyn(WIDE, utf16('Spawned 3 actors ✓')))
    .custom('TaggedLogString', new Bytes().u64(0x1000n).u64(0x2000n).u64(56n).dyn(ANSI, latin1('plain ansi')))
    // Upstream decodes Ansi as lossy UTF-8: a Latin-1 byte that is not valid UTF-8 becomes U+FFFD.
    .custom('TaggedLogString', new Bytes().u64(0x1000n).u64(0x2000n).u64(57n).dyn(ANSI, latin1('café')));

  const desc = { $type: 'LogMetadataDependency', id: 0x1000n, target: 'LogTemp', fmt_str: 'Spawned {0} actors ✓', file: 'Source/Game/Main.cpp', line: 321, level: 4 };
  const properties = { $type: 'property_set', map: 'Städte_日本' };
  assert.deepEqual(parseBlockObjects(unrealLog.dependencies, unrealLog.objects, deps.finish(), objs.finish()).map(plain), [
    { $type: 'TaggedLogInteropEvent', time: BigInt.asIntN(64, 0xffff_0000_0000_0001n) /* read as i64, like upstream */, level: 2, target: 'LogNet', properties, msg: 'Connection lost: «peer» 🚫' },
    { $type: 'TaggedLogString', desc, properties, time: 55n, msg: 'Spawned 3 actors ✓' },
    { $type: 'TaggedLogString', desc, properties, time: 56n, msg: 'plain ansi' },
    { $type: 'TaggedLogString', desc, properties, time: 57n, msg: 'caf\ufffd' },
  ]);
});

test('Unreal metrics stream: tagged integer and float metrics with uint8 lod', () => {
  const deps = new Queue(unrealMetrics.dependencies);
  ssd(deps, 0x10n, WIDE, utf16('FrameTime'));
  ssd(deps, 0x11n, WIDE, utf16('ticks'));
  ssd(deps, 0x12n, ANSI, latin1('Engine'));
  ssd(deps, 0x13n, ANSI, latin1('Engine.cpp'));
  ssd(deps, 0x14n, WIDE, utf16('Memory'));
  ssd(deps, 0x15n, WIDE, utf16('bytes'));
  deps.pod('MetricMetadataDependency', (s) => s.u64(0, 0x1000n).u8(8, 2).u64(16, 0x10n).u64(24, 0x11n).u64(32, 0x12n).u64(40, 0x13n).u32(48, 99));
  deps.pod('MetricMetadataDependency', (s) => s.u64(0, 0x1001n).u8(8, 1).u64(16, 0x14n).u64(24, 0x15n).u64(32, 0x12n).u64(40, 0x13n).u32(48, 100));
  deps.custom('PropertySetDependency', new Bytes().u64(0x2000n).u32(0)); // an empty context

  const objs = new Queue(unrealMetrics.objects)
    .pod('TaggedIntegerMetricEvent', (s) => s.u64(0, 0x1000n).u64(8, 0x2000n).u64(16, 123456789n).u64(24, 1000n))
    .pod('TaggedFloatMetricEvent', (s) => s.u64(0, 0x1001n).u64(8, 0x2000n).f64(16, 1.5e9).u64(24, 1001n));
  const ft = { $type: 'MetricMetadataDependency', id: 0x1000n, lod: 2, name: 'FrameTime', unit: 'ticks', target: 'Engine', file: 'Engine.cpp', line: 99 };
  const mem = { ...ft, id: 0x1001n, lod: 1, name: 'Memory', unit: 'bytes', line: 100 };
  const properties = { $type: 'property_set' };
  assert.deepEqual(parseBlockObjects(unrealMetrics.dependencies, unrealMetrics.objects, deps.finish(), objs.finish()).map(plain), [
    { $type: 'TaggedIntegerMetricEvent', desc: ft, properties, value: 123456789n, time: 1000n },
    { $type: 'TaggedFloatMetricEvent', desc: mem, properties, value: 1.5e9, time: 1001n },
  ]);
});

test('Unreal thread stream: span and named span events', () => {
  const deps = new Queue(unrealThread.dependencies);
  ssd(deps, 0x10n, ANSI, latin1('Tick'));
  ssd(deps, 0x11n, ANSI, latin1('Game'));
  ssd(deps, 0x12n, ANSI, latin1('World.cpp'));
  ssd(deps, 0x13n, WIDE, utf16('BP_Ünit_C'));
  deps.pod('SpanMetadataDependency', (s) => s.u64(0, 0x1000n).u64(8, 0x10n).u64(16, 0x11n).u64(24, 0x12n).u32(32, 7));
  deps.pod('SpanLocationDependency', (s) => s.u64(0, 0x1001n).u64(8, 0x11n).u64(16, 0x12n).u32(24, 8));
  const objs = new Queue(unrealThread.objects)
    .pod('BeginThreadSpanEvent', (s) => s.u64(0, 0x1000n).u64(8, 1n))
    .pod('BeginThreadNamedSpanEvent', (s) => s.u64(0, 0x1001n).u64(8, 2n).strRef(16, 0x13n, 0, UNREAL_NAME))
    .pod('EndThreadNamedSpanEvent', (s) => s.u64(0, 0x1001n).u64(8, 3n).strRef(16, 0x13n, 0, UNREAL_NAME))
    .pod('EndThreadSpanEvent', (s) => s.u64(0, 0x1000n).u64(8, 4n));
  const desc = { $type: 'SpanMetadataDependency', id: 0x1000n, name: 'Tick', target: 'Game', file: 'World.cpp', line: 7 };
  const loc = { $type: 'SpanLocationDependency', id: 0x1001n, target: 'Game', file: 'World.cpp', line: 8 };
  assert.deepEqual(parseBlockObjects(unrealThread.dependencies, unrealThread.objects, deps.finish(), objs.finish()).map(plain), [
    { $type: 'BeginThreadSpanEvent', thread_span_desc: desc, time: 1n },
    { $type: 'BeginThreadNamedSpanEvent', thread_span_location: loc, time: 2n, name: 'BP_Ünit_C' },
    { $type: 'EndThreadNamedSpanEvent', thread_span_location: loc, time: 3n, name: 'BP_Ünit_C' },
    { $type: 'EndThreadSpanEvent', thread_span_desc: desc, time: 4n },
  ]);
});

test('Unreal net stream: connection, object, property and RPC events', () => {
  const deps = new Queue(unrealNet.dependencies);
  ssd(deps, 0x10n, WIDE, utf16('IpConnection_0'));
  ssd(deps, 0x11n, ANSI, latin1('PlayerController'));
  ssd(deps, 0x12n, ANSI, latin1('ReplicatedMovement'));
  ssd(deps, 0x13n, WIDE, utf16('ServerMove'));
  const objs = new Queue(unrealNet.objects)
    .pod('NetConnectionBeginEvent', (s) => s.u64(0, 1n).strRef(8, 0x10n, 28, WIDE).u8(24, 1))
    .pod('NetObjectBeginEvent', (s) => s.u64(0, 2n).strRef(8, 0x11n, 0, UNREAL_NAME))
    .pod('NetPropertyEvent', (s) => s.u64(0, 3n).strRef(8, 0x12n, 0, UNREAL_NAME).u32(24, 96))
    .pod('NetObjectEndEvent', (s) => s.u64(0, 4n).u32(8, 160))
    .pod('NetRPCBeginEvent', (s) => s.u64(0, 5n).strRef(8, 0x13n, 0, UNREAL_NAME))
    .pod('NetRPCEndEvent', (s) => s.u64(0, 6n).u32(8, 48))
    .pod('NetConnectionEndEvent', (s) => s.u64(0, 7n).u32(8, 4096))
    .pod('NetConnectionBeginEvent', (s) => s.u64(0, 8n).strRef(8, 0x10n, 28, WIDE).u8(24, 0));
  assert.deepEqual(parseBlockObjects(unrealNet.dependencies, unrealNet.objects, deps.finish(), objs.finish()).map(plain), [
    { $type: 'NetConnectionBeginEvent', time: 1n, connection_name: 'IpConnection_0', is_outgoing: 1 },
    { $type: 'NetObjectBeginEvent', time: 2n, object_name: 'PlayerController' },
    { $type: 'NetPropertyEvent', time: 3n, property_name: 'ReplicatedMovement', bit_size: 96 },
    { $type: 'NetObjectEndEvent', time: 4n, bit_size: 160 },
    { $type: 'NetRPCBeginEvent', time: 5n, function_name: 'ServerMove' },
    { $type: 'NetRPCEndEvent', time: 6n, bit_size: 48 },
    { $type: 'NetConnectionEndEvent', time: 7n, bit_size: 4096 },
    { $type: 'NetConnectionBeginEvent', time: 8n, connection_name: 'IpConnection_0', is_outgoing: 0 },
  ]);
});

test('Unreal image stream: Wide name and format, DynamicBlob data, empty dependencies', () => {
  const data = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0, 0xff]);
  const objs = new Queue(unrealImage.objects).custom('ImageEvent', new Bytes().u64(77n).dyn(WIDE, utf16('Capture_01')).dyn(WIDE, utf16('png')).u32(data.length).raw(data));
  assert.equal(parseDependencies(unrealImage.dependencies, new Uint8Array(0)).size, 0);
  assert.deepEqual(parseBlockObjects(unrealImage.dependencies, unrealImage.objects, new Uint8Array(0), objs.finish()).map(plain), [
    { $type: 'ImageEvent', time: 77n, name: 'Capture_01', format: 'png', data: [...data] },
  ]);
});
