// OTLP logs → log_entries rows (reference analytics.md §1.4.4, upstream otel/logs_block_processor.rs):
// one row per LogRecord; time = time_unix_nano, else observed_time_unix_nano, else the block's begin
// time; level from severity_number; target = scope name; msg = body as text; properties = record
// attributes + otel.scope.* + otel.trace_id/span_id (hex, only when 16/8 bytes) + otel.severity_text +
// otel.event_name.
import type { ResourceLogs } from '@micromegas/otlp';
import { encodeJsonb } from '../jsonb.ts';
import type { Nanos } from '../time.ts';
import { anyValueToText, attrsObject, hex, scopeExtras, severityToLevel } from './attrs.ts';

export interface DecodedLogRow {
  time: Nanos;
  level: number;
  target: string;
  msg: string;
  properties: Uint8Array;
}

export function otelLogRows(logs: ResourceLogs, blockBeginTime: Nanos): DecodedLogRow[] {
  const rows: DecodedLogRow[] = [];
  for (const sl of logs.scopeLogs) {
    const target = sl.scope?.name ?? '';
    for (const r of sl.logRecords) {
      const time = r.timeUnixNano !== 0n ? r.timeUnixNano : r.observedTimeUnixNano !== 0n ? r.observedTimeUnixNano : blockBeginTime;
      const props = attrsObject(r.attributes);
      scopeExtras(sl.scope, sl.schemaUrl, props);
      if (r.traceId.length === 16) props['otel.trace_id'] = hex(r.traceId);
      if (r.spanId.length === 8) props['otel.span_id'] = hex(r.spanId);
      if (r.severityText) props['otel.severity_text'] = r.severityText;
      if (r.eventName) props['otel.event_name'] = r.eventName;
      rows.push({ time: BigInt.asIntN(64, time), level: severityToLevel(r.severityNumber), target, msg: anyValueToText(r.body), properties: encodeJsonb(props) });
    }
  }
  return rows;
}
