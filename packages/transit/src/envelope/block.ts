// Block: body of POST /ingestion/insert_block (protocol §2.4), and the BlockPayload document stored in the
// object store (§2.6).
import { type CborValue, CborWriter, decodeCbor } from './cbor.ts';
import { writeI64, writeUuid } from './encode_helpers.ts';
import { TransitFormatError } from './errors.ts';
import { FieldReader } from './fields.ts';
import type { BlockEnvelope, BlockPayload } from './types.ts';

const CONTEXT = 'block';

function readPayload(value: CborValue, context: string): BlockPayload {
  const fields = FieldReader.of(context, value);
  return { dependencies: fields.bytes('dependencies'), objects: fields.bytes('objects') };
}

/**
 * Decodes a block sent by any client (Rust or Unreal shape, byte-string or legacy integer-array payload).
 * Payload byte strings are views into `bytes` when they arrived as definite byte strings.
 */
export function decodeBlock(bytes: Uint8Array): BlockEnvelope {
  const fields = FieldReader.of(CONTEXT, decodeCbor(bytes));
  return {
    blockId: fields.uuid('block_id'),
    streamId: fields.uuid('stream_id'),
    processId: fields.uuid('process_id'),
    beginTime: fields.text('begin_time'),
    beginTicks: fields.i64('begin_ticks'),
    endTime: fields.text('end_time'),
    endTicks: fields.i64('end_ticks'),
    payload: readPayload(fields.get('payload'), `${CONTEXT}.payload`),
    objectOffset: fields.i64('object_offset'),
    nbObjects: fields.i32('nb_objects'),
  };
}

function checkPayload(payload: BlockPayload, context: string): void {
  if (!(payload.dependencies instanceof Uint8Array) || !(payload.objects instanceof Uint8Array)) {
    throw new TransitFormatError(`${context}: dependencies and objects must be Uint8Array`);
  }
}

function writePayload(w: CborWriter, payload: BlockPayload): void {
  w.writeHead(5, 2);
  w.writeText('dependencies');
  w.writeBytes(payload.dependencies);
  w.writeText('objects');
  w.writeBytes(payload.objects);
}

/** Encodes a block as the Rust client does (declaration key order, byte-string payload). */
export function encodeBlock(block: BlockEnvelope): Uint8Array {
  checkPayload(block.payload, `${CONTEXT}.payload`);
  if (!Number.isInteger(block.nbObjects) || block.nbObjects < -0x8000_0000 || block.nbObjects > 0x7fff_ffff) {
    throw new TransitFormatError(`${CONTEXT}: field nb_objects must be a 32-bit signed integer`);
  }
  const w = new CborWriter(512 + block.payload.dependencies.length + block.payload.objects.length);
  w.writeHead(5, 10);
  w.writeText('block_id');
  writeUuid(w, block.blockId, CONTEXT, 'block_id');
  w.writeText('stream_id');
  writeUuid(w, block.streamId, CONTEXT, 'stream_id');
  w.writeText('process_id');
  writeUuid(w, block.processId, CONTEXT, 'process_id');
  w.writeText('begin_time');
  w.writeText(block.beginTime);
  w.writeText('begin_ticks');
  writeI64(w, block.beginTicks, CONTEXT, 'begin_ticks');
  w.writeText('end_time');
  w.writeText(block.endTime);
  w.writeText('end_ticks');
  writeI64(w, block.endTicks, CONTEXT, 'end_ticks');
  w.writeText('payload');
  writePayload(w, block.payload);
  w.writeText('object_offset');
  writeI64(w, block.objectOffset, CONTEXT, 'object_offset');
  w.writeText('nb_objects');
  w.writeInteger(block.nbObjects);
  return w.finish();
}

/** The object-store document of §2.6: definite map(2) {"dependencies": bstr, "objects": bstr}. */
export function encodeBlockPayload(payload: BlockPayload): Uint8Array {
  checkPayload(payload, 'block_payload');
  const w = new CborWriter(64 + payload.dependencies.length + payload.objects.length);
  writePayload(w, payload);
  return w.finish();
}

/** Decodes a stored payload document (either byte form, as Rust readers accept). */
export function decodeBlockPayload(bytes: Uint8Array): BlockPayload {
  return readPayload(decodeCbor(bytes), 'block_payload');
}
