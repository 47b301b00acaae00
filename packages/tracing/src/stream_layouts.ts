// Transit metadata of our three stream kinds. Names, members, offsets and sizes are those upstream's
// Rust producer declares (ingestion-protocol §4.1–§4.3), so upstream analytics reads our blocks; the
// index of each type in its list is the type id written before every object.
import { propertyUdt, refMember, referenceUdt, udt, udtMember, type UserDefinedType } from '@micromegas/transit';

const time = (offset: number) => udtMember('time', 'i64', offset, 8);

// Log stream ---------------------------------------------------------------------------------
export const LogObj = { StaticStr: 0, StringV2: 1, StaticStrInterop: 2, StringInteropV3: 3, TaggedString: 4 } as const;
export const LogDep = { StaticString: 0, StaticStringDependency: 1, LogMetadataRecord: 2, PropertySet: 3 } as const;

export function logObjectsMetadata(): UserDefinedType[] {
  return [
    udt('LogStaticStrEvent', 16, [refMember('desc', 0), time(8)]),
    udt('LogStringEventV2', 0),
    udt('LogStaticStrInteropEvent', 48, [
      time(32),
      udtMember('level', 'u32', 40, 4),
      udtMember('target', 'StringId', 0, 16),
      udtMember('msg', 'StringId', 16, 16),
    ]),
    udt('LogStringInteropEventV3', 0),
    udt('TaggedLogString', 0),
    referenceUdt('StringId'),
    referenceUdt('StaticStringRef'),
  ];
}

export function logDependenciesMetadata(): UserDefinedType[] {
  return [
    udt('StaticString', 0),
    udt('StaticStringDependency', 0),
    udt('LogMetadataRecord', 48, [
      udtMember('id', 'u64', 0, 8),
      refMember('fmt_str', 8),
      refMember('target', 16),
      refMember('module_path', 24),
      refMember('file', 32),
      udtMember('line', 'u32', 40, 4),
      udtMember('level', 'u32', 44, 4),
    ]),
    udt('PropertySetDependency', 0),
    propertyUdt(),
    referenceUdt('StaticStringRef'),
  ];
}

// Metrics stream -----------------------------------------------------------------------------
export const MetricObj = { Integer: 0, Float: 1, TaggedFloat: 2, TaggedInteger: 3 } as const;
export const MetricDep = { StaticString: 0, StaticStringDependency: 1, MetricMetadata: 2, PropertySet: 3 } as const;

export function metricsObjectsMetadata(): UserDefinedType[] {
  return [
    udt('IntegerMetricEvent', 24, [refMember('desc', 0), udtMember('value', 'u64', 8, 8), time(16)]),
    udt('FloatMetricEvent', 24, [refMember('desc', 0), udtMember('value', 'f64', 8, 8), time(16)]),
    udt('TaggedFloatMetricEvent', 32, [refMember('desc', 0), refMember('properties', 8), udtMember('value', 'f64', 16, 8), time(24)]),
    udt('TaggedIntegerMetricEvent', 32, [refMember('desc', 0), refMember('properties', 8), udtMember('value', 'u64', 16, 8), time(24)]),
  ];
}

export function metricsDependenciesMetadata(): UserDefinedType[] {
  return [
    udt('StaticString', 0),
    udt('StaticStringDependency', 0),
    udt('MetricMetadataDependency', 48, [
      udtMember('id', 'u64', 0, 8),
      refMember('name', 8),
      refMember('unit', 16),
      refMember('target', 24),
      refMember('file', 32),
      udtMember('line', 'u32', 40, 4),
      udtMember('lod', 'u32', 44, 4),
    ]),
    udt('PropertySetDependency', 0),
    propertyUdt(),
    referenceUdt('StaticStringRef'),
  ];
}

// Thread stream (tag "cpu") --------------------------------------------------------------------
export const ThreadObj = {
  BeginThreadSpan: 0,
  EndThreadSpan: 1,
  BeginThreadNamedSpan: 2,
  EndThreadNamedSpan: 3,
  BeginAsyncSpan: 4,
  EndAsyncSpan: 5,
  BeginAsyncNamedSpan: 6,
  EndAsyncNamedSpan: 7,
} as const;
export const ThreadDep = { SpanRecord: 0, SpanLocationRecord: 1, StaticString: 2 } as const;

export function threadObjectsMetadata(): UserDefinedType[] {
  const threadSpan = (name: string) => udt(name, 16, [refMember('thread_span_desc', 0), time(8)]);
  const namedThreadSpan = (name: string) =>
    udt(name, 32, [refMember('thread_span_location', 0), udtMember('name', 'StringId', 8, 16), time(24)]);
  const asyncSpan = (name: string) =>
    udt(name, 40, [
      refMember('span_desc', 0),
      udtMember('span_id', 'u64', 8, 8),
      udtMember('parent_span_id', 'u64', 16, 8),
      time(24),
      udtMember('depth', 'u32', 32, 4),
    ]);
  const namedAsyncSpan = (name: string) =>
    udt(name, 56, [
      refMember('span_location', 0),
      udtMember('name', 'StringId', 8, 16),
      udtMember('span_id', 'u64', 24, 8),
      udtMember('parent_span_id', 'u64', 32, 8),
      time(40),
      udtMember('depth', 'u32', 48, 4),
    ]);
  return [
    threadSpan('BeginThreadSpanEvent'),
    threadSpan('EndThreadSpanEvent'),
    namedThreadSpan('BeginThreadNamedSpanEvent'),
    namedThreadSpan('EndThreadNamedSpanEvent'),
    asyncSpan('BeginAsyncSpanEvent'),
    asyncSpan('EndAsyncSpanEvent'),
    namedAsyncSpan('BeginAsyncNamedSpanEvent'),
    namedAsyncSpan('EndAsyncNamedSpanEvent'),
    referenceUdt('StringId'),
  ];
}

export function threadDependenciesMetadata(): UserDefinedType[] {
  return [
    udt('SpanRecord', 48, [
      udtMember('id', 'u64', 0, 8),
      refMember('name', 8),
      refMember('target', 16),
      refMember('module_path', 24),
      refMember('file', 32),
      udtMember('line', 'u32', 40, 4),
      udtMember('lod', 'u32', 44, 4),
    ]),
    udt('SpanLocationRecord', 40, [
      udtMember('id', 'u64', 0, 8),
      refMember('target', 8),
      refMember('module_path', 16),
      refMember('file', 24),
      udtMember('line', 'u32', 32, 4),
      udtMember('lod', 'u32', 36, 4),
    ]),
    udt('StaticString', 0),
  ];
}
