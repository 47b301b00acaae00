// An EventSink that keeps everything in memory: for tests, and (with keepBlocks false) for
// benchmarks that need blocks to flow without the cost of delivering them.
import type { ProcessInfo, StreamInfo } from '@micromegas/transit';
import type { EventSink, FinishedBlock, StreamKind } from './sink.ts';

export interface MemorySinkOptions {
  /** Keep the blocks (default true); false only counts them. */
  keepBlocks?: boolean;
}

export class MemorySink implements EventSink {
  process: ProcessInfo | null = null;
  readonly streams: { stream: StreamInfo; kind: StreamKind }[] = [];
  readonly blocks: FinishedBlock[] = [];
  blockCount = 0;
  objectCount = 0;
  isShutDown = false;
  private readonly keepBlocks: boolean;

  constructor(options: MemorySinkOptions = {}) {
    this.keepBlocks = options.keepBlocks ?? true;
  }

  onStartup(process: ProcessInfo): void {
    this.process = process;
  }
  onStreamInit(stream: StreamInfo, kind: StreamKind): void {
    this.streams.push({ stream, kind });
  }
  onBlock(block: FinishedBlock): void {
    this.blockCount++;
    this.objectCount += block.block.nbObjects;
    if (this.keepBlocks) this.blocks.push(block);
  }
  async flush(): Promise<void> {}
  async shutdown(): Promise<void> {
    this.isShutDown = true;
  }

  blocksOf(kind: StreamKind): FinishedBlock[] {
    return this.blocks.filter((b) => b.kind === kind);
  }
}
