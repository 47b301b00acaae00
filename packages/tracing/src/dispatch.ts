// The recording state of this thread and the path of closed blocks to the sink.
//
// Main thread: initDispatch() creates the log, metrics and cpu streams, tells the sink, and delivers
// every closed block to it (compressed by block_delivery.ts). Worker threads: if the main thread had
// initialised recording before the worker started, the worker gets its own log, metrics and cpu
// streams (so its events never cross threads one by one) and posts its closed blocks, uncompressed,
// on a BroadcastChannel that the main thread turns into sink.onBlock calls. All channels are unref'd,
// so telemetry never keeps a program alive.
import { randomUUID } from 'node:crypto';
import { BroadcastChannel, getEnvironmentData, isMainThread, setEnvironmentData, threadId } from 'node:worker_threads';
import type { ProcessInfo, StreamInfo, UserDefinedType } from '@micromegas/transit';
import { BlockDelivery } from './block_delivery.ts';
import { EventStream, releaseBuffer, type RawBlock } from './event_stream.ts';
import { Level, isLevel } from './levels.ts';
import type { EventSink, StreamKind } from './sink.ts';
import {
  LogDep,
  MetricDep,
  ThreadDep,
  logDependenciesMetadata,
  logObjectsMetadata,
  metricsDependenciesMetadata,
  metricsObjectsMetadata,
  threadDependenciesMetadata,
  threadObjectsMetadata,
} from './stream_layouts.ts';

export interface DispatchOptions {
  sink: EventSink;
  process: ProcessInfo;
  /** Most verbose level recorded (default Info). */
  maxLevel?: Level;
  /** Capacity of a log block's objects buffer (default 10 MiB, as upstream). */
  logBufferBytes?: number;
  /** Default 1 MiB. */
  metricsBufferBytes?: number;
  /** Per thread; default 10 MiB. */
  threadBufferBytes?: number;
  /** Compress full blocks on a background thread (default true); explicit flushes compress inline. */
  backgroundCompression?: boolean;
}

/**
 * What the event functions read on every call. maxLevel is 0 whenever recording is off, so the
 * level check alone makes every log call a no-op; `active` does the same for metrics and spans.
 */
export const state = {
  maxLevel: 0 as number,
  active: false,
  log: null as EventStream | null,
  metrics: null as EventStream | null,
  thread: null as EventStream | null,
};

const CONFIG_KEY = 'micromegas.tracing.worker-config';
const BLOCKS_CHANNEL = 'micromegas.tracing.blocks';
const CONTROL_CHANNEL = 'micromegas.tracing.control';

interface WorkerConfig {
  processId: string;
  maxLevel: number;
  logBufferBytes: number;
  metricsBufferBytes: number;
  threadBufferBytes: number;
}

type ControlMessage = { type: 'flush' } | { type: 'level'; level: number } | { type: 'shutdown' };

interface BlockMessage {
  type: 'block';
  kind: StreamKind;
  stream: StreamInfo;
  begin: { ticks: number; time: string };
  end: { ticks: number; time: string };
  objectOffset: number;
  nbObjects: number;
  dependencies: Uint8Array;
  objects: Uint8Array;
  deferredLogs: boolean;
}

const pendingProcessProperties = new Map<string, string>();
let requestedLevel: Level = Level.Info;

// Main-thread dispatch
let sink: EventSink | null = null;
let processInfo: ProcessInfo | null = null;
let delivery: BlockDelivery | null = null;
let blocksIn: BroadcastChannel | null = null;
let controlOut: BroadcastChannel | null = null;
let workerStreams = new Set<string>();
let shuttingDown: Promise<void> | null = null;

// Worker-thread dispatch
let blocksOut: BroadcastChannel | null = null;
let controlIn: BroadcastChannel | null = null;

