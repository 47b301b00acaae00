// Delivers telemetry to a micromegas ingestion service over HTTP (insert_process, insert_stream,
// insert_block), without ever blocking, slowing or crashing the host program.
//
// Requests go through node:http(s) rather than global fetch so that sockets can be unref'd: an idle
// or in-flight request never keeps the program alive on its own. flush()/shutdown() hold a ref'd
// deadline timer instead, so awaiting them keeps the program running until delivery or the deadline.
import { encodeBlock, encodeProcessInfo, encodeStreamInfo } from '@micromegas/transit';
import type { ProcessInfo, StreamInfo } from '@micromegas/transit';
import type { EventSink, FinishedBlock, StreamKind } from './sink.ts';
import { TelemetryConfigError } from './process_info.ts';
import { Fifo, IngestionTransport, ingestionUrl, type Outcome, type Route } from './http_sink_transport.ts';

export { ingestionUrl };

/** What a queued request carries; also the key of the per-kind counters. */
export type ItemLabel = 'process' | 'stream' | StreamKind;
export type LabelCounts = Record<ItemLabel, number>;

export interface HttpSinkOptions {
  /** Base URL of the ingestion service, e.g. http://localhost:9000 (routes are appended). */
  url: string;
  /** Sent as `Authorization: Bearer <apiKey>` when given. */
  apiKey?: string;
  /** Span (cpu) blocks are dropped once queued bytes would exceed this. Default 128 MiB. */
  maxQueueBytes?: number;
  /** Log and metrics blocks are dropped (after evicting lower priorities) beyond this. Default 256 MiB. */
  hardQueueBytes?: number;
  /** Concurrent requests. Default 3. */
  maxInFlight?: number;
  /** Attempts after the first for item-specific failures (500, timeouts), per priority. Default {10,5,2,1}. */
  retries?: Partial<Record<'metadata' | 'log' | 'metrics' | 'cpu', number>>;
  /** Per-request deadline. Default 10 s. */
  requestTimeoutMs?: number;
  /** First backoff delay; doubles per consecutive failure, with jitter. Default 10 ms. */
  backoffBaseMs?: number;
  /** Backoff cap. Default 5 s. */
  backoffMaxMs?: number;
  /** Bound of flush(). Default 10 s. */
  flushTimeoutMs?: number;
  /** Bound of shutdown(). Default 5 s. */
  shutdownTimeoutMs?: number;
  /** Where warnings go (already rate-limited). Default: one line to stderr. */
  warn?: (line: string) => void;
}

export interface HttpSinkStats {
  /** Bytes held (queued, in flight or waiting for a retry). */
  queuedBytes: number;
  /** Requests not yet settled. */
  pendingItems: number;
  inFlight: number;
  sent: LabelCounts;
  /** Dropped on enqueue or evicted because of the byte budget. */
  dropped: LabelCounts;
  droppedBytes: number;
  /** Answered with a permanent error (4xx): not retried. */
  rejected: LabelCounts;
  /** Given up after exhausting their retries. */
  failed: LabelCounts;
  /** Still undelivered when shutdown's deadline passed. */
  abandoned: LabelCounts;
  /** Attempts repeated after a transient failure. */
  retries: number;
}

type Priority = 0 | 1 | 2 | 3;
const PRIORITY: Record<ItemLabel, Priority> = { process: 0, stream: 0, log: 1, metrics: 2, cpu: 3 };

interface Item {
  seq: number;
  label: ItemLabel;
  route: Route;
  /** CBOR, encoded once at enqueue time and re-sent unchanged on retry. */
  body: Uint8Array;
  /** For blocks: the stream whose metadata must be settled first. For stream items: their own id. */
  streamId?: string;
  attempts: number;
}

const MIB = 1024 * 1024;
const WARNING_INTERVAL_MS = 10_000;
// Statuses meaning "the service is unavailable right now", not "this request is bad": waiting for
// them does not use up an item's retries, so an outage loses nothing that fits in the queue.
const UNAVAILABLE_STATUSES = new Set([429, 502, 503, 504]);

function zeroCounts(): LabelCounts {
  return { process: 0, stream: 0, log: 0, metrics: 0, cpu: 0 };
}

