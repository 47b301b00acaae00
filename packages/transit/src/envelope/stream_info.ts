// StreamInfo: body of POST /ingestion/insert_stream (protocol §2.3), and the UDT lists the server stores
// in streams.dependencies_metadata / objects_metadata.
import { type CborValue, CborWriter, decodeCbor } from './cbor.ts';
import { writeProperties, writeUsize, writeUuid } from './encode_helpers.ts';
import { FieldReader } from './fields.ts';
import { TransitFormatError } from './errors.ts';
import type { StreamInfo, UdtMember, UserDefinedType } from './types.ts';

const CONTEXT = 'stream_info';

function readMember(value: CborValue, context: string): UdtMember {
  const fields = FieldReader.of(context, value);
  return {
    name: fields.text('name'),
    typeName: fields.text('type_name'),
    offset: fields.size('offset'),
    size: fields.size('size'),
    isReference: fields.bool('is_reference'),
  };
}

function readUdt(value: CborValue, context: string): UserDefinedType {
  const fields = FieldReader.of(context, value);
  return {
    name: fields.text('name'),
    size: fields.size('size'),
    members: fields.array('members').map((member, index) => readMember(member, `${context}.members[${index}]`)),
    isReference: fields.bool('is_reference'),
  };
}

function readUdtList(items: CborValue[], context: string): UserDefinedType[] {
  return items.map((item, index) => readUdt(item, `${context}[${index}]`));
}

/** Decodes a StreamInfo sent by any client (Rust or Unreal shape); throws TransitFormatError when malformed. */
export function decodeStreamInfo(bytes: Uint8Array): StreamInfo {
  const fields = FieldReader.of(CONTEXT, decodeCbor(bytes));
  return {
    processId: fields.uuid('process_id'),
    streamId: fields.uuid('stream_id'),
    dependenciesMetadata: readUdtList(fields.array('dependencies_metadata'), `${CONTEXT}.dependencies_metadata`),
    objectsMetadata: readUdtList(fields.array('objects_metadata'), `${CONTEXT}.objects_metadata`),
    tags: fields.textArray('tags'),
    properties: fields.properties('properties'),
  };
}

function writeUdtList(w: CborWriter, udts: readonly UserDefinedType[], context: string): void {
  w.writeHead(4, udts.length);
  udts.forEach((udt, index) => {
    const where = `${context}[${index}]`;
    w.writeHead(5, 4);
    w.writeText('name');
    w.writeText(udt.name);
    w.writeText('size');
    writeUsize(w, udt.size, where, 'size');
    w.writeText('members');
    w.writeHead(4, udt.members.length);
    for (const member of udt.members) {
      w.writeHead(5, 5);
      w.writeText('name');
      w.writeText(member.name);
      w.writeText('type_name');
      w.writeText(member.typeName);
      w.writeText('offset');
      writeUsize(w, member.offset, where, 'offset');
      w.writeText('size');
      writeUsize(w, member.size, where, 'size');
      w.writeText('is_reference');
      w.writeSimple(member.isReference ? 0xf5 : 0xf4);
    }
    w.writeText('is_reference');
    w.writeSimple(udt.isReference ? 0xf5 : 0xf4);
  });
}

/** `Vec<UserDefinedType>` as ciborium writes it: what the server stores in the streams table. */
export function encodeUdtList(udts: readonly UserDefinedType[]): Uint8Array {
  const w = new CborWriter(1024);
  writeUdtList(w, udts, 'udt_list');
  return w.finish();
}

/** Decodes a stored (or any client-shaped) UDT list. */
export function decodeUdtList(bytes: Uint8Array): UserDefinedType[] {
  const value = decodeCbor(bytes);
  if (!Array.isArray(value)) throw new TransitFormatError('udt_list: expected an array of user-defined types');
  return readUdtList(value, 'udt_list');
}

/** Encodes a StreamInfo as the Rust client does (declaration key order, definite lengths). */
export function encodeStreamInfo(stream: StreamInfo): Uint8Array {
  const w = new CborWriter(2048);
  w.writeHead(5, 6);
  w.writeText('process_id');
  writeUuid(w, stream.processId, CONTEXT, 'process_id');
  w.writeText('stream_id');
  writeUuid(w, stream.streamId, CONTEXT, 'stream_id');
  w.writeText('dependencies_metadata');
  writeUdtList(w, stream.dependenciesMetadata, `${CONTEXT}.dependencies_metadata`);
  w.writeText('objects_metadata');
  writeUdtList(w, stream.objectsMetadata, `${CONTEXT}.objects_metadata`);
  w.writeText('tags');
  w.writeHead(4, stream.tags.length);
  for (const tag of stream.tags) w.writeText(tag);
  w.writeText('properties');
  writeProperties(w, stream.properties);
  return w.finish();
}
