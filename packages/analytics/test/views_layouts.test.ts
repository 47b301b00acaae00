// The fast log_entries / measures processors read events at offsets from each stream's metadata; here
// they run over blocks hand-built in upstream's Rust and Unreal layouts (the transit tests' builders),
// and every row is compared with upstream's mapping applied to the generic decoder's objects.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBlockObjects, parseDependencies, TransitObject, type UserDefinedType } from '@micromegas/transit';
import { Bytes, Queue, latin1, utf16, utf8 } from '../../transit/test/transit_builders.ts';
import { rustLog, rustMetrics, unrealLog, unrealMetrics } from '../../transit/test/transit_layouts.ts';
import { decodeJsonb } from '../src/jsonb.ts';
import { ConvertTicks } from '../src/time.ts';
import { LogEntriesBuilder } from '../src/views/log_entries.ts';
import { MeasuresBuilder } from '../src/views/measures.ts';
import type { BlockWithContext } from '../src/metadata.ts';

const ANSI = 0;
const WIDE = 1;
const UTF8 = 2;
const convert = new ConvertTicks(1000n, 1_700_000_000_000_000_000n, 3_000_000_000n); // 3 GHz

function ctxFor(layout: { objects: UserDefinedType[]; dependencies: UserDefinedType[] }, blockId: string): BlockWithContext {
  const process = {
    processId: '11111111-2222-3333-4444-555555555555', exe: 'game', username: 'u', realname: 'u', computer: 'c', distro: 'd', cpuBrand: 'x',
    tscFrequency: 3_000_000_000n, startTimeNs: 1_700_000_000_000_000_000n, startTicks: 1000n, insertTimeNs: 0n, parentProcessId: null, properties: new Map([['build', '7']]),
  };
  const stream = {
    streamId: '66666666-7777-8888-9999-000000000000', processId: process.processId, dependenciesMetadata: layout.dependencies, objectsMetadata: layout.objects,
    dependenciesMetadataBytes: new Uint8Array(), objectsMetadataBytes: new Uint8Array(), tags: ['log'], properties: new Map(), format: 'micromegas-transit', insertTimeNs: 0n,
  };
  const block = { blockId, streamId: stream.streamId, processId: process.processId, beginTimeNs: 0n, beginTicks: 0n, endTimeNs: 0n, endTicks: 0n, nbObjects: 10, objectOffset: 0n, payloadSize: 0n, insertTimeNs: 5n };
  return { process, stream, block };
}

const LEVELS: Record<string, number> = { fatal: 1, error: 2, warning: 3, info: 4, debug: 5, trace: 6 };
const str = (o: TransitObject, k: string) => o.get(k) as string;
const num = (o: TransitObject, k: string) => Number(o.get(k));
const desc = (o: TransitObject) => o.get('desc') as TransitObject;
const props = (o: TransitObject): Record<string, string> => Object.fromEntries([...(o.get('properties') as TransitObject).members].filter(([, v]) => typeof v === 'string')) as Record<string, string>;

/** Upstream's log_entry_from_value over generic objects. */
function expectedLogs(objects: unknown[]) {
  return objects.map((v) => {
    const o = v as TransitObject;
    const time = convert.ticksToNanos(o.get('time') as bigint);
    switch (o.typeName) {
      case 'LogStaticStrEvent':
        return { time, level: num(desc(o), 'level'), target: str(desc(o), 'target'), msg: str(desc(o), 'fmt_str'), properties: {} };
      case 'LogStringEventV2':
        return { time, level: num(desc(o), 'level'), target: str(desc(o), 'target'), msg: str(o, 'msg'), properties: {} };
      case 'TaggedLogString': {
        const p = props(o);
        return { time, level: typeof p.level === 'string' ? LEVELS[p.level]! : num(desc(o), 'level'), target: p.target ?? str(desc(o), 'target'), msg: str(o, 'msg'), properties: p };
      }
      case 'TaggedLogInteropEvent':
        return { time, level: num(o, 'level'), target: str(o, 'target'), msg: str(o, 'msg'), properties: props(o) };
      default:
        return { time, level: num(o, 'level'), target: str(o, 'target'), msg: str(o, 'msg'), properties: {} };
    }
  });
}

function actualLogs(layout: { objects: UserDefinedType[]; dependencies: UserDefinedType[] }, deps: Uint8Array, objs: Uint8Array) {
  const builder = new LogEntriesBuilder();
  builder.addBlock(ctxFor(layout, 'b1'), { dependencies: deps, objects: objs }, parseDependencies(layout.dependencies, deps), convert);
  const { batch } = builder.finish();
  return Array.from({ length: batch.numRows }, (_, i) => ({
    time: (batch.getChild('time')!.toArray() as BigInt64Array)[i]!,
    level: batch.getChild('level')!.get(i) as number,
    target: String(batch.getChild('target')!.get(i)),
    msg: batch.getChild('msg')!.get(i) as string,
    properties: decodeJsonb(batch.getChild('properties')!.get(i) as Uint8Array),
  }));
}

