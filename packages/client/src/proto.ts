// Loads the Flight / Flight SQL .proto files of this package (proto/) with protobufjs and exposes
// typed encode/decode helpers; shared by the client and by @micromegas/flightsql (the server).
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';

const root = new protobuf.Root();
for (const file of ['flight.proto', 'flight_sql.proto']) {
  const text = readFileSync(new URL(`../proto/${file}`, import.meta.url), 'utf8');
  protobuf.parse(text, root, { keepCase: true });
}
root.resolveAll();

const type = (name: string): protobuf.Type => root.lookupType(name);

export const SQL_TYPE_URL_PREFIX = 'type.googleapis.com/arrow.flight.protocol.sql.';

/** protobufjs messages in snake_case (keepCase), bytes as Uint8Array, int64 as Long or number. */
export type Msg = Record<string, unknown>;

export interface Codec {
  readonly type: protobuf.Type;
  decode(bytes: Uint8Array): Msg;
  encode(value: Msg): Uint8Array;
}

function codec(name: string): Codec {
  const t = type(name);
  return {
    type: t,
    // toObject with defaults so absent scalar fields read as '' / empty bytes / false / [].
    decode: (bytes) => t.toObject(t.decode(bytes), { defaults: true, bytes: Uint8Array as never, longs: Number }) as Msg,
    encode: (value) => t.encode(t.fromObject(value)).finish(),
  };
}

export const flight = {
  HandshakeRequest: codec('arrow.flight.protocol.HandshakeRequest'),
  HandshakeResponse: codec('arrow.flight.protocol.HandshakeResponse'),
  Empty: codec('arrow.flight.protocol.Empty'),
  ActionType: codec('arrow.flight.protocol.ActionType'),
  Criteria: codec('arrow.flight.protocol.Criteria'),
  Action: codec('arrow.flight.protocol.Action'),
  Result: codec('arrow.flight.protocol.Result'),
  SchemaResult: codec('arrow.flight.protocol.SchemaResult'),
  FlightDescriptor: codec('arrow.flight.protocol.FlightDescriptor'),
  FlightInfo: codec('arrow.flight.protocol.FlightInfo'),
  PollInfo: codec('arrow.flight.protocol.PollInfo'),
  Ticket: codec('arrow.flight.protocol.Ticket'),
  FlightData: codec('arrow.flight.protocol.FlightData'),
  PutResult: codec('arrow.flight.protocol.PutResult'),
};

export const sql = {
  Any: codec('arrow.flight.protocol.sql.Any'),
  CommandGetSqlInfo: codec('arrow.flight.protocol.sql.CommandGetSqlInfo'),
  CommandGetCatalogs: codec('arrow.flight.protocol.sql.CommandGetCatalogs'),
  CommandGetDbSchemas: codec('arrow.flight.protocol.sql.CommandGetDbSchemas'),
  CommandGetTables: codec('arrow.flight.protocol.sql.CommandGetTables'),
  CommandGetTableTypes: codec('arrow.flight.protocol.sql.CommandGetTableTypes'),
  ActionCreatePreparedStatementRequest: codec('arrow.flight.protocol.sql.ActionCreatePreparedStatementRequest'),
  ActionCreatePreparedStatementResult: codec('arrow.flight.protocol.sql.ActionCreatePreparedStatementResult'),
  ActionClosePreparedStatementRequest: codec('arrow.flight.protocol.sql.ActionClosePreparedStatementRequest'),
  CommandStatementQuery: codec('arrow.flight.protocol.sql.CommandStatementQuery'),
  TicketStatementQuery: codec('arrow.flight.protocol.sql.TicketStatementQuery'),
  CommandPreparedStatementQuery: codec('arrow.flight.protocol.sql.CommandPreparedStatementQuery'),
  CommandStatementIngest: codec('arrow.flight.protocol.sql.CommandStatementIngest'),
  DoPutUpdateResult: codec('arrow.flight.protocol.sql.DoPutUpdateResult'),
};

export type SqlMessageName = keyof typeof sql;

/** Wraps a Flight SQL message in an Any, as clients expect commands and tickets. */
export function packAny(name: SqlMessageName, value: Msg): Uint8Array {
  return sql.Any.encode({ type_url: SQL_TYPE_URL_PREFIX + name, value: sql[name].encode(value) });
}

/** Decodes an Any; undefined when the bytes are not a protobuf message of that shape. */
export function unpackAny(bytes: Uint8Array): { typeUrl: string; value: Uint8Array } | undefined {
  try {
    const any = sql.Any.decode(bytes);
    return { typeUrl: any.type_url as string, value: any.value as Uint8Array };
  } catch {
    return undefined;
  }
}

/** The Flight SQL message name of an Any type URL, or undefined if it is not one of ours. */
export function sqlMessageName(typeUrl: string): SqlMessageName | undefined {
  if (!typeUrl.startsWith(SQL_TYPE_URL_PREFIX)) return undefined;
  const name = typeUrl.slice(SQL_TYPE_URL_PREFIX.length);
  return Object.hasOwn(sql, name) && name !== 'Any' ? (name as SqlMessageName) : undefined;
}

const raw = (b: Buffer): Buffer => b;

/**
 * A FlightService method for grpc-js with messages kept as raw protobuf bytes (decoded by the caller,
 * so bad protobuf never fails inside grpc-js); used by the client and the server alike.
 */
export function flightMethod(name: string, requestStream: boolean, responseStream: boolean) {
  return {
    path: `/arrow.flight.protocol.FlightService/${name}`,
    requestStream,
    responseStream,
    requestSerialize: raw,
    requestDeserialize: raw,
    responseSerialize: raw,
    responseDeserialize: raw,
  };
}
