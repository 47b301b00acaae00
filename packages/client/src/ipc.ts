// Arrow IPC ↔ Flight: each FlightData holds one encapsulated IPC message, split into its flatbuffer
// header (data_header) and body (data_body). Decoding re-frames the messages into an IPC stream that
// apache-arrow's reader consumes as it arrives (dictionaries, replacements and deltas included).
import { RecordBatchReader, RecordBatchStreamWriter, Message, tableFromIPC, type RecordBatch, type Schema, type Table } from 'apache-arrow';
import { flight } from './proto.ts';

export interface FlightDataParts {
  dataHeader: Uint8Array;
  dataBody: Uint8Array;
}

const EOS = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0);

function readVarint(buf: Uint8Array, pos: { i: number }): number {
  let result = 0;
  let mul = 1;
  for (;;) {
    if (pos.i >= buf.byteLength) throw new Error('truncated FlightData');
    const b = buf[pos.i++]!;
    result += (b & 0x7f) * mul;
    if (b < 0x80) return result;
    mul *= 128;
    if (mul > 2 ** 56) throw new Error('malformed varint in FlightData');
  }
}

/** Reads FlightData's data_header (2) and data_body (1000) without copying them. */
export function decodeFlightData(buf: Uint8Array): FlightDataParts {
  let dataHeader: Uint8Array = new Uint8Array();
  let dataBody: Uint8Array = new Uint8Array();
  const pos = { i: 0 };
  while (pos.i < buf.byteLength) {
    const tag = readVarint(buf, pos);
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === 2) {
      const len = readVarint(buf, pos);
      if (pos.i + len > buf.byteLength) throw new Error('truncated FlightData');
      const v = buf.subarray(pos.i, pos.i + len);
      pos.i += len;
      if (field === 2) dataHeader = v;
      else if (field === 1000) dataBody = v;
    } else if (wire === 0) readVarint(buf, pos);
    else if (wire === 1) pos.i += 8;
    else if (wire === 5) pos.i += 4;
    else throw new Error(`unexpected wire type ${wire} in FlightData`);
  }
  return { dataHeader, dataBody };
}

/** The IPC stream framing of one message: continuation, padded header length, header, padding, body. */
export function frameMessage(parts: FlightDataParts): Uint8Array[] {
  const h = parts.dataHeader;
  if (h.byteLength === 0) return []; // app_metadata-only messages carry no IPC message
  const padded = (h.byteLength + 7) & ~7;
  const prefix = new Uint8Array(8);
  const view = new DataView(prefix.buffer);
  view.setUint32(0, 0xffffffff, true);
  view.setInt32(4, padded, true);
  const out = [prefix, h];
  if (padded > h.byteLength) out.push(new Uint8Array(padded - h.byteLength));
  if (parts.dataBody.byteLength > 0) out.push(parts.dataBody);
  return out;
}

async function* ipcBytes(messages: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for await (const m of messages) yield* frameMessage(decodeFlightData(m));
  yield EOS;
}

/** A streaming reader over raw FlightData messages: its schema once opened, then its batches. */
export async function openFlightDataReader(messages: AsyncIterable<Uint8Array>): Promise<{ schema: Schema; batches: AsyncIterableIterator<RecordBatch> }> {
  const reader = await RecordBatchReader.from(ipcBytes(messages));
  await reader.open();
  return { schema: reader.schema, batches: reader[Symbol.asyncIterator]() };
}

/** Cuts an IPC stream into its messages (stops at the end-of-stream marker). */
export function splitIpcStream(bytes: Uint8Array): FlightDataParts[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: FlightDataParts[] = [];
  let off = 0;
  while (off + 8 <= bytes.byteLength) {
    let len = view.getInt32(off, true);
    if (view.getUint32(off, true) === 0xffffffff) {
      len = view.getInt32(off + 4, true);
      off += 8;
    } else {
      off += 4;
    }
    if (len === 0) break;
    const dataHeader = bytes.subarray(off, off + len);
    off += len;
    const bodyLength = Number(Message.decode(dataHeader).bodyLength);
    out.push({ dataHeader, dataBody: bytes.subarray(off, off + bodyLength) });
    off += bodyLength;
  }
  return out;
}

/** FlightData messages for a DoPut: the schema (carrying the descriptor), then dictionaries and batches. */
export function tableToFlightData(table: Table | RecordBatch[], descriptor: Record<string, unknown>): Buffer[] {
  const writer = new RecordBatchStreamWriter();
  if (Array.isArray(table)) {
    for (const b of table) writer.write(b);
  } else {
    writer.write(table);
  }
  writer.finish();
  const parts = splitIpcStream(writer.toUint8Array(true));
  return parts.map((p, i) =>
    Buffer.from(flight.FlightData.encode({ ...(i === 0 ? { flight_descriptor: descriptor } : {}), data_header: p.dataHeader, data_body: p.dataBody })),
  );
}

/** A schema serialized as an IPC stream or as one encapsulated message (servers send either). */
export function schemaFromIpc(bytes: Uint8Array): Schema | undefined {
  if (bytes.byteLength === 0) return undefined;
  const tail = bytes.subarray(bytes.byteLength - 8);
  const stream = tail.every((b, i) => b === EOS[i]) ? bytes : Buffer.concat([bytes, EOS]);
  return tableFromIPC(stream).schema;
}