export class HttpSink implements EventSink {
  private readonly transport: IngestionTransport;
  private readonly maxQueueBytes: number;
  private readonly hardQueueBytes: number;
  private readonly maxInFlight: number;
  private readonly retryLimit: Record<Priority, number>;
  private readonly requestTimeoutMs: number;
  private readonly backoffBaseMs: number;
  private readonly backoffMaxMs: number;
  private readonly flushTimeoutMs: number;
  private readonly shutdownTimeoutMs: number;
  private readonly warnLine: (line: string) => void;

  private readonly queues: [Fifo<Item>, Fifo<Item>, Fifo<Item>, Fifo<Item>] = [new Fifo(), new Fifo(), new Fifo(), new Fifo()];
  /** Unsettled items by seq; insertion order is seq order, so the first key is the oldest. */
  private readonly unsettled = new Map<number, Item>();
  private readonly pendingStreams = new Map<string, StreamInfo>();
  private readonly announcedStreams = new Set<string>();
  private readonly settledStreams = new Set<string>();
  private waiters: { target: number; resolve: () => void }[] = [];
  private processSettled = false;
  private nextSeq = 1;
  private queuedBytes = 0;
  private inFlight = 0;
  private consecutiveFailures = 0;
  private pausedUntil = 0;
  private pauseTimer: NodeJS.Timeout | undefined;
  private pumpScheduled = false;
  private closed = false;
  private shutdownPromise: Promise<void> | undefined;
  private readonly lastWarning = new Map<string, { at: number; suppressed: number }>();
  private readonly counters = {
    sent: zeroCounts(),
    dropped: zeroCounts(),
    rejected: zeroCounts(),
    failed: zeroCounts(),
    abandoned: zeroCounts(),
    droppedBytes: 0,
    retries: 0,
  };

  constructor(options: HttpSinkOptions) {
    this.maxQueueBytes = positive(options.maxQueueBytes, 128 * MIB, 'maxQueueBytes');
    this.hardQueueBytes = Math.max(this.maxQueueBytes, positive(options.hardQueueBytes, 256 * MIB, 'hardQueueBytes'));
    this.maxInFlight = Math.floor(positive(options.maxInFlight, 3, 'maxInFlight'));
    const r = options.retries ?? {};
    this.retryLimit = { 0: r.metadata ?? 10, 1: r.log ?? 5, 2: r.metrics ?? 2, 3: r.cpu ?? 1 };
    this.requestTimeoutMs = positive(options.requestTimeoutMs, 10_000, 'requestTimeoutMs');
    this.backoffBaseMs = positive(options.backoffBaseMs, 10, 'backoffBaseMs');
    this.backoffMaxMs = positive(options.backoffMaxMs, 5_000, 'backoffMaxMs');
    this.flushTimeoutMs = positive(options.flushTimeoutMs, 10_000, 'flushTimeoutMs');
    this.shutdownTimeoutMs = positive(options.shutdownTimeoutMs, 5_000, 'shutdownTimeoutMs');
    this.warnLine = options.warn ?? ((line) => process.stderr.write(`${line}\n`));
    this.transport = new IngestionTransport({
      url: options.url,
      apiKey: options.apiKey,
      maxSockets: this.maxInFlight,
      requestTimeoutMs: this.requestTimeoutMs,
    });
  }

  onStartup(processInfo: ProcessInfo): void {
    this.guard(() => 'process', () => {
      this.enqueue({ label: 'process', route: 'insert_process', body: encodeProcessInfo(processInfo) });
    });
  }

  onStreamInit(stream: StreamInfo, _kind: StreamKind): void {
    // Sent lazily, right before the stream's first block: idle streams cost nothing.
    this.guard(() => 'stream', () => {
      if (!this.announcedStreams.has(stream.streamId)) this.pendingStreams.set(stream.streamId, stream);
    });
  }

  onBlock(finished: FinishedBlock): void {
    this.guard(() => finished.kind, () => {
      if (this.closed) {
        this.counters.dropped[finished.kind]++;
        return;
      }
      const streamId = finished.stream.streamId;
      if (!this.announcedStreams.has(streamId)) {
        const info = this.pendingStreams.get(streamId) ?? finished.stream;
        this.pendingStreams.delete(streamId);
        this.announcedStreams.add(streamId);
        this.enqueue({ label: 'stream', route: 'insert_stream', body: encodeStreamInfo(info), streamId });
      }
      const body = encodeBlock(finished.block);
      if (!this.makeRoom(PRIORITY[finished.kind], body.length)) {
        this.counters.dropped[finished.kind]++;
        this.counters.droppedBytes += body.length;
        this.warn('budget', `micromegas: telemetry queue full (${this.queuedBytes} bytes), dropping ${finished.kind} blocks`);
        return;
      }
      this.enqueue({ label: finished.kind, route: 'insert_block', body, streamId });
    });
  }

