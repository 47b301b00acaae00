// Turns closed blocks into FinishedBlocks (LZ4 frames, ticks relative to the process start, a fresh
// block id) and hands them to the sink, in the order they were closed.
import { randomUUID } from 'node:crypto';
import { compressLz4Frame, type ProcessInfo } from '@micromegas/transit';
import type { RawBlock } from './event_stream.ts';
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

export class BlockDelivery {
  private readonly startTicks: number;
  constructor(
    private readonly sink: EventSink,
    process: ProcessInfo,
    readonly background: boolean,
  ) {
    this.startTicks = Number(process.startTicks);
  }

  deliver(raw: RawBlock): void {
    const finished = finishBlock(raw, compressLz4Frame(raw.dependencies), compressLz4Frame(raw.objects), this.startTicks);
    try {
      this.sink.onBlock(finished);
    } catch {
      // a sink must not throw into the instrumented program
    }
  }

  /** Resolves once every block delivered so far has reached the sink. */
  async drain(): Promise<void> {}
}
