// OTLP spans → otel_spans rows (reference analytics.md §1.4.10, upstream otel/spans_block_processor.rs
// and spans_table.rs): upstream's schema and schema hash. Spans without start/end time or with a
// trace id that is not 16 bytes / a span id that is not 8 bytes are skipped. events and links are
// JSONB arrays ({time, name, attributes} / {trace_id, span_id, attributes}, ids in hex).
import { Binary, FixedSizeBinary, makeData, Schema, Utf8, type Data } from 'apache-arrow';
import type { ResourceSpans } from '@micromegas/otlp';
import { makeBatch } from '../arrow/batch.ts';
import { BytesColumn, DictBinaryColumn, DictStringColumn, Int64Column } from '../arrow/builders.ts';
import { binary, dictBinary, dictUtf8, field, int64, timestampNs, utf8 } from '../arrow/types.ts';
import { encodeJsonb } from '../jsonb.ts';
import type { BlockWithContext } from '../metadata.ts';
import type { Nanos } from '../time.ts';
import type { RecordBatch } from 'apache-arrow';
import { anyValueToJson, attrsObject, hex, scopeExtras, type JsonLike } from './attrs.ts';
import { JsonbPropertiesColumn, jsonbKey } from '../views/process_columns.ts';

export const OTEL_SPANS_SCHEMA_HASH = Uint8Array.of(1);

export const otelSpansSchema = new Schema([
  field('process_id', dictUtf8()),
  field('stream_id', dictUtf8()),
  field('block_id', dictUtf8()),
  field('insert_time', timestampNs()),
  field('exe', utf8()),
  field('username', utf8()),
  field('computer', utf8()),
  field('process_properties', dictBinary()),
  field('trace_id', new FixedSizeBinary(16)),
  field('span_id', new FixedSizeBinary(8)),
  field('parent_span_id', new FixedSizeBinary(8), true),
  field('start_time', timestampNs()),
  field('end_time', timestampNs()),
  field('duration', int64()),
  field('name', dictUtf8()),
  field('kind', dictUtf8()),
  field('status', dictUtf8()),
  field('status_message', utf8(), true),
  field('properties', dictBinary()),
  field('events', binary()),
  field('links', binary()),
]);

const KINDS = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];
const STATUSES = ['UNSET', 'OK', 'ERROR'];

export interface DecodedSpan {
  traceId: Uint8Array;
  spanId: Uint8Array;
  parentSpanId: Uint8Array | null;
  start: Nanos;
  end: Nanos;
  name: string;
  kind: string;
  status: string;
  statusMessage: string | null;
  properties: Uint8Array;
  events: Uint8Array;
  links: Uint8Array;
}

export function otelSpanRows(rs: ResourceSpans): DecodedSpan[] {
  const out: DecodedSpan[] = [];
  for (const ss of rs.scopeSpans) {
    for (const s of ss.spans) {
      if (s.startTimeUnixNano === 0n || s.endTimeUnixNano === 0n) continue;
      if (s.traceId.length !== 16 || s.spanId.length !== 8) continue;
      const props = attrsObject(s.attributes);
      scopeExtras(ss.scope, ss.schemaUrl, props);
      const attrs = (kvs: typeof s.attributes) => {
        const o: Record<string, JsonLike> = {};
        for (const kv of kvs) if (kv.value) o[kv.key] = anyValueToJson(kv.value);
        return o;
      };
      out.push({
        traceId: s.traceId,
        spanId: s.spanId,
        parentSpanId: s.parentSpanId.length === 8 ? s.parentSpanId : null,
        start: BigInt.asIntN(64, s.startTimeUnixNano),
        end: BigInt.asIntN(64, s.endTimeUnixNano),
        name: s.name,
        kind: KINDS[s.kind] ?? 'UNSPECIFIED',
        status: s.status ? (STATUSES[s.status.code] ?? 'UNSET') : 'UNSET',
        statusMessage: s.status?.message ? s.status.message : null,
        properties: encodeJsonb(props),
        events: encodeJsonb(s.events.map((e) => ({ time: BigInt.asIntN(64, e.timeUnixNano), name: e.name, attributes: attrs(e.attributes) }))),
        links: encodeJsonb(s.links.map((l) => ({ trace_id: hex(l.traceId), span_id: hex(l.spanId), attributes: attrs(l.attributes) }))),
      });
    }
  }
  return out;
}

