// One stream's current block: a preallocated transit objects buffer written in place by the event
// functions (no allocation, no closures, u64 fields as two u32 halves), plus the list of
// dependencies its events refer to. Closing a block extracts the dependencies buffer, hands both
// buffers to the dispatch and starts the next block at the same instant.
import type { StreamInfo } from '@micromegas/transit';
import { writeUtf8 } from '@micromegas/transit';
import { DepsWriter, type Dependency } from './deps_writer.ts';
import type { LogDescriptor, MetricDescriptor, PropertySet, SpanDescriptor, SpanLocation } from './descriptors.ts';
import type { StreamKind } from './sink.ts';
import { DEFERRED_ARG_NUMBER, DEFERRED_ARG_STRING, DEFERRED_LOG_TYPE } from './deferred_log.ts';
import { LogObj, MetricObj } from './stream_layouts.ts';
import type { StringEntry } from './strings.ts';
import { dualTimeNow, type DualTime } from './time.ts';

const TWO_32 = 4294967296;
/** Room kept free at the end of the buffer, as upstream (`hint_max_obj_size`): fixed-size events always fit. */
export const FULL_MARGIN = 128;
export const MIN_BUFFER_BYTES = 1024;

/** A closed block before compression: both transit buffers uncompressed. */
export interface RawBlock {
  kind: StreamKind;
  stream: StreamInfo;
  begin: DualTime;
  end: DualTime;
  objectOffset: number;
  nbObjects: number;
  dependencies: Uint8Array;
  objects: Uint8Array;
  /** The objects' whole buffer when it may be reused once the block is compressed (see releaseBuffer). */
  recycle: ArrayBuffer | null;
  /** The objects hold private deferred-log events to expand before delivery (see deferred_log.ts). */
  deferredLogs: boolean;
}

// Fresh memory is expensive on first touch (page faults: ~45 ms per 10 MiB on a small VM, more than
// recording the events), so buffers of closed blocks come back here once compressed.
const MAX_POOLED_PER_SIZE = 4;
const bufferPool = new Map<number, ArrayBuffer[]>();

let onBufferShortage: (() => void) | null = null;

/** Called when the pool has no buffer of the wanted size, before allocating one (e.g. to collect returned buffers). */
export function setBufferShortageHandler(handler: (() => void) | null): void {
  onBufferShortage = handler;
}

function acquireBuffer(size: number): Uint8Array {
  let pooled = bufferPool.get(size)?.pop();
  if (pooled === undefined && onBufferShortage !== null) {
    onBufferShortage();
    pooled = bufferPool.get(size)?.pop();
  }
  return pooled !== undefined ? new Uint8Array(pooled) : new Uint8Array(size);
}

/** Returns a closed block's buffer for reuse by the streams of this thread. */
export function releaseBuffer(buffer: ArrayBuffer): void {
  if (buffer.byteLength === 0) return; // detached
  let list = bufferPool.get(buffer.byteLength);
  if (list === undefined) bufferPool.set(buffer.byteLength, (list = []));
  if (list.length < MAX_POOLED_PER_SIZE) list.push(buffer);
}

export type BlockHandler = (block: RawBlock) => void;

// Block stamps are unique per thread; descriptors remember the last one that listed them.
let lastStamp = 0;
function nextStamp(): number {
  return ++lastStamp;
}
const depsWriter = new DepsWriter();

export class EventStream {
  bytes: Uint8Array;
  view: DataView;
  len = 0;
  limit: number;
  nbObjects = 0;
  private deferredLogs = false;
  objectOffset = 0;
  stamp = nextStamp();
  deps: Dependency[] = [];
  begin: DualTime;

  constructor(
    readonly kind: StreamKind,
    readonly info: StreamInfo,
    readonly capacity: number,
    private readonly staticStringType: number,
    private readonly stringDependencyType: number,
    private readonly onBlock: BlockHandler,
  ) {
    this.capacity = Math.max(MIN_BUFFER_BYTES, Math.floor(capacity));
    this.bytes = acquireBuffer(this.capacity);
    this.view = new DataView(this.bytes.buffer);
    this.limit = this.capacity - FULL_MARGIN;
    this.begin = dualTimeNow();
  }

  // --- logs ------------------------------------------------------------------------------------

