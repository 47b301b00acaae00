// Stream metadata exactly as the upstream producers declare it (ingestion-protocol §4.1–§4.5, checked
// against upstream rust/tracing/src/**/{log,metric,span}_events.rs, string_id.rs, and
// unreal/MicromegasTracing/Public/MicromegasTracing/*Metadata.h, *Events.h,
// unreal/MicromegasTelemetrySink/Private/*Dependencies.h). Offsets are those measured for x86-64.
import type { UdtMember, UserDefinedType } from '@micromegas/transit';

const m = (name: string, typeName: string, offset: number, size: number, isReference = false): UdtMember => ({
  name,
  typeName,
  offset,
  size,
  isReference,
});
const t = (name: string, size: number, members: UdtMember[] = [], isReference = false): UserDefinedType => ({
  name,
  size,
  members,
  isReference,
});

// Rust ------------------------------------------------------------------------------------------
// The derive macro writes the field type's tokens; references and raw pointers are is_reference.
const rPtr = (name: string, offset: number) => m(name, '* const u8', offset, 8, true);
const rRef = (name: string, target: string, offset: number) => m(name, `& 'static ${target}`, offset, 8, true);
// StringId / StaticStringRef: reference UDTs with one 8-byte "usize" member named id.
const rStringRefUdt = (name: string) => t(name, 16, [m('id', 'usize', 0, 8, true)], true);

export const rustLog = {
  objects: [
    t('LogStaticStrEvent', 16, [rRef('desc', 'LogMetadata < \'static >', 0), m('time', 'i64', 8, 8)]),
    t('LogStringEventV2', 0),
    t('LogStaticStrInteropEvent', 48, [
      m('time', 'i64', 32, 8),
      m('level', 'u32', 40, 4),
      m('target', 'StringId', 0, 16),
      m('msg', 'StringId', 16, 16),
    ]),
    t('LogStringInteropEventV3', 0),
    t('TaggedLogString', 0),
    // secondaries (flatten_metadata appends them in HashMap order)
    rStringRefUdt('StaticStringRef'),
    rStringRefUdt('StringId'),
  ],
  dependencies: [
    t('StaticString', 0),
    t('StaticStringDependency', 0),
    t('LogMetadataRecord', 48, [
      m('id', 'u64', 0, 8),
      rPtr('fmt_str', 8),
      rPtr('target', 16),
      rPtr('module_path', 24),
      rPtr('file', 32),
      m('line', 'u32', 40, 4),
      m('level', 'u32', 44, 4),
    ]),
    t('PropertySetDependency', 0),
    rStringRefUdt('StaticStringRef'),
    t('Property', 32, [m('name', 'StaticStringRef', 0, 16), m('value', 'StaticStringRef', 16, 16)]),
  ],
};

export const rustMetrics = {
  objects: [
    t('IntegerMetricEvent', 24, [rRef('desc', 'MetricMetadata', 0), m('value', 'u64', 8, 8), m('time', 'i64', 16, 8)]),
    t('FloatMetricEvent', 24, [rRef('desc', 'MetricMetadata', 0), m('value', 'f64', 8, 8), m('time', 'i64', 16, 8)]),
    t('TaggedFloatMetricEvent', 32, [
      rRef('desc', 'MetricMetadata', 0),
      rRef('properties', 'PropertySet', 8),
      m('value', 'f64', 16, 8),
      m('time', 'i64', 24, 8),
    ]),
    t('TaggedIntegerMetricEvent', 32, [
      rRef('desc', 'MetricMetadata', 0),
      rRef('properties', 'PropertySet', 8),
      m('value', 'u64', 16, 8),
      m('time', 'i64', 24, 8),
    ]),
  ],
  dependencies: [
    t('StaticString', 0),
    t('StaticStringDependency', 0),
    t('MetricMetadataDependency', 48, [
      m('id', 'u64', 0, 8),
      rPtr('name', 8),
      rPtr('unit', 16),
      rPtr('target', 24),
      rPtr('file', 32),
      m('line', 'u32', 40, 4),
      m('lod', 'u32', 44, 4),
    ]),
    t('PropertySetDependency', 0),
    t('Property', 32, [m('name', 'StaticStringRef', 0, 16), m('value', 'StaticStringRef', 16, 16)]),
    rStringRefUdt('StaticStringRef'),
  ],
};

