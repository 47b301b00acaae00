// ProcessInfo: body of POST /ingestion/insert_process (protocol §2.2).
import { CborWriter, decodeCbor } from './cbor.ts';
import { writeI64, writeProperties, writeUuid } from './encode_helpers.ts';
import { FieldReader } from './fields.ts';
import type { ProcessInfo } from './types.ts';

const CONTEXT = 'process_info';

/** Decodes a ProcessInfo sent by any client (Rust or Unreal shape); throws TransitFormatError when malformed. */
export function decodeProcessInfo(bytes: Uint8Array): ProcessInfo {
  const fields = FieldReader.of(CONTEXT, decodeCbor(bytes));
  return {
    processId: fields.uuid('process_id'),
    exe: fields.text('exe'),
    username: fields.text('username'),
    realname: fields.text('realname'),
    computer: fields.text('computer'),
    distro: fields.text('distro'),
    cpuBrand: fields.text('cpu_brand'),
    tscFrequency: fields.i64('tsc_frequency'),
    startTime: fields.text('start_time'),
    startTicks: fields.i64('start_ticks'),
    parentProcessId: fields.optionalUuid('parent_process_id'),
    properties: fields.properties('properties'),
  };
}

/** Encodes a ProcessInfo as the Rust client does (declaration key order, null parent when absent). */
export function encodeProcessInfo(process: ProcessInfo): Uint8Array {
  const w = new CborWriter(512);
  w.writeHead(5, 12);
  w.writeText('process_id');
  writeUuid(w, process.processId, CONTEXT, 'process_id');
  w.writeText('exe');
  w.writeText(process.exe);
  w.writeText('username');
  w.writeText(process.username);
  w.writeText('realname');
  w.writeText(process.realname);
  w.writeText('computer');
  w.writeText(process.computer);
  w.writeText('distro');
  w.writeText(process.distro);
  w.writeText('cpu_brand');
  w.writeText(process.cpuBrand);
  w.writeText('tsc_frequency');
  writeI64(w, process.tscFrequency, CONTEXT, 'tsc_frequency');
  w.writeText('start_time');
  w.writeText(process.startTime);
  w.writeText('start_ticks');
  writeI64(w, process.startTicks, CONTEXT, 'start_ticks');
  w.writeText('parent_process_id');
  if (process.parentProcessId === null || process.parentProcessId === '') w.writeSimple(0xf6);
  else writeUuid(w, process.parentProcessId, CONTEXT, 'parent_process_id');
  w.writeText('properties');
  writeProperties(w, process.properties);
  return w.finish();
}
