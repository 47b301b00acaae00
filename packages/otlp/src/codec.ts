// Protobuf and OTLP/JSON decoding/encoding of the OTLP messages into the plain shapes of types.ts.
import protobuf from 'protobufjs';
import { Types } from './proto.ts';
import { OtlpDecodeError } from './errors.ts';
import { normalizeMessage } from './normalize.ts';
import type {
  ExportLogsServiceRequest,
  ExportMetricsServiceRequest,
  ExportTraceServiceRequest,
  ResourceLogs,
  ResourceMetrics,
  ResourceSpans,
  Resource,
} from './types.ts';

const TO_OBJECT: protobuf.IConversionOptions = {
  longs: BigInt as unknown as typeof Number,
  enums: Number,
  defaults: true,
  arrays: true,
  oneofs: true,
};

function decodeWith<T>(type: protobuf.Type, bytes: Uint8Array): T {
  let msg: protobuf.Message;
  try {
    msg = type.decode(bytes);
  } catch (e) {
    throw new OtlpDecodeError(`decoding ${type.name} (protobuf): ${(e as Error).message}`);
  }
  return type.toObject(msg, TO_OBJECT) as T;
}

function encodeWith(type: protobuf.Type, value: unknown): Uint8Array {
  const msg = type.fromObject(normalizeMessage(type, value, type.name, false));
  return type.encode(msg).finish();
}

/** OTLP/JSON text or bytes → protobuf bytes of `type` (validated; hex ids; int64 as strings or numbers). */
export function jsonToProtobuf(type: protobuf.Type, json: string | Uint8Array): Uint8Array {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof json === 'string' ? json : Buffer.from(json.buffer, json.byteOffset, json.byteLength).toString('utf8'));
  } catch (e) {
    throw new OtlpDecodeError(`decoding ${type.name} (json): ${(e as Error).message}`);
  }
  const msg = type.fromObject(normalizeMessage(type, parsed, type.name, true));
  return type.encode(msg).finish();
}

/** Message → OTLP/JSON text (lowerCamelCase, int64 as strings, hex trace/span ids, enums as ints). */
export function messageToJson(type: protobuf.Type, value: unknown): string {
  const msg = type.fromObject(normalizeMessage(type, value, type.name, false));
  const obj = type.toObject(msg, { longs: String, enums: Number, bytes: String, arrays: false, defaults: false });
  return JSON.stringify(hexIds(obj));
}

// protobufjs renders bytes as base64; OTLP/JSON wants trace/span ids in hex.
function hexIds(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(hexIds);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    out[k] = (k === 'traceId' || k === 'spanId' || k === 'parentSpanId') && typeof x === 'string'
      ? Buffer.from(x, 'base64').toString('hex')
      : hexIds(x);
  }
  return out;
}

export const decodeExportLogsRequest = (b: Uint8Array): ExportLogsServiceRequest =>
  decodeWith(Types.ExportLogsServiceRequest, b);
export const decodeExportMetricsRequest = (b: Uint8Array): ExportMetricsServiceRequest =>
  decodeWith(Types.ExportMetricsServiceRequest, b);
export const decodeExportTraceRequest = (b: Uint8Array): ExportTraceServiceRequest =>
  decodeWith(Types.ExportTraceServiceRequest, b);
export const decodeResourceLogs = (b: Uint8Array): ResourceLogs => decodeWith(Types.ResourceLogs, b);
export const decodeResourceMetrics = (b: Uint8Array): ResourceMetrics => decodeWith(Types.ResourceMetrics, b);
export const decodeResourceSpans = (b: Uint8Array): ResourceSpans => decodeWith(Types.ResourceSpans, b);

// Encoders accept the decoded shapes, or partial ones (missing fields = defaults; ints as bigint/number/string).
export const encodeExportLogsRequest = (v: unknown): Uint8Array => encodeWith(Types.ExportLogsServiceRequest, v);
export const encodeExportMetricsRequest = (v: unknown): Uint8Array =>
  encodeWith(Types.ExportMetricsServiceRequest, v);
export const encodeExportTraceRequest = (v: unknown): Uint8Array => encodeWith(Types.ExportTraceServiceRequest, v);
export const encodeResourceLogs = (v: unknown): Uint8Array => encodeWith(Types.ResourceLogs, v);
export const encodeResourceMetrics = (v: unknown): Uint8Array => encodeWith(Types.ResourceMetrics, v);
export const encodeResourceSpans = (v: unknown): Uint8Array => encodeWith(Types.ResourceSpans, v);

export const decodeExportLogsRequestJson = (j: string | Uint8Array): ExportLogsServiceRequest =>
  decodeExportLogsRequest(jsonToProtobuf(Types.ExportLogsServiceRequest, j));
export const decodeExportMetricsRequestJson = (j: string | Uint8Array): ExportMetricsServiceRequest =>
  decodeExportMetricsRequest(jsonToProtobuf(Types.ExportMetricsServiceRequest, j));
export const decodeExportTraceRequestJson = (j: string | Uint8Array): ExportTraceServiceRequest =>
  decodeExportTraceRequest(jsonToProtobuf(Types.ExportTraceServiceRequest, j));
export const encodeExportLogsRequestJson = (v: unknown): string => messageToJson(Types.ExportLogsServiceRequest, v);
export const encodeExportMetricsRequestJson = (v: unknown): string =>
  messageToJson(Types.ExportMetricsServiceRequest, v);
export const encodeExportTraceRequestJson = (v: unknown): string => messageToJson(Types.ExportTraceServiceRequest, v);

/** google.rpc.Status {code, message} as protobuf bytes. */
export function encodeRpcStatus(code: number, message: string): Uint8Array {
  return Types.RpcStatus.encode(Types.RpcStatus.fromObject({ code, message })).finish();
}

export function decodeRpcStatus(b: Uint8Array): { code: number; message: string } {
  return decodeWith(Types.RpcStatus, b);
}

export const decodeResource = (b: Uint8Array): Resource => decodeWith(Types.Resource, b);
