// The three envelopes of the native ingestion protocol, as decoded from (or encoded to) CBOR.
// Field names follow upstream's wire keys in camelCase; 64-bit integers stay exact as bigint;
// UUIDs are lower-case hyphenated text; times are kept as the RFC 3339 text that travelled.

/** One field of a user-defined type (transit reflection metadata). */
export interface UdtMember {
  name: string;
  typeName: string;
  offset: number;
  size: number;
  isReference: boolean;
}

/** Layout of one type of a transit buffer; its index in the stream's list is its type id. */
export interface UserDefinedType {
  name: string;
  /** Byte size of one instance; 0 means dynamically sized (u32 length prefix, custom reader). */
  size: number;
  members: UdtMember[];
  isReference: boolean;
}

export interface ProcessInfo {
  processId: string;
  exe: string;
  username: string;
  realname: string;
  computer: string;
  distro: string;
  cpuBrand: string;
  tscFrequency: bigint;
  /** RFC 3339 text, e.g. 2026-08-21T16:53:43.123456789Z */
  startTime: string;
  startTicks: bigint;
  parentProcessId: string | null;
  properties: Map<string, string>;
}

export interface StreamInfo {
  processId: string;
  streamId: string;
  dependenciesMetadata: UserDefinedType[];
  objectsMetadata: UserDefinedType[];
  tags: string[];
  properties: Map<string, string>;
}

export interface BlockPayload {
  /** LZ4 frame of the dependencies buffer (native) or empty (OTLP). */
  dependencies: Uint8Array;
  /** LZ4 frame of the objects buffer (native) or raw protobuf (OTLP). */
  objects: Uint8Array;
}

export interface BlockEnvelope {
  blockId: string;
  streamId: string;
  processId: string;
  /** RFC 3339 text as sent, e.g. 2026-08-21T16:53:43.123456789+00:00 */
  beginTime: string;
  /** Relative to the process's start_ticks; may be negative. */
  beginTicks: bigint;
  endTime: string;
  endTicks: bigint;
  payload: BlockPayload;
  objectOffset: bigint;
  nbObjects: number;
}