  /** Resolves when everything handed over so far is settled, or after flushTimeoutMs. Never rejects. */
  flush(): Promise<void> {
    return this.waitSettled(this.nextSeq - 1, this.flushTimeoutMs);
  }

  /**
   * Tries to deliver everything (bounded by shutdownTimeoutMs), then abandons what is left, aborts
   * requests and releases sockets. Blocks handed over afterwards are dropped.
   */
  shutdown(): Promise<void> {
    this.shutdownPromise ??= (async () => {
      this.schedulePump();
      await this.waitSettled(Number.POSITIVE_INFINITY, this.shutdownTimeoutMs);
      this.close();
    })();
    return this.shutdownPromise;
  }

  stats(): HttpSinkStats {
    return {
      queuedBytes: this.queuedBytes,
      pendingItems: this.unsettled.size,
      inFlight: this.inFlight,
      sent: { ...this.counters.sent },
      dropped: { ...this.counters.dropped },
      droppedBytes: this.counters.droppedBytes,
      rejected: { ...this.counters.rejected },
      failed: { ...this.counters.failed },
      abandoned: { ...this.counters.abandoned },
      retries: this.counters.retries,
    };
  }

  // Any unexpected error stays here: the host program must never see it.
  private guard(labelOf: () => ItemLabel, action: () => void): void {
    try {
      action();
    } catch (error) {
      let label: ItemLabel | 'unknown' = 'unknown';
      try {
        label = labelOf();
        if (label in this.counters.dropped && label !== 'process' && label !== 'stream') this.counters.dropped[label]++;
      } catch {
        // Not even a label: nothing to count.
      }
      this.warn('internal', `micromegas: telemetry ${label} not sent: ${describe(error)}`);
    }
  }

  private enqueue(fields: Omit<Item, 'seq' | 'attempts'>): void {
    const item: Item = { ...fields, seq: this.nextSeq++, attempts: 0 };
    this.unsettled.set(item.seq, item);
    this.queuedBytes += item.body.length;
    this.queues[PRIORITY[item.label]].push(item);
    this.schedulePump();
  }

  // Lowest priority goes first: evict queued items of lower priority than the newcomer, then give up.
  private makeRoom(priority: Priority, size: number): boolean {
    const limit = priority === 3 ? this.maxQueueBytes : this.hardQueueBytes;
    for (let victimPriority = 3; victimPriority > priority; victimPriority--) {
      const queue = this.queues[victimPriority];
      while (this.queuedBytes + size > limit && queue.length > 0) {
        const victim = queue.shift()!;
        this.counters.dropped[victim.label]++;
        this.counters.droppedBytes += victim.body.length;
        this.settle(victim);
      }
    }
    return this.queuedBytes + size <= limit;
  }

  private settle(item: Item): void {
    if (!this.unsettled.delete(item.seq)) return;
    this.queuedBytes -= item.body.length;
    if (item.label === 'process') this.processSettled = true;
    if (item.label === 'stream' && item.streamId) this.settledStreams.add(item.streamId);
    this.releaseWaiters();
  }

  private releaseWaiters(): void {
    if (this.waiters.length === 0) return;
    const oldest = this.unsettled.keys().next();
    const isDone = (w: { target: number }): boolean => oldest.done === true || oldest.value > w.target;
    const ready = this.waiters.filter(isDone);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((w) => !isDone(w));
    for (const w of ready) w.resolve();
  }

