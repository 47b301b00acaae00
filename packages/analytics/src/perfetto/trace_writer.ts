// Writes a Perfetto trace (perfetto.protos.Trace) as upstream's perfetto_trace_chunks does
// (reference analytics.md §6): track descriptors for the process, its threads and one async track,
// then SLICE_BEGIN/SLICE_END track events with interned names, categories and source locations,
// every packet framed as field 1 of Trace, the byte stream cut into chunks of about 8 KiB.
// Field numbers are those of Perfetto's public trace protos.
import xxhash from 'xxhash-wasm';

const hasher = await xxhash();
const utf8 = new TextEncoder();

/** xxh64 of a string's UTF-8 bytes, as upstream derives track uuids. */
export function xxh64(text: string, seed = 0n): bigint {
  return hasher.h64Raw(utf8.encode(text), seed);
}

/** Chunks emitted when the buffer reaches this many bytes, or at an explicit flush. */
export const PERFETTO_CHUNK_SIZE = 8192;

/** A minimal protobuf encoder: fields are appended in the order written. */
class ProtoBuffer {
  private buf = new Uint8Array(64);
  length = 0;

  private ensure(extra: number): void {
    if (this.length + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  varint(value: bigint | number): this {
    // Negative int32/int64 values are sign-extended to 64 bits (ten bytes), as protobuf requires.
    let v = BigInt.asUintN(64, BigInt(value));
    this.ensure(10);
    while (v >= 0x80n) {
      this.buf[this.length++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.length++] = Number(v);
    return this;
  }

  private key(field: number, wireType: number): void {
    this.varint((field << 3) | wireType);
  }

  uint(field: number, value: bigint | number): this {
    this.key(field, 0);
    return this.varint(value);
  }

  bool(field: number, value: boolean): this {
    return this.uint(field, value ? 1 : 0);
  }

  bytes(field: number, value: Uint8Array): this {
    this.key(field, 2);
    this.varint(value.length);
    this.ensure(value.length);
    this.buf.set(value, this.length);
    this.length += value.length;
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, utf8.encode(value));
  }

  message(field: number, build: (m: ProtoBuffer) => void): this {
    const m = new ProtoBuffer();
    build(m);
    return this.bytes(field, m.finish());
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

// perfetto.protos field numbers.
const TRACE = { packet: 1 } as const;
const PACKET = { timestamp: 8, trustedPacketSequenceId: 10, trackEvent: 11, internedData: 12, sequenceFlags: 13, trackDescriptor: 60, firstPacketOnSequence: 87 } as const;
const TRACK = { uuid: 1, name: 2, process: 3, thread: 4, parentUuid: 5 } as const;
const PROCESS = { pid: 1, processName: 6 } as const;
const THREAD = { pid: 1, tid: 2, threadName: 5 } as const;
const EVENT = { categoryIids: 3, type: 9, nameIid: 10, trackUuid: 11, sourceLocationIid: 34 } as const;
const INTERNED = { eventCategories: 1, eventNames: 2, sourceLocations: 4 } as const;
const SOURCE_LOCATION = { iid: 1, fileName: 2, lineNumber: 4 } as const;
const SLICE_BEGIN = 1;
const SLICE_END = 2;
/** SEQ_INCREMENTAL_STATE_CLEARED | SEQ_NEEDS_INCREMENTAL_STATE on the first packet, then NEEDS only. */
const FIRST_SEQUENCE_FLAGS = 3;
const SEQUENCE_FLAGS = 2;

export interface SpanLocation {
  name: string;
  target: string;
  filename: string;
  line: number;
}

export class PerfettoTraceWriter {
  private readonly processUuid: bigint;
  private readonly pid: number;
  private currentTrack: bigint | undefined;
  private asyncTrack: bigint | undefined;
  private readonly names = new Map<string, number>();
  private readonly categories = new Map<string, number>();
  private readonly locations = new Map<string, number>();
  private chunk: Uint8Array[] = [];
  private chunkBytes = 0;
  private readonly chunks: Uint8Array[] = [];

  constructor(processId: string) {
    this.processUuid = xxh64(processId);
    this.pid = Number(BigInt.asIntN(32, this.processUuid));
  }

  private write(bytes: Uint8Array): void {
    this.chunk.push(bytes);
    this.chunkBytes += bytes.length;
    if (this.chunkBytes >= PERFETTO_CHUNK_SIZE) this.flush();
  }

  private writePacket(build: (p: ProtoBuffer) => void, first = false): void {
    const packet = new ProtoBuffer();
    build(packet);
    packet.uint(PACKET.trustedPacketSequenceId, 1);
    packet.uint(PACKET.sequenceFlags, first ? FIRST_SEQUENCE_FLAGS : SEQUENCE_FLAGS);
    if (first) packet.bool(PACKET.firstPacketOnSequence, true);
    const body = packet.finish();
    // The framing (Trace.packet key and length) and the packet are written separately, as upstream.
    this.write(new ProtoBuffer().varint((TRACE.packet << 3) | 2).varint(body.length).finish());
    this.write(body);
  }

  /** Ends the current chunk (no-op when empty). */
  flush(): void {
    if (this.chunkBytes === 0) return;
    const out = new Uint8Array(this.chunkBytes);
    let off = 0;
    for (const part of this.chunk) {
      out.set(part, off);
      off += part.length;
    }
    this.chunks.push(out);
    this.chunk = [];
    this.chunkBytes = 0;
  }

  /** The chunks completed so far (call flush() first for the tail). */
  takeChunks(): Uint8Array[] {
    return this.chunks.splice(0);
  }

  processDescriptor(exe: string): void {
    this.writePacket((p) => p.message(PACKET.trackDescriptor, (t) => {
      t.uint(TRACK.uuid, this.processUuid);
      t.message(TRACK.process, (d) => d.uint(PROCESS.pid, this.pid).string(PROCESS.processName, exe));
    }), true);
  }

  threadDescriptor(streamId: string, threadId: number, threadName: string): void {
    const uuid = xxh64(streamId);
    this.currentTrack = uuid;
    this.writePacket((p) => p.message(PACKET.trackDescriptor, (t) => {
      t.uint(TRACK.uuid, uuid);
      t.message(TRACK.thread, (d) => d.uint(THREAD.pid, this.pid).uint(THREAD.tid, threadId).string(THREAD.threadName, threadName));
      t.uint(TRACK.parentUuid, this.processUuid);
    }));
  }

  setCurrentThread(streamId: string): void {
    this.currentTrack = xxh64(streamId);
  }

  asyncTrackDescriptor(): void {
    if (this.asyncTrack !== undefined) return;
    const uuid = xxh64('async_track', this.processUuid);
    this.asyncTrack = uuid;
    this.writePacket((p) => p.message(PACKET.trackDescriptor, (t) => {
      t.uint(TRACK.uuid, uuid).string(TRACK.name, 'Async Operations').uint(TRACK.parentUuid, this.processUuid);
    }));
  }

  /** A thread span: begin and end slices on the current thread's track. */
  span(beginNs: bigint, endNs: bigint, loc: SpanLocation): void {
    if (this.currentTrack === undefined) throw new Error('perfetto: span before any thread descriptor');
    this.event(this.currentTrack, SLICE_BEGIN, beginNs, loc);
    this.event(this.currentTrack, SLICE_END, endNs, loc);
  }

  /** An async span: begin and end slices on the process's async track. */
  asyncSpan(beginNs: bigint, endNs: bigint, loc: SpanLocation): void {
    if (this.asyncTrack === undefined) throw new Error('perfetto: async span before the async track descriptor');
    this.event(this.asyncTrack, SLICE_BEGIN, beginNs, loc);
    this.event(this.asyncTrack, SLICE_END, endNs, loc);
  }

  private event(track: bigint, type: number, timestamp: bigint, loc: SpanLocation): void {
    // New strings are interned in the first packet that uses them; iids count from 1 per kind.
    const intern = (map: Map<string, number>, key: string): { iid: number; fresh: boolean } => {
      const known = map.get(key);
      if (known !== undefined) return { iid: known, fresh: false };
      const iid = map.size + 1;
      map.set(key, iid);
      return { iid, fresh: true };
    };
    const name = intern(this.names, loc.name);
    const category = intern(this.categories, loc.target);
    const location = intern(this.locations, `${loc.line}\u0000${loc.filename}`);
    this.writePacket((p) => {
      p.uint(PACKET.timestamp, timestamp);
      p.message(PACKET.trackEvent, (e) => {
        e.uint(EVENT.categoryIids, category.iid);
        e.uint(EVENT.type, type);
        e.uint(EVENT.nameIid, name.iid);
        e.uint(EVENT.trackUuid, track);
        e.uint(EVENT.sourceLocationIid, location.iid);
      });
      if (name.fresh || category.fresh || location.fresh) {
        p.message(PACKET.internedData, (d) => {
          if (category.fresh) d.message(INTERNED.eventCategories, (c) => c.uint(1, category.iid).string(2, loc.target));
          if (name.fresh) d.message(INTERNED.eventNames, (n) => n.uint(1, name.iid).string(2, loc.name));
          if (location.fresh) {
            d.message(INTERNED.sourceLocations, (s) => s.uint(SOURCE_LOCATION.iid, location.iid).string(SOURCE_LOCATION.fileName, loc.filename).uint(SOURCE_LOCATION.lineNumber, loc.line));
          }
        });
      }
    });
  }
}