const staticString = (q: Queue, id: bigint, text: string) => q.custom('StaticString', new Bytes().u64(id).raw(utf8(text)));
const ssd = (q: Queue, id: bigint, codec: number, bytes: Uint8Array) => q.custom('StaticStringDependency', new Bytes().u64(id).dyn(codec, bytes));

test('Rust log layouts: static, dynamic, interop and tagged events (level and target overrides)', () => {
  const deps = new Queue(rustLog.dependencies);
  for (const [id, s] of [[0x10n, 'fmt {}'], [0x11n, 'static ✓'], [0x20n, 'my_app'], [0x30n, 'm'], [0x40n, 'lib.rs'], [0x50n, 'log::target'], [0x51n, 'level'], [0x52n, 'error'], [0x53n, 'target'], [0x54n, 'overridden']] as const) {
    staticString(deps, id, s);
  }
  deps.pod('LogMetadataRecord', (s) => s.u64(0, 0x1000n).u64(8, 0x10n).u64(16, 0x20n).u64(24, 0x30n).u64(32, 0x40n).u32(40, 7).u32(44, 3));
  deps.pod('LogMetadataRecord', (s) => s.u64(0, 0x1001n).u64(8, 0x11n).u64(16, 0x20n).u64(24, 0x30n).u64(32, 0x40n).u32(40, 5).u32(44, 1));
  const ref = (id: bigint, len: number) => new Bytes().u64(id).u32(len).u8(UTF8).raw([0, 0, 0]).finish();
  deps.custom('PropertySetDependency', new Bytes().u64(0x2000n).u32(2).raw(ref(0x51n, 5)).raw(ref(0x52n, 5)).raw(ref(0x53n, 6)).raw(ref(0x54n, 10)));
  const objs = new Queue(rustLog.objects)
    .pod('LogStaticStrEvent', (s) => s.u64(0, 0x1001n).u64(8, 5_000_000_000n))
    .custom('LogStringEventV2', new Bytes().u64(0x1000n).u64(1001n).dyn(UTF8, utf8('fmt 42 — ok')))
    .pod('LogStaticStrInteropEvent', (s) => s.strRef(0, 0x50n, 11, -1).strRef(16, 0x11n, 8, -1).u64(32, 1002n).u32(40, 2))
    .custom('LogStringInteropEventV3', new Bytes().u64(1003n).u8(6).u64(0x50n).u32(11).u8(UTF8).raw([0, 0, 0]).dyn(UTF8, utf8('interop 日本')))
    .custom('TaggedLogString', new Bytes().u64(0x1000n).u64(0x2000n).u64(999n).dyn(UTF8, utf8('tagged')));
  const d = deps.finish();
  const o = objs.finish();
  const actual = actualLogs(rustLog, d, o);
  assert.deepEqual(actual, expectedLogs(parseBlockObjects(rustLog.dependencies, rustLog.objects, d, o)));
  assert.deepEqual(actual[4], { time: convert.ticksToNanos(999n), level: 2, target: 'overridden', msg: 'tagged', properties: { level: 'error', target: 'overridden' } });
  assert.equal(actual[0]!.time, 1_700_000_000_000_000_000n + 1_666_666_333n);
});

test('Unreal log layouts: wide, ansi and UTF-8 strings, FName property sets', () => {
  const deps = new Queue(unrealLog.dependencies);
  ssd(deps, 0x10n, WIDE, utf16('LogTemp'));
  ssd(deps, 0x11n, WIDE, utf16('Spawned {0} actors'));
  ssd(deps, 0x12n, ANSI, latin1('Main.cpp'));
  ssd(deps, 0x13n, ANSI, latin1('map'));
  ssd(deps, 0x14n, WIDE, utf16('Städte_日本'));
  ssd(deps, 0x15n, UTF8, utf8('LogNet'));
  deps.pod('LogMetadataDependency', (s) => s.u64(0, 0x1000n).strRef(8, 0x10n, 14, WIDE).strRef(24, 0x11n, 36, WIDE).strRef(40, 0x12n, 8, ANSI).u32(56, 321).u8(60, 4));
  deps.custom('PropertySetDependency', new Bytes().u64(0x2000n).u32(1).u64(0x13n).u32(0).u8(3).raw([0, 0, 0]).u64(0x14n).u32(0).u8(3).raw([0, 0, 0]));
  const interop = new Bytes().u64(2000n).u8(2).u64(0x15n).u32(6).u8(UTF8).raw([0, 0, 0]).u64(0x2000n).dyn(WIDE, utf16('Connection lost 🚫'));
  const objs = new Queue(unrealLog.objects)
    .custom('TaggedLogInteropEvent', interop)
    .custom('TaggedLogString', new Bytes().u64(0x1000n).u64(0x2000n).u64(55n).dyn(WIDE, utf16('Spawned 3 actors')))
    .custom('TaggedLogString', new Bytes().u64(0x1000n).u64(0x2000n).u64(57n).dyn(ANSI, latin1('café')));
  const d = deps.finish();
  const o = objs.finish();
  const actual = actualLogs(unrealLog, d, o);
  assert.deepEqual(actual, expectedLogs(parseBlockObjects(unrealLog.dependencies, unrealLog.objects, d, o)));
  assert.equal(actual[2]!.msg, 'caf\ufffd');
  assert.deepEqual(actual[0]!.properties, { map: 'Städte_日本' });
});

