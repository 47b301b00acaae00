// Reading OTLP blocks (reference ingestion-protocol.md §1.6): the payload envelope's `objects` is the
// protobuf-encoded ResourceLogs / ResourceMetrics / ResourceSpans, not LZ4-compressed. A block that
// fails to fetch or decode is reported and left out; the others go on.
import { decodeResourceLogs, decodeResourceMetrics, decodeResourceSpans, type ResourceLogs, type ResourceMetrics, type ResourceSpans } from '@micromegas/otlp';
import { asBlockError, fetchBlockPayload } from '../block_source.ts';
import type { BlockWithContext } from '../metadata.ts';
import type { LakehouseContext } from '../lakehouse/view.ts';

export const FORMAT_OTLP_LOGS = 'otlp/v1/logs';
export const FORMAT_OTLP_METRICS = 'otlp/v1/metrics';
export const FORMAT_OTLP_TRACES = 'otlp/v1/traces';
export const OTLP_FORMATS = [FORMAT_OTLP_LOGS, FORMAT_OTLP_METRICS, FORMAT_OTLP_TRACES];

export interface OtlpDecoders {
  [FORMAT_OTLP_LOGS]: ResourceLogs;
  [FORMAT_OTLP_METRICS]: ResourceMetrics;
  [FORMAT_OTLP_TRACES]: ResourceSpans;
}

const DECODERS: { [F in keyof OtlpDecoders]: (b: Uint8Array) => OtlpDecoders[F] } = {
  [FORMAT_OTLP_LOGS]: decodeResourceLogs,
  [FORMAT_OTLP_METRICS]: decodeResourceMetrics,
  [FORMAT_OTLP_TRACES]: decodeResourceSpans,
};

const PREFETCH = 8;

/**
 * For each block of `format` (others are ignored), fetches and decodes its payload, then calls
 * `use` (in block order; a throw from `use` fails that block alone). Returns the failed-block count.
 */
export async function forEachOtlpBlock<F extends keyof OtlpDecoders>(
  ctx: LakehouseContext,
  setName: string,
  format: F,
  blocks: readonly BlockWithContext[],
  use: (block: BlockWithContext, message: OtlpDecoders[F]) => void,
): Promise<number> {
  const mine = blocks.filter((b) => b.stream.format === format);
  let failed = 0;
  const pending: (Promise<unknown> | undefined)[] = [];
  const fetch = (i: number) => {
    const b = mine[i];
    if (b && !pending[i]) pending[i] = fetchBlockPayload(ctx.lake.blobs, b.block).catch((err: Error) => err);
  };
  for (let i = 0; i < Math.min(PREFETCH, mine.length); i++) fetch(i);
  for (let i = 0; i < mine.length; i++) {
    fetch(i + PREFETCH);
    const b = mine[i]!;
    const payload = await pending[i];
    pending[i] = undefined;
    try {
      if (payload instanceof Error) throw payload;
      const message = DECODERS[format]((payload as { objects: Uint8Array }).objects);
      use(b, message);
    } catch (err) {
      failed++;
      ctx.log('warn', `${setName}: ${asBlockError(b.block, err).message}`);
    }
  }
  return failed;
}
