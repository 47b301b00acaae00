// Public API of event delivery (sinks, process info, start-up and shutdown, interop, demo producer).
export {
  collectProcessInfo,
  parseProcessProperties,
  TelemetryConfigError,
  PARENT_PROCESS_ENV,
  PROCESS_PROPERTIES_ENV,
  type CollectProcessInfoOptions,
} from './process_info.ts';
export { HttpSink, ingestionUrl, type HttpSinkOptions, type HttpSinkStats, type ItemLabel, type LabelCounts } from './http_sink.ts';