function actualMeasures(layout: { objects: UserDefinedType[]; dependencies: UserDefinedType[] }, deps: Uint8Array, objs: Uint8Array) {
  const builder = new MeasuresBuilder();
  builder.addBlock(ctxFor(layout, 'b2'), { dependencies: deps, objects: objs }, parseDependencies(layout.dependencies, deps), convert);
  const { batch } = builder.finish();
  return Array.from({ length: batch.numRows }, (_, i) => ({
    time: (batch.getChild('time')!.toArray() as BigInt64Array)[i]!,
    name: String(batch.getChild('name')!.get(i)),
    unit: String(batch.getChild('unit')!.get(i)),
    target: String(batch.getChild('target')!.get(i)),
    value: batch.getChild('value')!.get(i) as number,
  }));
}

test('Rust and Unreal metrics: integer, float, tagged; "ticks" become seconds', () => {
  const deps = new Queue(rustMetrics.dependencies);
  for (const [id, s] of [[0x10n, 'frame_time'], [0x11n, 'ticks'], [0x12n, 'queue_len'], [0x13n, 'count'], [0x20n, 'engine'], [0x40n, 'main.rs'], [0x60n, 'name'], [0x61n, 'renamed']] as const) {
    staticString(deps, id, s);
  }
  const metric = (id: bigint, name: bigint, unit: bigint) => deps.pod('MetricMetadataDependency', (s) => s.u64(0, id).u64(8, name).u64(16, unit).u64(24, 0x20n).u64(32, 0x40n).u32(40, 1).u32(44, 2));
  metric(0x1000n, 0x10n, 0x11n);
  metric(0x1001n, 0x12n, 0x13n);
  deps.custom('PropertySetDependency', new Bytes().u64(0x2000n).u32(1).u64(0x60n).u32(4).u8(UTF8).raw([0, 0, 0]).u64(0x61n).u32(7).u8(UTF8).raw([0, 0, 0]));
  const objs = new Queue(rustMetrics.objects)
    .pod('IntegerMetricEvent', (s) => s.u64(0, 0x1001n).u64(8, 0xffff_ffff_ffff_ffffn).u64(16, 1000n))
    .pod('IntegerMetricEvent', (s) => s.u64(0, 0x1000n).u64(8, 6_000_000n).u64(16, 1001n))
    .pod('FloatMetricEvent', (s) => s.u64(0, 0x1000n).f64(8, -0.25).u64(16, 1002n))
    .pod('TaggedIntegerMetricEvent', (s) => s.u64(0, 0x1001n).u64(8, 0x2000n).u64(16, 42n).u64(24, 1003n));
  const rows = actualMeasures(rustMetrics, deps.finish(), objs.finish());
  assert.deepEqual(rows, [
    { time: convert.ticksToNanos(1000n), name: 'queue_len', unit: 'count', target: 'engine', value: 18446744073709552000 },
    { time: convert.ticksToNanos(1001n), name: 'frame_time', unit: 'seconds', target: 'engine', value: 0.002 },
    { time: convert.ticksToNanos(1002n), name: 'frame_time', unit: 'ticks', target: 'engine', value: -0.25 },
    { time: convert.ticksToNanos(1003n), name: 'renamed', unit: 'count', target: 'engine', value: 42 },
  ]);

  const udeps = new Queue(unrealMetrics.dependencies);
  ssd(udeps, 0x10n, WIDE, utf16('FrameTime'));
  ssd(udeps, 0x11n, WIDE, utf16('ticks'));
  ssd(udeps, 0x12n, ANSI, latin1('Engine'));
  ssd(udeps, 0x13n, ANSI, latin1('Engine.cpp'));
  udeps.pod('MetricMetadataDependency', (s) => s.u64(0, 0x1000n).u8(8, 2).u64(16, 0x10n).u64(24, 0x11n).u64(32, 0x12n).u64(40, 0x13n).u32(48, 99));
  udeps.custom('PropertySetDependency', new Bytes().u64(0x2000n).u32(0));
  const uobjs = new Queue(unrealMetrics.objects)
    .pod('TaggedIntegerMetricEvent', (s) => s.u64(0, 0x1000n).u64(8, 0x2000n).u64(16, 3_000_000n).u64(24, 2000n))
    .pod('TaggedFloatMetricEvent', (s) => s.u64(0, 0x1000n).u64(8, 0x2000n).f64(16, 1.5e9).u64(24, 2001n));
  assert.deepEqual(actualMeasures(unrealMetrics, udeps.finish(), uobjs.finish()), [
    { time: convert.ticksToNanos(2000n), name: 'FrameTime', unit: 'seconds', target: 'Engine', value: 0.001 },
    { time: convert.ticksToNanos(2001n), name: 'FrameTime', unit: 'ticks', target: 'Engine', value: 1.5e9 },
  ]);
});
