// The boundary between event recording (dispatch, streams, blocks) and event delivery (sinks).
import type { BlockEnvelope, ProcessInfo, StreamInfo } from '@micromegas/transit';

/** Which kind of stream a block belongs to; also its delivery priority (log > metrics > cpu). */
export type StreamKind = 'log' | 'metrics' | 'cpu';

/** A closed block, ready to be CBOR-encoded: payload LZ4-framed, ticks relative to the process start. */
export interface FinishedBlock {
  kind: StreamKind;
  stream: StreamInfo;
  block: BlockEnvelope;
}

/**
 * Where recorded telemetry goes. Calls come from the main thread (blocks of worker threads are
 * forwarded there by the dispatch). No method may block or throw into the instrumented program.
 */
export interface EventSink {
  /** Called once, before any block. */
  onStartup(process: ProcessInfo): void;
  /** A stream was created; sinks that send metadata lazily keep it until the stream's first block. */
  onStreamInit(stream: StreamInfo, kind: StreamKind): void;
  onBlock(block: FinishedBlock): void;
  /** Resolves once everything handed over so far has been delivered or given up on. */
  flush(): Promise<void>;
  /** Flushes (bounded in time) and releases timers and sockets. */
  shutdown(): Promise<void>;
}