const threadSpan = (name: string) => t(name, 16, [rRef('thread_span_desc', 'SpanMetadata', 0), m('time', 'i64', 8, 8)]);
const namedThreadSpan = (name: string) =>
  t(name, 32, [rRef('thread_span_location', 'SpanLocation', 0), m('name', 'StringId', 8, 16), m('time', 'i64', 24, 8)]);
const asyncSpan = (name: string) =>
  t(name, 40, [
    rRef('span_desc', 'SpanMetadata', 0),
    m('span_id', 'u64', 8, 8),
    m('parent_span_id', 'u64', 16, 8),
    m('time', 'i64', 24, 8),
    m('depth', 'u32', 32, 4),
  ]);
const namedAsyncSpan = (name: string) =>
  t(name, 56, [
    rRef('span_location', 'SpanLocation', 0),
    m('name', 'StringId', 8, 16),
    m('span_id', 'u64', 24, 8),
    m('parent_span_id', 'u64', 32, 8),
    m('time', 'i64', 40, 8),
    m('depth', 'u32', 48, 4),
  ]);

export const rustThread = {
  objects: [
    threadSpan('BeginThreadSpanEvent'),
    threadSpan('EndThreadSpanEvent'),
    namedThreadSpan('BeginThreadNamedSpanEvent'),
    namedThreadSpan('EndThreadNamedSpanEvent'),
    asyncSpan('BeginAsyncSpanEvent'),
    asyncSpan('EndAsyncSpanEvent'),
    namedAsyncSpan('BeginAsyncNamedSpanEvent'),
    namedAsyncSpan('EndAsyncNamedSpanEvent'),
    rStringRefUdt('StringId'),
  ],
  dependencies: [
    t('SpanRecord', 48, [
      m('id', 'u64', 0, 8),
      rPtr('name', 8),
      rPtr('target', 16),
      rPtr('module_path', 24),
      rPtr('file', 32),
      m('line', 'u32', 40, 4),
      m('lod', 'u32', 44, 4),
    ]),
    t('SpanLocationRecord', 40, [
      m('id', 'u64', 0, 8),
      rPtr('target', 8),
      rPtr('module_path', 16),
      rPtr('file', 24),
      m('line', 'u32', 32, 4),
      m('lod', 'u32', 36, 4),
    ]),
    t('StaticString', 0),
  ],
};

export const rustImage = { objects: [t('ImageEvent', 0)], dependencies: [] as UserDefinedType[] };

// Unreal -----------------------------------------------------------------------------------------
// MAKE_UDT_MEMBER_METADATA: type_name is the C++ token, size is sizeof(member); timestamps are uint64.
const ssr = (name: string, offset: number, size = 16) => m(name, 'StaticStringRef', offset, size, true);
const uPtr = (name: string, cppType: string, offset: number) => m(name, cppType, offset, 8, true);
const uTime = (offset: number) => m('time', 'uint64', offset, 8);
const uStaticStringRef = t('StaticStringRef', 16, [m('id', 'uint64', 0, 8, true)], true);
const uProperty = t('Property', 32, [ssr('name', 0), ssr('value', 16)]);
const uStaticStringDependency = t('StaticStringDependency', 0);