  private waitSettled(target: number, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      // Ref'd on purpose: whoever awaits delivery keeps the program alive until it is done.
      const timer = setTimeout(done, timeoutMs);
      const waiter = { target, resolve: done };
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.waiters.push(waiter);
      this.releaseWaiters();
      this.schedulePump();
    });
  }

  private schedulePump(): void {
    if (this.pumpScheduled || this.closed) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.closed) return;
    const wait = this.pausedUntil - Date.now();
    if (wait > 0) {
      if (!this.pauseTimer) {
        this.pauseTimer = setTimeout(() => {
          this.pauseTimer = undefined;
          this.pump();
        }, wait);
        this.pauseTimer.unref();
      }
      return;
    }
    while (this.inFlight < this.maxInFlight) {
      const item = this.nextReady();
      if (!item) break;
      this.send(item);
    }
  }

  // Strict priority order, except that nothing goes before the process is settled and no block goes
  // before its stream's metadata is settled (the server needs no such order, but readers like it).
  private nextReady(): Item | undefined {
    for (const queue of this.queues) {
      const head = queue.peek();
      if (!head) continue;
      if (head.label !== 'process' && !this.processSettled) continue;
      if (head.route === 'insert_block' && !this.settledStreams.has(head.streamId!)) continue;
      return queue.shift();
    }
    return undefined;
  }

  private send(item: Item): void {
    this.inFlight++;
    void this.transport.post(item.route, item.body).then((outcome) => {
      this.inFlight--;
      try {
        this.onOutcome(item, outcome);
      } catch (error) {
        this.warn('internal', `micromegas: telemetry sink error: ${describe(error)}`);
        this.settle(item);
      }
      this.schedulePump();
    });
  }

  private onOutcome(item: Item, outcome: Outcome): void {
    if (!this.unsettled.has(item.seq)) return; // abandoned by shutdown meanwhile
    if ('status' in outcome && outcome.status >= 200 && outcome.status < 300) {
      this.consecutiveFailures = 0;
      this.counters.sent[item.label]++;
      this.settle(item);
      return;
    }
    if ('status' in outcome && !(outcome.status >= 500 || UNAVAILABLE_STATUSES.has(outcome.status))) {
      // 4xx (and anything else unexpected) is permanent: the same bytes would fail again.
      this.counters.rejected[item.label]++;
      this.warn('rejected', `micromegas: ingestion rejected ${item.route} with HTTP ${outcome.status}; dropped`);
      this.settle(item);
      return;
    }
    const unavailable = 'status' in outcome ? UNAVAILABLE_STATUSES.has(outcome.status) : !outcome.timedOut;
    if (!unavailable) {
      item.attempts++;
      if (item.attempts > this.retryLimit[PRIORITY[item.label]]) {
        this.counters.failed[item.label]++;
        const why = 'status' in outcome ? `HTTP ${outcome.status}` : outcome.error.message;
        this.warn('failed', `micromegas: giving up on ${item.route} after ${item.attempts} attempts (${why})`);
        this.settle(item);
        return;
      }
    }
    if (unavailable) {
      const why = 'status' in outcome ? `HTTP ${outcome.status}` : outcome.error.message;
      this.warn('unavailable', `micromegas: ingestion service unavailable (${why}); retrying, ${this.queuedBytes} bytes queued`);
    }
    this.counters.retries++;
    this.consecutiveFailures++;
    this.pausedUntil = Math.max(this.pausedUntil, Date.now() + this.backoffDelay());
    // Back in sequence order, so several requests failing together keep their order.
    this.queues[PRIORITY[item.label]].putBack(item, (queued, retried) => queued.seq < retried.seq);
  }

  private backoffDelay(): number {
    const exponent = Math.min(this.consecutiveFailures - 1, 30);
    const ceiling = Math.min(this.backoffMaxMs, this.backoffBaseMs * 2 ** exponent);
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  private close(): void {
    this.closed = true;
    if (this.pauseTimer) clearTimeout(this.pauseTimer);
    this.pauseTimer = undefined;
    for (const item of this.unsettled.values()) this.counters.abandoned[item.label]++;
    const abandoned = this.unsettled.size;
    for (const queue of this.queues) queue.drain();
    for (const item of [...this.unsettled.values()]) this.settle(item);
    this.transport.close();
    if (abandoned > 0) {
      this.warnLine(`micromegas: telemetry shutdown deadline reached, ${abandoned} requests not delivered`);
    }
  }

  private warn(key: string, line: string): void {
    try {
      const now = Date.now();
      const last = this.lastWarning.get(key);
      if (last && now - last.at < WARNING_INTERVAL_MS) {
        last.suppressed++;
        return;
      }
      const suffix = last && last.suppressed > 0 ? ` (${last.suppressed} similar suppressed)` : '';
      this.lastWarning.set(key, { at: now, suppressed: 0 });
      this.warnLine(line + suffix);
    } catch {
      // A broken stderr must not break the program either.
    }
  }
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw new TelemetryConfigError(`HttpSink option ${name} must be a positive number, got ${value}`);
  }
  return value;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
