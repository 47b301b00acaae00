// Arrow IPC ↔ Flight: a FlightData message carries one IPC encapsulated message, split into its
// flatbuffer metadata (data_header) and its body (data_body). We let apache-arrow's stream writer
// produce the IPC bytes and cut them at message boundaries.
import { RecordBatch, RecordBatchStreamWriter, Table, tableToIPC, type Schema } from 'apache-arrow';
import { splitIpcStream, type FlightDataParts } from '@micromegas/client/ipc';

export { splitIpcStream, type FlightDataParts };

/** Batches whose buffers exceed this are sent as several slices (arrow-rs's default target). */
export const TARGET_FLIGHT_DATA_BYTES = 2 * 1024 * 1024;

/** An IPC stream of just the schema (schema message + end-of-stream), as prepared statements return. */
export function schemaToIpcStream(schema: Schema): Uint8Array {
  return tableToIPC(new Table(schema), 'stream');
}

/** The schema as one encapsulated IPC message (continuation, length, flatbuffer), as FlightInfo holds it. */
export function schemaToIpcMessage(schema: Schema): Uint8Array {
  const stream = schemaToIpcStream(schema);
  return stream.subarray(0, stream.byteLength - 8); // drop the end-of-stream marker
}

/** The FlightData of the schema message that opens every DoGet stream. */
export function schemaFlightData(schema: Schema): FlightDataParts {
  const [msg] = splitIpcStream(schemaToIpcStream(schema));
  if (!msg) throw new Error('apache-arrow wrote no schema message');
  return msg;
}

/** Bytes held by a batch's buffers (an estimate of its IPC body size). */
export function batchByteLength(batch: RecordBatch): number {
  return (batch.data as unknown as { byteLength: number }).byteLength;
}

/** Slices a batch into pieces of at most about `target` bytes each. */
export function sliceBatch(batch: RecordBatch, target = TARGET_FLIGHT_DATA_BYTES): RecordBatch[] {
  const bytes = batchByteLength(batch);
  if (bytes <= target || batch.numRows <= 1) return [batch];
  const pieces = Math.ceil(bytes / target);
  const rowsPer = Math.max(1, Math.ceil(batch.numRows / pieces));
  const out: RecordBatch[] = [];
  for (let begin = 0; begin < batch.numRows; begin += rowsPer) out.push(batch.slice(begin, Math.min(batch.numRows, begin + rowsPer)));
  return out;
}

/**
 * The FlightData messages of one batch: its dictionary batches if any (each batch resends its
 * dictionaries, which the IPC stream format allows as replacements), then the record batch.
 */
export function batchFlightData(batch: RecordBatch): FlightDataParts[] {
  const writer = new RecordBatchStreamWriter();
  writer.write(batch);
  writer.finish();
  // Skip the schema message: it was sent once at the start of the stream.
  return splitIpcStream(writer.toUint8Array(true)).slice(1);
}

/** Encodes FlightData{data_header = 2, data_body = 1000} by hand: the hot path of every DoGet. */
export function encodeFlightData(parts: FlightDataParts): Buffer {
  const h = parts.dataHeader;
  const b = parts.dataBody;
  const chunks: Uint8Array[] = [];
  if (h.byteLength > 0) chunks.push(Uint8Array.of(0x12), varint(h.byteLength), h);
  if (b.byteLength > 0) chunks.push(Uint8Array.of(0xc2, 0x3e), varint(b.byteLength), b);
  return Buffer.concat(chunks);
}

function varint(n: number): Uint8Array {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return Uint8Array.from(out);
}
