// One call to start telemetry in a Node program: reads the upstream environment variables, picks a
// sink, collects the process info, starts recording, flushes periodically and installs exit hooks.
//
// Environment (options take precedence):
//   MICROMEGAS_TELEMETRY_URL          ingestion base URL (http/https); unset and no sink → telemetry off
//   MICROMEGAS_INGESTION_API_KEY      sent as `Authorization: Bearer <key>`
//   MICROMEGAS_TELEMETRY_SINK         http (default) | console (print to stderr, no network) | none
//   MICROMEGAS_FLUSH_PERIOD           seconds between automatic flushes of log/metrics/cpu blocks (60)
//   MICROMEGAS_MAX_LEVEL              fatal | error | warn | info (default) | debug | trace, or 1–6
//   MICROMEGAS_PROCESS_PROPERTIES     k=v,k2=v2 added to the process properties
//   MICROMEGAS_TELEMETRY_PARENT_PROCESS  parent process id (read, then set to ours for children)
//   MICROMEGAS_TELEMETRY_MAX_IN_FLIGHT_REQUESTS (3), _MAX_QUEUE_BYTES (128 MiB, spans),
//   _HARD_QUEUE_BYTES (256 MiB, logs and metrics), _REQUEST_TIMEOUT_SECS (10)
import type { ProcessInfo } from '@micromegas/transit';
import { ConsoleSink } from './console_sink.ts';
import { HttpSink, type HttpSinkOptions } from './http_sink.ts';
import { interceptConsole, type InterceptConsoleOptions } from './interop_console.ts';
import { installExitHooks } from './lifecycle.ts';
import { collectProcessInfo, TelemetryConfigError } from './process_info.ts';
import { Level, flushAllStreams, initDispatch, isTelemetryActive, shutdownDispatch, type DispatchOptions } from './recording.ts';
import type { EventSink } from './sink.ts';

export interface TelemetryOptions {
  /** Ingestion service base URL; default MICROMEGAS_TELEMETRY_URL. */
  url?: string;
  /** Default MICROMEGAS_INGESTION_API_KEY. */
  apiKey?: string;
  /** Use this sink instead of the one the environment selects (e.g. a MemorySink in tests). */
  sink?: EventSink;
  /** Most verbose level recorded; default MICROMEGAS_MAX_LEVEL, else Info. */
  maxLevel?: Level;
  /** Period of the automatic flush of log and metrics blocks; default MICROMEGAS_FLUSH_PERIOD seconds, else 60 s. */
  flushPeriodMs?: number;
  /** Process properties, overriding MICROMEGAS_PROCESS_PROPERTIES and the defaults. */
  properties?: Record<string, string>;
  /** The executable name reported for this process; default the main script's absolute path. */
  exe?: string;
  /** Route console.* into micromegas logs (still printing them); true or options. Default false. */
  interceptConsole?: boolean | InterceptConsoleOptions;
  /** Flush on exit, SIGINT/SIGTERM and uncaught exceptions. Default true. */
  installExitHooks?: boolean;
  /** Tuning of the HTTP sink (queue bytes, in-flight requests, timeouts). */
  http?: Partial<Omit<HttpSinkOptions, 'url' | 'apiKey'>>;
  /** Buffer sizes and compression of the recording streams. */
  dispatch?: Partial<Omit<DispatchOptions, 'sink' | 'process' | 'maxLevel'>>;
  /** Environment to read; process.env by default. */
  env?: NodeJS.ProcessEnv;
}

export interface TelemetryGuard {
  /** False when telemetry is off (no URL, no sink): every call is then a cheap no-op. */
  readonly active: boolean;
  readonly processInfo: ProcessInfo | null;
  readonly sink: EventSink | null;
  /** Closes the current blocks of every thread and waits (bounded) for their delivery. */
  flush(): Promise<void>;
  /** Flushes, delivers (bounded, 5 s by default) and stops recording. Idempotent. */
  shutdown(): Promise<void>;
}

export const ENV = {
  url: 'MICROMEGAS_TELEMETRY_URL',
  apiKey: 'MICROMEGAS_INGESTION_API_KEY',
  sink: 'MICROMEGAS_TELEMETRY_SINK',
  flushPeriod: 'MICROMEGAS_FLUSH_PERIOD',
  maxLevel: 'MICROMEGAS_MAX_LEVEL',
  maxInFlight: 'MICROMEGAS_TELEMETRY_MAX_IN_FLIGHT_REQUESTS',
  maxQueueBytes: 'MICROMEGAS_TELEMETRY_MAX_QUEUE_BYTES',
  hardQueueBytes: 'MICROMEGAS_TELEMETRY_HARD_QUEUE_BYTES',
  requestTimeout: 'MICROMEGAS_TELEMETRY_REQUEST_TIMEOUT_SECS',
} as const;

const DEFAULT_FLUSH_PERIOD_MS = 60_000;

let current: TelemetryGuard | null = null;

const inactiveGuard: TelemetryGuard = {
  active: false,
  processInfo: null,
  sink: null,
  flush: async () => {},
  shutdown: async () => {},
};