function newStream(
  kind: StreamKind,
  processId: string,
  capacity: number,
  deps: UserDefinedType[],
  objs: UserDefinedType[],
  properties: Map<string, string>,
  onBlock: (b: RawBlock) => void,
): EventStream {
  const info: StreamInfo = {
    processId,
    streamId: randomUUID(),
    dependenciesMetadata: deps,
    objectsMetadata: objs,
    tags: [kind],
    properties,
  };
  switch (kind) {
    case 'log':
      return new EventStream(kind, info, capacity, LogDep.StaticString, LogDep.StaticStringDependency, onBlock);
    case 'metrics':
      return new EventStream(kind, info, capacity, MetricDep.StaticString, MetricDep.StaticStringDependency, onBlock);
    case 'cpu':
      return new EventStream(kind, info, capacity, ThreadDep.StaticString, -1, onBlock);
  }
}

function createStreams(config: WorkerConfig, onBlock: (b: RawBlock) => void, threadName: string): void {
  state.log = newStream('log', config.processId, config.logBufferBytes, logDependenciesMetadata(), logObjectsMetadata(), new Map(), onBlock);
  state.metrics = newStream('metrics', config.processId, config.metricsBufferBytes, metricsDependenciesMetadata(), metricsObjectsMetadata(), new Map(), onBlock);
  const threadProps = new Map([
    ['thread-id', String(threadId)],
    ['thread-name', threadName],
  ]);
  state.thread = newStream('cpu', config.processId, config.threadBufferBytes, threadDependenciesMetadata(), threadObjectsMetadata(), threadProps, onBlock);
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`tracing: ${name} must be a positive number of bytes, got ${value}`);
  return Math.floor(value);
}

/** Starts recording in the main thread: creates the streams and announces them to the sink. */
export function initDispatch(options: DispatchOptions): void {
  if (!isMainThread) throw new Error('tracing: initDispatch must be called on the main thread');
  if (state.active) return;
  const maxLevel = options.maxLevel ?? requestedLevel;
  if (!isLevel(maxLevel)) throw new RangeError(`tracing: invalid level ${String(maxLevel)}`);
  const config: WorkerConfig = {
    processId: options.process.processId,
    maxLevel,
    logBufferBytes: positive(options.logBufferBytes, 10 * 1024 * 1024, 'logBufferBytes'),
    metricsBufferBytes: positive(options.metricsBufferBytes, 1024 * 1024, 'metricsBufferBytes'),
    threadBufferBytes: positive(options.threadBufferBytes, 10 * 1024 * 1024, 'threadBufferBytes'),
  };
  for (const [k, v] of pendingProcessProperties) options.process.properties.set(k, v);
  sink = options.sink;
  processInfo = options.process;
  delivery = new BlockDelivery(options.sink, options.process, options.backgroundCompression ?? true);
  workerStreams = new Set();
  shuttingDown = null;
  const d = delivery;
  createStreams(config, (b) => d.deliver(b), threadName ?? 'main');
  requestedLevel = maxLevel;
  state.maxLevel = maxLevel;
  state.active = true;

  safely(() => options.sink.onStartup(options.process));
  for (const s of [state.log!, state.metrics!, state.thread!]) safely(() => options.sink.onStreamInit(s.info, s.kind));

  blocksIn = new BroadcastChannel(BLOCKS_CHANNEL);
  blocksIn.unref();
  blocksIn.onmessage = (event: unknown) => onWorkerBlock((event as MessageEvent).data);
  controlOut = new BroadcastChannel(CONTROL_CHANNEL);
  controlOut.unref();
  setEnvironmentData(CONFIG_KEY, config as unknown as string); // structured-cloned to workers started from now on
}

function onWorkerBlock(message: unknown): void {
  if (!state.active || delivery === null || sink === null) return;
  const m = message as BlockMessage;
  if (m?.type !== 'block') return;
  if (!workerStreams.has(m.stream.streamId)) {
    workerStreams.add(m.stream.streamId);
    const s = sink;
    safely(() => s.onStreamInit(m.stream, m.kind));
  }
  delivery.deliver({
    kind: m.kind,
    stream: m.stream,
    begin: m.begin,
    end: m.end,
    objectOffset: m.objectOffset,
    nbObjects: m.nbObjects,
    dependencies: m.dependencies,
    objects: m.objects,
    recycle: null,
    deferredLogs: m.deferredLogs === true,
  });
}

