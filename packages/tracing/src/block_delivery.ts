// Turns closed blocks into FinishedBlocks (LZ4 frames, ticks relative to the process start, a fresh
// block id) and hands them to the sink in the order they were closed.
//
// LZ4 in JavaScript costs ~4 ns per byte, several times the cost of recording the events, so blocks
// closed because their buffer filled up are compressed on a background thread (as upstream does on
// its sink thread) and the recording thread only swaps buffers. Explicit flushes compress inline, so
// flushAllStreams() hands its blocks to the sink before returning unless earlier full blocks are
// still being compressed (then they follow those, to keep the order).
import { randomUUID } from 'node:crypto';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { compressLz4Frame, type ProcessInfo } from '@micromegas/transit';
import type { CompressJob, CompressResult, StreamLayout } from './compress_worker.ts';
import { expandDeferredLogs } from './deferred_log.ts';
import { releaseBuffer, setBufferShortageHandler, type RawBlock } from './event_stream.ts';
import type { EventSink, FinishedBlock } from './sink.ts';

export function finishBlock(raw: RawBlock, dependencies: Uint8Array, objects: Uint8Array, startTicks: number): FinishedBlock {
  return {
    kind: raw.kind,
    stream: raw.stream,
    block: {
      blockId: randomUUID(),
      streamId: raw.stream.streamId,
      processId: raw.stream.processId,
      beginTime: raw.begin.time,
      beginTicks: BigInt(Math.round(raw.begin.ticks - startTicks)),
      endTime: raw.end.time,
      endTicks: BigInt(Math.round(raw.end.ticks - startTicks)),
      payload: { dependencies, objects },
      objectOffset: BigInt(raw.objectOffset),
      nbObjects: raw.nbObjects,
    },
  };
}

function layoutOf(raw: RawBlock): StreamLayout {
  return { dependenciesMetadata: raw.stream.dependenciesMetadata, objectsMetadata: raw.stream.objectsMetadata };
}

/** Blocks smaller than this are compressed inline: the hop to the worker would cost more. */
const BACKGROUND_MIN_BYTES = 64 * 1024;

function startCompressionWorker(port: MessagePort): Worker | null {
  try {
    const script = new URL('./compress_worker.ts', import.meta.url).href;
    // The worker needs tsx's loader for TypeScript sources (workers do not inherit it on Node 20).
    const tsx = import.meta.resolve('tsx/esm/api');
    const bootstrap = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(script)}); })`;
    const worker = new Worker(bootstrap, { eval: true, name: 'micromegas-compression', workerData: { port }, transferList: [port] });
    worker.unref();
    return worker;
  } catch {
    return null;
  }
}

interface Slot {
  raw: RawBlock;
  done: FinishedBlock | null;
}

export class BlockDelivery {
  private readonly startTicks: number;
  private worker: Worker | null = null;
  private port: MessagePort | null = null;
  private nextSeq = 0;
  private nextToDeliver = 0;
  private readonly slots = new Map<number, Slot>();
  private waiters: (() => void)[] = [];
  /** Set by explicit flushes: compress inline. */
  inline = false;

  constructor(
    private readonly sink: EventSink,
    process: ProcessInfo,
    private background: boolean,
  ) {
    this.startTicks = Number(process.startTicks);
  }

  deliver(raw: RawBlock): void {
    const seq = this.nextSeq++;
    const slot: Slot = { raw, done: null };
    this.slots.set(seq, slot);
    if (this.background && !this.inline && raw.objects.length >= BACKGROUND_MIN_BYTES && this.ensureWorker()) {
      const job: CompressJob = {
        seq,
        dependencies: raw.dependencies,
        objects: raw.objects,
        deferredLogsOf: raw.deferredLogs ? layoutOf(raw) : null,
      };
      this.port!.ref(); // keep the program alive until pending blocks are delivered
      this.port!.postMessage(job, [raw.objects.buffer as ArrayBuffer]);
      return;
    }
    const objects = raw.deferredLogs ? expandDeferredLogs(raw.stream, raw.dependencies, raw.objects) : raw.objects;
    slot.done = finishBlock(raw, compressLz4Frame(raw.dependencies), compressLz4Frame(objects), this.startTicks);
    if (raw.recycle !== null) releaseBuffer(raw.recycle);
    this.deliverInOrder();
  }

  private ensureWorker(): boolean {
    if (this.worker !== null) return true;
    const channel = new MessageChannel();
    this.worker = startCompressionWorker(channel.port2);
    if (this.worker === null) {
      this.background = false;
      return false;
    }
    this.port = channel.port1;
    this.port.on('message', (r: CompressResult) => this.onResult(r));
    this.port.unref();
    // A recording thread that needs a buffer collects finished results synchronously: in a long
    // synchronous burst the event loop does not turn, and the buffers would otherwise never return.
    setBufferShortageHandler(() => this.poll());
    this.worker.on('error', () => this.abandonWorker());
    this.worker.on('exit', () => this.abandonWorker());
    return true;
  }

  private onResult(r: CompressResult): void {
    const slot = this.slots.get(r.seq);
    if (slot === undefined) return;
    slot.done = finishBlock(slot.raw, r.dependencies, r.objects, this.startTicks);
    if (slot.raw.recycle !== null) releaseBuffer(r.raw);
    this.deliverInOrder();
  }

  /** Takes every compression result already sent back, without waiting. */
  poll(): void {
    const port = this.port;
    if (port === null) return;
    for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) this.onResult(m.message as CompressResult);
  }

  // The worker died: blocks it held are lost (their buffers were transferred); later ones go inline.
  private abandonWorker(): void {
    this.background = false;
    this.worker = null;
    this.port?.close();
    this.port = null;
    setBufferShortageHandler(null);
    for (const [seq, slot] of this.slots) if (slot.done === null) this.slots.delete(seq);
    while (this.nextToDeliver < this.nextSeq && !this.slots.has(this.nextToDeliver)) this.nextToDeliver++;
    this.deliverInOrder();
  }

  private deliverInOrder(): void {
    for (;;) {
      const slot = this.slots.get(this.nextToDeliver);
      if (slot === undefined) {
        if (this.nextToDeliver < this.nextSeq) {
          this.nextToDeliver++;
          continue;
        }
        break;
      }
      if (slot.done === null) break;
      this.slots.delete(this.nextToDeliver++);
      try {
        this.sink.onBlock(slot.done);
      } catch {
        // a sink must not throw into the instrumented program
      }
    }
    if (this.slots.size === 0) {
      this.port?.unref();
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
    }
  }

  /** Resolves once every block delivered so far has reached the sink. */
  drain(): Promise<void> {
    if (this.slots.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Drains, then stops the compression thread. */
  async close(): Promise<void> {
    await this.drain();
    const w = this.worker;
    this.worker = null;
    this.background = false;
    setBufferShortageHandler(null);
    this.port?.close();
    this.port = null;
    if (w !== null) {
      w.removeAllListeners('exit');
      await w.terminate();
    }
  }
}
