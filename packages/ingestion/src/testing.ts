// For tests and benchmarks: telemetry recorded in memory (e.g. by @micromegas/tracing's MemorySink)
// sent to a lake through the ingestion service, as a client would send it. Not used by production code.
import type { Lake } from '@micromegas/lake';
import { encodeBlock, encodeProcessInfo, encodeStreamInfo, type BlockEnvelope, type ProcessInfo, type StreamInfo } from '@micromegas/transit';
import { IngestionService } from './service.ts';

export interface RecordedTelemetry {
  process: ProcessInfo | null;
  streams: readonly { stream: StreamInfo }[];
  blocks: readonly { block: BlockEnvelope }[];
}

/** Inserts the process, its streams and `blocks` (all of the recording's by default). */
export async function ingestRecorded(lake: Lake, recorded: RecordedTelemetry, blocks: readonly { block: BlockEnvelope }[] = recorded.blocks): Promise<void> {
  if (!recorded.process) throw new Error('the recording has no process');
  const service = new IngestionService(lake);
  await service.insertProcess(encodeProcessInfo(recorded.process));
  for (const { stream } of recorded.streams) await service.insertStream(encodeStreamInfo(stream));
  for (const b of blocks) await service.insertBlock(encodeBlock(b.block));
}