/** Byte-wise comparison of trace ids (then start time): the order of global otel_spans files. */
export function compareSpans(a: DecodedSpan, b: DecodedSpan): number {
  for (let i = 0; i < 16; i++) if (a.traceId[i] !== b.traceId[i]) return a.traceId[i]! - b.traceId[i]!;
  return a.start < b.start ? -1 : a.start > b.start ? 1 : 0;
}

function fixedBinary(width: number, values: (Uint8Array | null)[]): Data {
  const data = new Uint8Array(width * values.length);
  const valid = new Uint8Array(Math.ceil(values.length / 8));
  let nulls = 0;
  values.forEach((v, i) => {
    if (v) {
      data.set(v, i * width);
      valid[i >> 3]! |= 1 << (i & 7);
    } else nulls++;
  });
  return makeData({ type: new FixedSizeBinary(width), length: values.length, data, nullCount: nulls, nullBitmap: nulls ? valid : undefined } as never);
}

function nullableUtf8(values: (string | null)[]): Data {
  const col = new BytesColumn();
  const valid = new Uint8Array(Math.ceil(values.length / 8));
  let nulls = 0;
  values.forEach((v, i) => {
    if (v === null) {
      nulls++;
      col.pushBytes(new Uint8Array());
    } else {
      valid[i >> 3]! |= 1 << (i & 7);
      col.pushString(v);
    }
  });
  const d = col.finish(new Utf8());
  return makeData({ type: new Utf8(), length: values.length, valueOffsets: d.valueOffsets, data: d.values, nullCount: nulls, nullBitmap: nulls ? valid : undefined } as never);
}

export interface SpanBlockRows {
  ctx: BlockWithContext;
  spans: DecodedSpan[];
}

/** One batch of the spans of several blocks, in the given order of (block, span) pairs. */
export function buildOtelSpansBatch(rows: readonly { ctx: BlockWithContext; span: DecodedSpan }[]): { batch: RecordBatch; min: Nanos | undefined; max: Nanos | undefined } {
  const ids = { process: new DictStringColumn(), stream: new DictStringColumn(), block: new DictStringColumn() };
  const insert = new Int64Column();
  const exe = new BytesColumn();
  const user = new BytesColumn();
  const computer = new BytesColumn();
  const procProps = new JsonbPropertiesColumn();
  const start = new Int64Column();
  const end = new Int64Column();
  const duration = new Int64Column();
  const name = new DictStringColumn();
  const kind = new DictStringColumn();
  const status = new DictStringColumn();
  const props = new DictBinaryColumn();
  const events = new BytesColumn();
  const links = new BytesColumn();
  let min: Nanos | undefined;
  let max: Nanos | undefined;
  for (const { ctx, span } of rows) {
    ids.process.push(ctx.process.processId);
    ids.stream.push(ctx.block.streamId);
    ids.block.push(ctx.block.blockId);
    insert.push(ctx.block.insertTimeNs);
    exe.pushString(ctx.process.exe);
    user.pushString(ctx.process.username);
    computer.pushString(ctx.process.computer);
    procProps.pushId(procProps.idForMap(ctx.process.properties));
    start.push(span.start);
    end.push(span.end);
    duration.push(span.end - span.start);
    name.push(span.name);
    kind.push(span.kind);
    status.push(span.status);
    props.pushId(props.id(jsonbKey(span.properties), () => span.properties));
    events.pushBytes(span.events);
    links.pushBytes(span.links);
    if (min === undefined || span.start < min) min = span.start;
    if (max === undefined || span.end > max) max = span.end;
  }
  const batch = makeBatch(otelSpansSchema, [
    ids.process.finish(), ids.stream.finish(), ids.block.finish(), insert.finish(timestampNs()),
    exe.finish(new Utf8()), user.finish(new Utf8()), computer.finish(new Utf8()), procProps.finish(),
    fixedBinary(16, rows.map((r) => r.span.traceId)), fixedBinary(8, rows.map((r) => r.span.spanId)), fixedBinary(8, rows.map((r) => r.span.parentSpanId)),
    start.finish(timestampNs()), end.finish(timestampNs()), duration.finish(int64()),
    name.finish(), kind.finish(), status.finish(), nullableUtf8(rows.map((r) => r.span.statusMessage)),
    props.finish(), events.finish(new Binary()), links.finish(new Binary()),
  ]);
  return { batch, min, max };
}