function initWorkerDispatch(config: WorkerConfig): void {
  const out = new BroadcastChannel(BLOCKS_CHANNEL);
  out.unref();
  blocksOut = out;
  createStreams(
    config,
    (b) => {
      // Structured cloning copies a view's whole buffer: send exactly the block's bytes.
      const objects = b.objects.byteLength === b.objects.buffer.byteLength ? b.objects : b.objects.slice();
      const { recycle, ...rest } = b;
      const message: BlockMessage = { ...rest, type: 'block', objects };
      out.postMessage(message);
      if (recycle !== null) releaseBuffer(recycle);
    },
    threadName ?? `worker-${threadId}`,
  );
  requestedLevel = config.maxLevel;
  state.maxLevel = config.maxLevel;
  state.active = true;
  controlIn = new BroadcastChannel(CONTROL_CHANNEL);
  controlIn.unref();
  controlIn.onmessage = (event: unknown) => {
    const m = (event as MessageEvent).data as ControlMessage;
    if (m.type === 'flush') flushAllStreams();
    else if (m.type === 'level' && state.active) state.maxLevel = m.level;
    else if (m.type === 'shutdown') stopWorker();
  };
  // A worker's last events would be lost with its heap: close its blocks when it ends.
  process.once('exit', () => stopWorker());
}

function stopWorker(): void {
  if (!state.active) return;
  flushAllStreams();
  state.active = false;
  state.maxLevel = 0;
  controlIn?.close();
  controlIn = null;
  blocksOut?.close();
  blocksOut = null;
}

let threadName: string | null = null;

/** Names this thread's cpu stream (property thread-name); call before the thread's first span. */
export function setThreadName(name: string): void {
  threadName = name;
  state.thread?.info.properties.set('thread-name', name);
}

/** Closes the current log, metrics and cpu blocks of this thread (non-empty ones); asks workers to do the same. */
export function flushAllStreams(): void {
  if (!state.active) return;
  if (delivery !== null) delivery.inline = true;
  try {
    state.log!.flush();
    state.metrics!.flush();
    state.thread!.flush();
  } finally {
    if (delivery !== null) delivery.inline = false;
  }
  controlOut?.postMessage({ type: 'flush' } satisfies ControlMessage);
}

/** Flushes everything, waits for blocks in flight, then shuts the sink down. Later calls are no-ops. */
export function shutdownDispatch(): Promise<void> {
  if (!isMainThread) {
    stopWorker();
    return Promise.resolve();
  }
  if (shuttingDown !== null) return shuttingDown;
  if (!state.active || sink === null) return Promise.resolve();
  const s = sink;
  const d = delivery!;
  flushAllStreams();
  shuttingDown = (async () => {
    if (workerStreams.size > 0) await new Promise((r) => setTimeout(r, 50)); // let workers' last blocks arrive
    state.active = false;
    state.maxLevel = 0;
    controlOut?.postMessage({ type: 'shutdown' } satisfies ControlMessage);
    setEnvironmentData(CONFIG_KEY, undefined as unknown as string);
    blocksIn?.close();
    controlOut?.close();
    blocksIn = controlOut = null;
    await d.close();
    try {
      await s.shutdown();
    } catch {
      // a sink must not throw into the program; ignore
    }
    sink = null;
    processInfo = null;
    delivery = null;
  })();
  return shuttingDown;
}

export function isTelemetryActive(): boolean {
  return state.active;
}

export function setMaxLevel(level: Level): void {
  if (!isLevel(level)) throw new RangeError(`tracing: invalid level ${String(level)}`);
  requestedLevel = level;
  if (state.active) state.maxLevel = level;
  controlOut?.postMessage({ type: 'level', level } satisfies ControlMessage);
}

export function getMaxLevel(): Level {
  return requestedLevel;
}

/** Adds a process property; before initDispatch it is merged into the process info at init. */
export function setProcessProperty(key: string, value: string): void {
  pendingProcessProperties.set(key, value);
  processInfo?.properties.set(key, value);
}

/** Process properties set so far with setProcessProperty. */
export function processProperties(): ReadonlyMap<string, string> {
  return pendingProcessProperties;
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // sinks must not throw into the instrumented program
  }
}

if (!isMainThread) {
  const config = getEnvironmentData(CONFIG_KEY) as unknown as WorkerConfig | undefined;
  if (config && typeof config === 'object' && typeof config.processId === 'string') initWorkerDispatch(config);
}