  logStatic(desc: LogDescriptor, time: number): void {
    const p = this.len;
    const v = this.view;
    this.bytes[p] = LogObj.StaticStr;
    v.setUint32(p + 1, desc.idLo, true);
    v.setUint32(p + 5, desc.idHi, true);
    v.setUint32(p + 9, time, true);
    v.setUint32(p + 13, (time / TWO_32) | 0, true);
    this.len = p + 17;
    this.nbObjects++;
    if (desc.seen !== this.stamp) {
      desc.seen = this.stamp;
      this.deps.push(desc);
    }
    if (this.len > this.limit) this.flush();
  }

  /** LogStringEventV2 (properties === null) or TaggedLogString. */
  logString(desc: LogDescriptor, properties: PropertySet | null, time: number, msg: string): void {
    this.reserve(38 + 3 * msg.length);
    const p = this.len;
    const v = this.view;
    let q = p + 5;
    this.bytes[p] = properties === null ? LogObj.StringV2 : LogObj.TaggedString;
    v.setUint32(q, desc.idLo, true);
    v.setUint32(q + 4, desc.idHi, true);
    q += 8;
    if (properties !== null) {
      v.setUint32(q, properties.idLo, true);
      v.setUint32(q + 4, properties.idHi, true);
      q += 8;
      this.track(properties);
    }
    v.setUint32(q, time, true);
    v.setUint32(q + 4, (time / TWO_32) | 0, true);
    q += 8;
    this.bytes[q] = 2; // UTF-8
    const n = writeUtf8(this.bytes, q + 5, msg);
    v.setUint32(q + 1, n, true);
    q += 5 + n;
    v.setUint32(p + 1, q - p - 5, true);
    this.len = q;
    this.nbObjects++;
    this.track(desc);
    if (this.len > this.limit) this.flush();
  }

