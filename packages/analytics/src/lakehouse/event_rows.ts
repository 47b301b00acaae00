// Decoding a list of blocks into the rows of an event view (log_entries, measures), shared by the
// daemon's global partitions and the just-in-time per-process ones. Payloads are fetched a few at a
// time ahead of decoding; a block that fails to decode is reported and skipped, like upstream.
import { asBlockError, decodeDependencies, decompressPayload, fetchBlockPayload, PayloadScratch } from '../block_source.ts';
import type { BlockWithContext } from '../metadata.ts';
import { makeTimeConverter } from '../time.ts';
import { LogEntriesBuilder, type BuiltRows } from '../views/log_entries.ts';
import { MeasuresBuilder } from '../views/measures.ts';
import type { LakehouseContext, PartitionRows } from './view.ts';
import { FORMAT_OTLP_LOGS, FORMAT_OTLP_METRICS, forEachOtlpBlock } from '../otel/blocks.ts';
import { otelLogRows } from '../otel/logs.ts';
import { otelMetricRows } from '../otel/metrics.ts';

export type EventViewKind = 'log_entries' | 'measures';

const PREFETCH = 8;

export interface EventRowsResult extends PartitionRows {
  failedBlocks: number;
}

export async function buildEventRows(ctx: LakehouseContext, kind: EventViewKind, blocks: readonly BlockWithContext[]): Promise<EventRowsResult> {
  const builder = kind === 'log_entries' ? new LogEntriesBuilder() : new MeasuresBuilder();
  const otlpFormat = kind === 'log_entries' ? FORMAT_OTLP_LOGS : FORMAT_OTLP_METRICS;
  const transit = blocks.filter((b) => {
    if (b.stream.format === 'micromegas-transit') return true;
    if (b.stream.format !== otlpFormat) ctx.log('warn', `${kind}: skipping block ${b.block.blockId} of unsupported format ${b.stream.format}`);
    return false;
  });
  builder.reserveRows(transit.reduce((n, b) => n + b.block.nbObjects, 0));
  const scratch = new PayloadScratch();
  let failedBlocks = 0;
  const pending = transit.map(() => undefined as Promise<unknown> | undefined);
  const fetch = (i: number) => {
    const b = transit[i];
    if (b && !pending[i]) pending[i] = fetchBlockPayload(ctx.lake.blobs, b.block).catch((err) => err as Error);
  };
  for (let i = 0; i < Math.min(PREFETCH, transit.length); i++) fetch(i);
  for (let i = 0; i < transit.length; i++) {
    fetch(i + PREFETCH);
    const b = transit[i]!;
    const payload = await pending[i];
    pending[i] = undefined;
    try {
      if (payload instanceof Error) throw payload;
      const buffers = decompressPayload(b.block, payload as never, scratch);
      const deps = decodeDependencies(b.block, b.stream, buffers);
      const convert = makeTimeConverter(b.process, b.block.endTicks, b.block.endTimeNs);
      builder.addBlock(b, buffers, deps, convert);
    } catch (err) {
      failedBlocks++;
      ctx.log('warn', `${kind}: ${asBlockError(b.block, err).message}`);
    }
  }
  // OTLP blocks (reference ingestion-protocol.md §1.6), mapped like upstream's otel processors.
  if (builder instanceof LogEntriesBuilder) {
    failedBlocks += await forEachOtlpBlock(ctx, kind, FORMAT_OTLP_LOGS, blocks, (b, logs) => builder.addDecodedRows(b, otelLogRows(logs, b.block.beginTimeNs)));
  } else {
    failedBlocks += await forEachOtlpBlock(ctx, kind, FORMAT_OTLP_METRICS, blocks, (b, metrics) => builder.addDecodedRows(b, otelMetricRows(metrics, { measures: true, histograms: false }).measures));
  }
  const built: BuiltRows = builder.finish();
  return {
    batches: built.rows > 0 ? [built.batch] : [],
    numRows: built.rows,
    minEventTime: built.minTimeNs,
    maxEventTime: built.maxTimeNs,
    release: built.release,
    failedBlocks,
  };
}