export const unrealLog = {
  objects: [
    // size 0: custom serialization; the members listed are informative only
    t('TaggedLogInteropEvent', 0, [
      uTime(0),
      m('level', 'Level', 8, 1),
      ssr('target', 16),
      uPtr('properties', 'PropertySet*', 32),
      m('msg', 'DynamicString', 40, 16),
    ]),
    t('TaggedLogString', 0, [
      uPtr('desc', 'LogMetadata*', 0),
      uPtr('properties', 'PropertySet*', 8),
      uTime(16),
      m('msg', 'DynamicString', 24, 16),
    ]),
    uStaticStringRef, // listed in the queue so that it appears in the metadata; never pushed
  ],
  dependencies: [
    uStaticStringDependency,
    t('LogMetadataDependency', 64, [
      m('id', 'uint64', 0, 8),
      ssr('target', 8),
      ssr('fmt_str', 24),
      ssr('file', 40),
      m('line', 'uint32', 56, 4),
      m('level', 'uint8', 60, 1),
    ]),
    t('PropertySetDependency', 0),
    uProperty,
  ],
};

const uTagged = (name: string, valueType: string) =>
  t(name, 32, [uPtr('desc', 'MetricMetadata*', 0), uPtr('properties', 'PropertySet*', 8), m('value', valueType, 16, 8), uTime(24)]);

export const unrealMetrics = {
  objects: [uTagged('TaggedIntegerMetricEvent', 'uint64'), uTagged('TaggedFloatMetricEvent', 'f64')],
  dependencies: [
    uStaticStringDependency,
    t('MetricMetadataDependency', 56, [
      m('id', 'uint64', 0, 8),
      m('lod', 'uint8', 8, 1),
      ssr('name', 16, 8), // TCHAR* members: sizeof is 8
      ssr('unit', 24, 8),
      ssr('target', 32, 8),
      ssr('file', 40, 8),
      m('line', 'uint32', 48, 4),
    ]),
    t('PropertySetDependency', 0),
    uProperty,
  ],
};

const uSpan = (name: string) => t(name, 16, [uPtr('thread_span_desc', 'SpanMetadata*', 0), uTime(8)]);
const uNamedSpan = (name: string) => t(name, 32, [uPtr('thread_span_location', 'NamedSpanLocation*', 0), ssr('name', 16), uTime(8)]);

export const unrealThread = {
  objects: [uSpan('BeginThreadSpanEvent'), uSpan('EndThreadSpanEvent'), uNamedSpan('BeginThreadNamedSpanEvent'), uNamedSpan('EndThreadNamedSpanEvent')],
  dependencies: [
    uStaticStringDependency,
    t('SpanMetadataDependency', 40, [m('id', 'uint64', 0, 8), ssr('name', 8, 8), ssr('target', 16, 8), ssr('file', 24, 8), m('line', 'uint32', 32, 4)]),
    t('SpanLocationDependency', 32, [m('id', 'uint64', 0, 8), ssr('target', 8, 8), ssr('file', 16, 8), m('line', 'uint32', 24, 4)]),
  ],
};

export const unrealNet = {
  objects: [
    t('NetConnectionBeginEvent', 32, [uTime(0), ssr('connection_name', 8), m('is_outgoing', 'uint8', 24, 1)]),
    t('NetConnectionEndEvent', 16, [uTime(0), m('bit_size', 'uint32', 8, 4)]),
    t('NetObjectBeginEvent', 24, [uTime(0), ssr('object_name', 8)]),
    t('NetObjectEndEvent', 16, [uTime(0), m('bit_size', 'uint32', 8, 4)]),
    t('NetPropertyEvent', 32, [uTime(0), ssr('property_name', 8), m('bit_size', 'uint32', 24, 4)]),
    t('NetRPCBeginEvent', 24, [uTime(0), ssr('function_name', 8)]),
    t('NetRPCEndEvent', 16, [uTime(0), m('bit_size', 'uint32', 8, 4)]),
  ],
  dependencies: [uStaticStringDependency],
};

export const unrealImage = { objects: [t('ImageEvent', 0)], dependencies: [uStaticStringDependency] };