  /**
   * A log whose `{}` template is filled later (see deferred_log.ts); every argument is a string or
   * a number, and there are at most 255 of them.
   */
  logDeferred(desc: LogDescriptor, time: number, args: readonly (string | number)[]): void {
    let max = 27;
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      max += typeof a === 'number' ? 9 : 5 + 3 * a.length;
    }
    this.reserve(max);
    const p = this.len;
    const v = this.view;
    const b = this.bytes;
    b[p] = DEFERRED_LOG_TYPE;
    v.setUint32(p + 5, desc.idLo, true);
    v.setUint32(p + 9, desc.idHi, true);
    v.setUint32(p + 13, time, true);
    v.setUint32(p + 17, (time / TWO_32) | 0, true);
    b[p + 21] = args.length;
    let q = p + 22;
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      if (typeof a === 'number') {
        b[q] = DEFERRED_ARG_NUMBER;
        v.setFloat64(q + 1, a, true);
        q += 9;
      } else {
        b[q] = DEFERRED_ARG_STRING;
        const n = writeUtf8(b, q + 5, a);
        v.setUint32(q + 1, n, true);
        q += 5 + n;
      }
    }
    v.setUint32(p + 1, q - p - 5, true);
    this.len = q;
    this.nbObjects++;
    this.deferredLogs = true;
    this.track(desc);
    if (this.len > this.limit) this.flush();
  }

  /** LogStringInteropEventV3: fully formatted text from another logging library. */
  logInterop(time: number, level: number, target: StringEntry, msg: string): void {
    this.reserve(40 + 3 * msg.length);
    const p = this.len;
    const v = this.view;
    const b = this.bytes;
    b[p] = LogObj.StringInteropV3;
    let q = p + 5;
    v.setUint32(q, time, true);
    v.setUint32(q + 4, (time / TWO_32) | 0, true);
    b[q + 8] = level;
    q += 9;
    // StaticStringRef: id, byte length, codec, padding
    v.setUint32(q, target.idLo, true);
    v.setUint32(q + 4, target.idHi, true);
    v.setUint32(q + 8, target.utf8.length, true);
    v.setUint32(q + 12, 2, true);
    q += 16;
    b[q] = 2;
    const n = writeUtf8(b, q + 5, msg);
    v.setUint32(q + 1, n, true);
    q += 5 + n;
    v.setUint32(p + 1, q - p - 5, true);
    this.len = q;
    this.nbObjects++;
    this.track(target);
    if (this.len > this.limit) this.flush();
  }

  // --- metrics ---------------------------------------------------------------------------------

  /** IntegerMetricEvent; the u64 value is given as two u32 halves. */
  intMetric(desc: MetricDescriptor, valueLo: number, valueHi: number, time: number): void {
    const p = this.len;
    const v = this.view;
    this.bytes[p] = MetricObj.Integer;
    v.setUint32(p + 1, desc.idLo, true);
    v.setUint32(p + 5, desc.idHi, true);
    v.setUint32(p + 9, valueLo, true);
    v.setUint32(p + 13, valueHi, true);
    v.setUint32(p + 17, time, true);
    v.setUint32(p + 21, (time / TWO_32) | 0, true);
    this.len = p + 25;
    this.nbObjects++;
    if (desc.seen !== this.stamp) {
      desc.seen = this.stamp;
      this.deps.push(desc);
    }
    if (this.len > this.limit) this.flush();
  }

  floatMetric(desc: MetricDescriptor, value: number, time: number): void {
    const p = this.len;
    const v = this.view;
    this.bytes[p] = MetricObj.Float;
    v.setUint32(p + 1, desc.idLo, true);
    v.setUint32(p + 5, desc.idHi, true);
    v.setFloat64(p + 9, value, true);
    v.setUint32(p + 17, time, true);
    v.setUint32(p + 21, (time / TWO_32) | 0, true);
    this.len = p + 25;
    this.nbObjects++;
    if (desc.seen !== this.stamp) {
      desc.seen = this.stamp;
      this.deps.push(desc);
    }
    if (this.len > this.limit) this.flush();
  }

  /** TaggedIntegerMetricEvent (isFloat false, value in lo/hi) or TaggedFloatMetricEvent (value in floatValue). */
  taggedMetric(desc: MetricDescriptor, properties: PropertySet, isFloat: boolean, floatValue: number, lo: number, hi: number, time: number): void {
    const p = this.len;
    const v = this.view;
    this.bytes[p] = isFloat ? MetricObj.TaggedFloat : MetricObj.TaggedInteger;
    v.setUint32(p + 1, desc.idLo, true);
    v.setUint32(p + 5, desc.idHi, true);
    v.setUint32(p + 9, properties.idLo, true);
    v.setUint32(p + 13, properties.idHi, true);
    if (isFloat) v.setFloat64(p + 17, floatValue, true);
    else {
      v.setUint32(p + 17, lo, true);
      v.setUint32(p + 21, hi, true);
    }
    v.setUint32(p + 25, time, true);
    v.setUint32(p + 29, (time / TWO_32) | 0, true);
    this.len = p + 33;
    this.nbObjects++;
    this.track(desc);
    this.track(properties);
    if (this.len > this.limit) this.flush();
  }

  // --- spans -----------------------------------------------------------------------------------

  /** Begin/EndThreadSpanEvent (type 0 or 1). */
  threadSpan(type: number, desc: SpanDescriptor, time: number): void {
    const p = this.len;
    const v = this.view;
    this.bytes[p] = type;
    v.setUint32(p + 1, desc.idLo, true);
    v.setUint32(p + 5, desc.idHi, true);
    v.setUint32(p + 9, time, true);
    v.setUint32(p + 13, (time / TWO_32) | 0, true);
    this.len = p + 17;
    this.nbObjects++;
    if (desc.seen !== this.stamp) {
      desc.seen = this.stamp;
      this.deps.push(desc);
    }
    if (this.len > this.limit) this.flush();
  }

  /** Begin/EndThreadNamedSpanEvent (type 2 or 3): location ref, name StringId, time. */
  namedThreadSpan(type: number, location: SpanLocation, name: StringEntry, time: number): void {
    const p = this.len;
    const v = this.view;
    this.bytes[p] = type;
    v.setUint32(p + 1, location.idLo, true);
    v.setUint32(p + 5, location.idHi, true);
    writeStringId(v, p + 9, name);
    v.setUint32(p + 25, time, true);
    v.setUint32(p + 29, (time / TWO_32) | 0, true);
    this.len = p + 33;
    this.nbObjects++;
    this.track(location);
    this.track(name);
    if (this.len > this.limit) this.flush();
  }

  /** Begin/EndAsyncSpanEvent (type 4 or 5). */
  asyncSpan(type: number, desc: SpanDescriptor, spanId: number, parentSpanId: number, depth: number, time: number): void {
    const p = this.len;
    const v = this.view;
    this.bytes[p] = type;
    v.setUint32(p + 1, desc.idLo, true);
    v.setUint32(p + 5, desc.idHi, true);
    v.setUint32(p + 9, spanId, true);
    v.setUint32(p + 13, (spanId / TWO_32) | 0, true);
    v.setUint32(p + 17, parentSpanId, true);
    v.setUint32(p + 21, (parentSpanId / TWO_32) | 0, true);
    v.setUint32(p + 25, time, true);
    v.setUint32(p + 29, (time / TWO_32) | 0, true);
    v.setUint32(p + 33, depth, true);
    v.setUint32(p + 37, 0, true); // padding of the 40-byte struct
    this.len = p + 41;
    this.nbObjects++;
    this.track(desc);
    if (this.len > this.limit) this.flush();
  }

  /** Begin/EndAsyncNamedSpanEvent (type 6 or 7). */
  namedAsyncSpan(type: number, location: SpanLocation, name: StringEntry, spanId: number, parentSpanId: number, depth: number, time: number): void {
    const p = this.len;
    const v = this.view;
    this.bytes[p] = type;
    v.setUint32(p + 1, location.idLo, true);
    v.setUint32(p + 5, location.idHi, true);
    writeStringId(v, p + 9, name);
    v.setUint32(p + 25, spanId, true);
    v.setUint32(p + 29, (spanId / TWO_32) | 0, true);
    v.setUint32(p + 33, parentSpanId, true);
    v.setUint32(p + 37, (parentSpanId / TWO_32) | 0, true);
    v.setUint32(p + 41, time, true);
    v.setUint32(p + 45, (time / TWO_32) | 0, true);
    v.setUint32(p + 49, depth, true);
    v.setUint32(p + 53, 0, true);
    this.len = p + 57;
    this.nbObjects++;
    this.track(location);
    this.track(name);
    if (this.len > this.limit) this.flush();
  }

  // --- blocks ----------------------------------------------------------------------------------

  private track(d: Dependency): void {
    if (d.seen !== this.stamp) {
      d.seen = this.stamp;
      this.deps.push(d);
    }
  }

  /** Makes room for a dynamic event of at most `n` bytes. */
  private reserve(n: number): void {
    if (this.len + n <= this.bytes.length) return;
    if (this.nbObjects > 0) this.flush();
    if (n > this.bytes.length) {
      // A single event larger than the buffer gets a buffer of its own; the block closes right after.
      this.bytes = new Uint8Array(n);
      this.view = new DataView(this.bytes.buffer);
    }
  }

  /** Marks the stream so that its next event closes the block. */
  requestFlush(): void {
    this.limit = -1;
  }

  /** Closes the current block (if it has events) and starts the next one at the same instant. */
  flush(): void {
    this.limit = this.capacity - FULL_MARGIN;
    if (this.nbObjects === 0) return;
    const end = dualTimeNow();
    const w = depsWriter;
    w.reset(nextStamp(), this.staticStringType, this.stringDependencyType);
    const deps = this.deps;
    for (let i = 0; i < deps.length; i++) deps[i]!.emit(w);
    const dependencies = w.finish();
    let objects: Uint8Array;
    let recycle: ArrayBuffer | null = null;
    if (this.len < this.bytes.length >>> 2) {
      objects = this.bytes.slice(0, this.len);
    } else {
      // Hand the whole buffer over (no copy) and continue in another one.
      objects = this.bytes.subarray(0, this.len);
      if (this.bytes.byteLength === this.capacity) recycle = this.bytes.buffer as ArrayBuffer;
      this.bytes = acquireBuffer(this.capacity);
      this.view = new DataView(this.bytes.buffer);
    }
    const block: RawBlock = {
      kind: this.kind,
      stream: this.info,
      begin: this.begin,
      end,
      objectOffset: this.objectOffset,
      nbObjects: this.nbObjects,
      dependencies,
      objects,
      recycle,
      deferredLogs: this.deferredLogs,
    };
    this.deferredLogs = false;
    this.objectOffset += this.nbObjects;
    this.nbObjects = 0;
    this.len = 0;
    this.begin = end;
    this.stamp = nextStamp();
    deps.length = 0;
    this.onBlock(block);
  }
}

// StringId layout: id u64, byte length u32, codec u8, padding.
function writeStringId(v: DataView, p: number, s: StringEntry): void {
  v.setUint32(p, s.idLo, true);
  v.setUint32(p + 4, s.idHi, true);
  v.setUint32(p + 8, s.utf8.length, true);
  v.setUint32(p + 12, 2, true);
}
