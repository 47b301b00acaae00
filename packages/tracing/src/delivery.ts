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
export { ConsoleSink, decodeLogEntries, formatLogEntry, type ConsoleSinkOptions, type ConsoleLogEntry } from './console_sink.ts';
export { startTelemetry, currentTelemetry, parseLevel, ENV as TELEMETRY_ENV, type TelemetryOptions, type TelemetryGuard } from './telemetry.ts';
export { installExitHooks, type ExitHookOptions, type ExitHookTarget } from './lifecycle.ts';
export { interceptConsole, CONSOLE_LEVELS, type InterceptConsoleOptions } from './interop_console.ts';
export { micromegasPinoDestination, pinoLevel, type PinoDestinationOptions } from './interop_pino.ts';
export { runGenerator, GENERATOR_PROCESS_PROPERTIES, type GeneratorOptions, type GeneratorStats } from "./generate.ts";
