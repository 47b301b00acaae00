// Public API of event recording (levels, logs, metrics, spans, dispatch). Owned by the recording modules.
export { Level, Verbosity } from './levels.ts';
export {
  initDispatch,
  flushAllStreams,
  shutdownDispatch,
  isTelemetryActive,
  setMaxLevel,
  getMaxLevel,
  setProcessProperty,
  processProperties,
  setThreadName,
  type DispatchOptions,
} from './dispatch.ts';
export { fatal, error, warn, info, debug, trace, log, logInterop, logDescriptor, logWith, formatMessage } from './logs.ts';
export { imetric, fmetric, metricDescriptor, recordInt, recordFloat } from './metrics.ts';
export {
  beginSpan,
  endSpan,
  spanScope,
  beginNamedSpan,
  endNamedSpan,
  namedSpanScope,
  asyncSpan,
  asyncNamedSpan,
  currentAsyncSpan,
  instrument,
  spanDescriptor,
  spanLocation,
  type AsyncSpanFrame,
} from './spans.ts';
export { LogDescriptor, MetricDescriptor, SpanDescriptor, SpanLocation, PropertySet, type SiteOptions } from './descriptors.ts';
export { MemorySink, type MemorySinkOptions } from './memory_sink.ts';
export {
  logObjectsMetadata,
  logDependenciesMetadata,
  metricsObjectsMetadata,
  metricsDependenciesMetadata,
  threadObjectsMetadata,
  threadDependenciesMetadata,
} from './stream_layouts.ts';
