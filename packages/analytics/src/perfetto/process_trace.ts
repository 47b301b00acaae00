// One process's spans as a Perfetto trace (perfetto_trace_chunks, reference analytics.md §6): the
// thread spans of each cpu stream and the process's async spans over a time range, read from their
// view instances (materialized just in time), written in upstream's packet order.
import { findThreadStreams, threadDisplayName, threadNumericId } from '../metadata.ts';
import { jitUpdate } from '../lakehouse/jit.ts';
import { makeJitView } from '../lakehouse/jit_views.ts';
import { queryView } from '../lakehouse/partition_reader.ts';
import type { LakehouseContext } from '../lakehouse/view.ts';
import type { Nanos } from '../time.ts';
import { PerfettoTraceWriter, type SpanLocation } from './trace_writer.ts';

export type SpanTypes = 'thread' | 'async' | 'both';

/** Spans are written in groups of this many between chunk flushes, as upstream. */
const SPANS_PER_FLUSH = 10;

interface SpanRow extends SpanLocation {
  b: bigint;
  e: bigint;
}

const asSpan = (r: Record<string, unknown>): SpanRow => ({
  b: r.b as bigint,
  e: r.e as bigint,
  name: String(r.name ?? ''),
  target: String(r.target ?? ''),
  filename: String(r.filename ?? ''),
  line: Number(r.line ?? 0),
});

async function viewRows(ctx: LakehouseContext, setName: string, instanceId: string, begin: Nanos, end: Nanos, sql: (source: string) => string): Promise<SpanRow[]> {
  const view = await makeJitView(ctx, setName, instanceId);
  await jitUpdate(ctx, view, { begin, end });
  return (await queryView(ctx, view, sql, { begin, end })).map(asSpan);
}

/** The trace as chunks of about 8 KiB whose concatenation is a valid .perfetto-trace file. */
export async function perfettoTraceChunks(ctx: LakehouseContext, processId: string, exe: string, spanTypes: SpanTypes, begin: Nanos, end: Nanos): Promise<Uint8Array[]> {
  const writer = new PerfettoTraceWriter(processId);
  writer.processDescriptor(exe);
  writer.flush();
  const threads = await findThreadStreams(ctx.lake.db, processId);
  for (const t of threads) writer.threadDescriptor(t.streamId, threadNumericId(t), threadDisplayName(t));
  if (threads.length > 0) writer.flush();
  const withAsync = spanTypes !== 'thread';
  if (withAsync) {
    writer.asyncTrackDescriptor();
    writer.flush();
  }
  if (spanTypes !== 'async') {
    for (const t of threads) {
      const spans = await viewRows(ctx, 'thread_spans', t.streamId, begin, end, (src) =>
        `SELECT epoch_ns("begin") AS b, epoch_ns("end") AS e, name, filename, target, line FROM ${src}
          WHERE epoch_ns("begin") <= ${end} AND epoch_ns("end") >= ${begin} ORDER BY "begin"`);
      writer.setCurrentThread(t.streamId);
      let previous: bigint | undefined;
      spans.forEach((s, i) => {
        if (previous !== undefined && s.b < previous) throw new Error(`thread spans out of order for stream ${t.streamId}: begin ${s.b} follows ${previous}`);
        previous = s.b;
        writer.span(s.b, s.e, s);
        if ((i + 1) % SPANS_PER_FLUSH === 0) writer.flush();
      });
    }
  }
  if (withAsync) {
    const inRange = `epoch_ns(time) >= ${begin} AND epoch_ns(time) <= ${end}`;
    const spans = await viewRows(ctx, 'async_events', processId, begin, end, (src) => `
      WITH b AS (SELECT span_id, time AS begin_time, name, filename, target, line FROM ${src} WHERE ${inRange} AND event_type = 'begin'),
           e AS (SELECT span_id, time AS end_time FROM ${src} WHERE ${inRange} AND event_type = 'end')
      SELECT epoch_ns(b.begin_time) AS b, epoch_ns(e.end_time) AS e, b.name, b.filename, b.target, b.line
      FROM b JOIN e ON b.span_id = e.span_id ORDER BY b.begin_time`);
    let written = 0;
    for (const s of spans) {
      if (s.b >= s.e) continue; // a span that does not last is skipped, as upstream
      writer.asyncSpan(s.b, s.e, s);
      if (++written % SPANS_PER_FLUSH === 0) writer.flush();
    }
  }
  writer.flush();
  return writer.takeChunks();
}