/**
 * Starts telemetry once per process (later calls return the running guard). The sink is, in order:
 * `options.sink`; a ConsoleSink when MICROMEGAS_TELEMETRY_SINK=console; an HttpSink when a URL is
 * given or MICROMEGAS_TELEMETRY_URL is set; otherwise telemetry stays off (MICROMEGAS_TELEMETRY_SINK=none
 * also turns it off). A bad configuration value throws a TelemetryConfigError naming the variable.
 */
export function startTelemetry(options: TelemetryOptions = {}): TelemetryGuard {
  if (current !== null && isTelemetryActive()) return current;
  const env = options.env ?? process.env;
  const sink = chooseSink(options, env);
  if (sink === null) return inactiveGuard;
  const maxLevel = options.maxLevel ?? parseLevel(env[ENV.maxLevel]) ?? Level.Info;
  const flushPeriodMs = options.flushPeriodMs ?? secondsToMs(env[ENV.flushPeriod], ENV.flushPeriod) ?? DEFAULT_FLUSH_PERIOD_MS;
  if (!Number.isFinite(flushPeriodMs) || flushPeriodMs <= 0) {
    throw new TelemetryConfigError(`flushPeriodMs must be a positive number, got ${flushPeriodMs}`);
  }
  const processInfo = collectProcessInfo({ properties: options.properties, exe: options.exe, env });
  initDispatch({ ...options.dispatch, sink, process: processInfo, maxLevel });

  const flushTimer = setInterval(() => flushAllStreams(), flushPeriodMs);
  flushTimer.unref();
  const consoleOptions = options.interceptConsole === true ? {} : options.interceptConsole || null;
  const restoreConsole = consoleOptions ? interceptConsole(consoleOptions) : null;
  let removeHooks: (() => void) | null = null;
  let shutdownPromise: Promise<void> | null = null;

  const guard: TelemetryGuard = {
    active: true,
    processInfo,
    sink,
    async flush() {
      if (shutdownPromise) return;
      flushAllStreams();
      // Blocks are compressed asynchronously; give them a turn of the event loop to reach the sink.
      await new Promise((resolve) => setImmediate(resolve));
      try {
        await sink.flush();
      } catch {
        // A sink must not throw into the program.
      }
    },
    shutdown() {
      shutdownPromise ??= (async () => {
        clearInterval(flushTimer);
        restoreConsole?.();
        removeHooks?.();
        await shutdownDispatch();
        if (current === guard) current = null;
      })();
      return shutdownPromise;
    },
  };
  if (options.installExitHooks ?? true) removeHooks = installExitHooks(guard);
  current = guard;
  return guard;
}

/** The running guard, if telemetry was started. */
export function currentTelemetry(): TelemetryGuard | null {
  return current;
}

function chooseSink(options: TelemetryOptions, env: NodeJS.ProcessEnv): EventSink | null {
  if (options.sink) return options.sink;
  const kind = (env[ENV.sink] ?? '').trim().toLowerCase();
  if (kind === 'console') return new ConsoleSink();
  if (kind === 'none' || kind === 'off') return null;
  if (kind !== '' && kind !== 'http') {
    throw new TelemetryConfigError(`${ENV.sink} must be http, console or none, got ${JSON.stringify(env[ENV.sink])}`);
  }
  const url = options.url ?? nonEmpty(env[ENV.url]);
  if (url === undefined) return null;
  return new HttpSink({
    maxInFlight: integerFrom(env, ENV.maxInFlight),
    maxQueueBytes: integerFrom(env, ENV.maxQueueBytes),
    hardQueueBytes: integerFrom(env, ENV.hardQueueBytes),
    requestTimeoutMs: secondsToMs(env[ENV.requestTimeout], ENV.requestTimeout),
    ...options.http,
    url,
    apiKey: options.apiKey ?? nonEmpty(env[ENV.apiKey]),
  });
}

const LEVEL_NAMES: Record<string, Level> = {
  fatal: Level.Fatal,
  error: Level.Error,
  warn: Level.Warn,
  warning: Level.Warn,
  info: Level.Info,
  debug: Level.Debug,
  trace: Level.Trace,
};

/** A level by name (fatal … trace, any case) or number (1–6); undefined when unset. */
export function parseLevel(text: string | undefined): Level | undefined {
  const value = nonEmpty(text)?.toLowerCase();
  if (value === undefined) return undefined;
  const named = LEVEL_NAMES[value];
  if (named !== undefined) return named;
  const number = Number(value);
  if (Number.isInteger(number) && number >= Level.Fatal && number <= Level.Trace) return number as Level;
  throw new TelemetryConfigError(`${ENV.maxLevel} must be one of fatal, error, warn, info, debug, trace; got ${JSON.stringify(text)}`);
}

function nonEmpty(text: string | undefined): string | undefined {
  const trimmed = text?.trim();
  return trimmed ? trimmed : undefined;
}

function secondsToMs(text: string | undefined, name: string): number | undefined {
  const value = nonEmpty(text);
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new TelemetryConfigError(`${name} must be a positive number of seconds, got ${JSON.stringify(text)}`);
  }
  return seconds * 1000;
}

function integerFrom(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const value = nonEmpty(env[name]);
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new TelemetryConfigError(`${name} must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
}
