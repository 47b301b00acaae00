// The FlightSQL server: Arrow Flight over gRPC (grpc-js), serving a QueryEngine. Which RPCs do what
// follows upstream's flight_sql_service_impl (reference analytics.md §4.2); request bytes are
// decoded inside the handlers so malformed input becomes INVALID_ARGUMENT instead of a crash.
import { randomUUID } from 'node:crypto';
import {
  Server, ServerCredentials, status,
  type Metadata, type ServerDuplexStream, type ServerUnaryCall, type ServerWritableStream, type ServiceDefinition, type sendUnaryData,
} from '@grpc/grpc-js';
import type { RecordBatch, Schema } from 'apache-arrow';
import type { Caller, QueryEngine } from './contract.ts';
import { FlightSqlError, toServiceError } from './errors.ts';
import { clientAttribution, header, preserveDictionary, queryLimit, queryRange } from './headers.ts';
import { preserveDictionaries } from './dictionary.ts';
import { QueryAudit, deniedMetric, errorClassOf, matchContext, resolveAttribution, warnLog } from './audit.ts';
import { namesDenyListFunction, type QueryDenyList } from './deny_list.ts';
import { fingerprintOf } from './fingerprint.ts';
import { flightDataToBatches, type BulkIngest } from './bulk_ingest.ts';
import { batchFlightData, encodeFlightData, schemaFlightData, schemaToIpcMessage, schemaToIpcStream, sliceBatch } from './ipc.ts';
import * as meta from './metadata.ts';
import { flight, flightMethod, packAny, sql, sqlMessageName, unpackAny, type Msg, type SqlMessageName } from './proto/index.ts';

export const DEFAULT_FLIGHTSQL_PORT = 50051;
export const MAX_RECEIVE_MESSAGE_BYTES = 100 * 1024 * 1024;

export interface FlightSqlServerOptions {
  engine: QueryEngine;
  host?: string;
  port?: number;
  /** API keys, e.g. `Keyring` from @micromegas/ingestion: returns the key's name for a valid `Bearer` header. */
  keyring?: { authenticate(authorization: string | undefined): string | undefined };
  /** Resolves a caller from the `authorization` header; undefined = "invalid token". Tried after `keyring`. */
  verify?: (authorization: string | undefined) => Caller | undefined | Promise<Caller | undefined>;
  /** Every caller is an admin named "anonymous" (upstream --disable-auth). */
  disableAuth?: boolean;
  log?: (line: string) => void;
  /** Bulk ingest for admins' DoPut(CommandStatementIngest), e.g. `makeBulkIngest(lake)`; without it they get UNIMPLEMENTED. */
  bulkIngest?: BulkIngest;
  /** The query deny list every statement is checked against before it is planned. */
  denyList?: Pick<QueryDenyList, 'check'>;
  /**
   * Whether some caller can be an admin (as the engine's option): when false, every caller may call
   * the deny-list functions, so statements naming them are exempt from the deny list for everyone.
   */
  adminPossible?: boolean;
  /** Receives each query's audit record (its JSON text) after it is logged. */
  onAudit?: (json: string) => void;
}

export interface FlightSqlServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** One decoded command: what a ticket or a descriptor asks for. */
type Command =
  | { kind: 'statement'; sql: string; prepared?: boolean }
  | { kind: 'metadata'; name: SqlMessageName; cmd: Msg; any: Uint8Array };

const METADATA_COMMANDS = new Set<SqlMessageName>(['CommandGetTables', 'CommandGetSqlInfo', 'CommandGetCatalogs', 'CommandGetDbSchemas', 'CommandGetTableTypes']);

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeSql(bytes: Uint8Array, what: string): string {
  try {
    const text = utf8.decode(bytes);
    if (text.length > 0) return text;
  } catch {
    // fall through
  }
  throw new FlightSqlError('invalid_argument', `${what}: expected a non-empty UTF-8 SQL statement`);
}

function decodeOrInvalid(codec: { decode(b: Uint8Array): Msg }, bytes: Uint8Array, what: string): Msg {
  try {
    return codec.decode(bytes);
  } catch (e) {
    throw new FlightSqlError('invalid_argument', `unable to decode ${what}: ${(e as Error).message}`);
  }
}

/** Decodes an Any-wrapped Flight SQL command (descriptor cmd or ticket). */
function decodeAnyCommand(bytes: Uint8Array, what: string): Command {
  const any = unpackAny(bytes);
  if (!any || !any.typeUrl.startsWith('type.googleapis.com/')) {
    throw new FlightSqlError('invalid_argument', `${what}: expected a google.protobuf.Any-wrapped Flight SQL command`);
  }
  const name = sqlMessageName(any.typeUrl);
  if (name === undefined) {
    if (any.typeUrl.startsWith('type.googleapis.com/arrow.flight.protocol.sql.')) {
      throw new FlightSqlError('unimplemented', `${what}: ${any.typeUrl.slice('type.googleapis.com/'.length)} is not implemented`);
    }
    throw new FlightSqlError('invalid_argument', `${what}: unsupported message type ${any.typeUrl}`);
  }
  const cmd = decodeOrInvalid(sql[name], any.value, name);
  switch (name) {
    case 'CommandStatementQuery':
      return { kind: 'statement', sql: decodeSql(new TextEncoder().encode(cmd.query as string), name) };
    case 'TicketStatementQuery':
      return { kind: 'statement', sql: decodeSql(cmd.statement_handle as Uint8Array, name) };
    case 'CommandPreparedStatementQuery':
      return { kind: 'statement', sql: decodeSql(cmd.prepared_statement_handle as Uint8Array, name), prepared: true };
    default:
      if (METADATA_COMMANDS.has(name)) return { kind: 'metadata', name, cmd, any: bytes };
      throw new FlightSqlError('invalid_argument', `${what}: ${name} is not valid here`);
  }
}

/**
 * A DoGet ticket: an Any (Python sends Any(TicketStatementQuery); metadata tickets are Anys), or the
 * raw TicketStatementQuery we hand out from GetFlightInfo (it parses as an Any whose type_url is the SQL).
 */
function decodeTicket(ticket: Uint8Array): Command {
  const any = unpackAny(ticket);
  if (any && any.typeUrl.startsWith('type.googleapis.com/')) return decodeAnyCommand(ticket, 'ticket');
  const raw = decodeOrInvalid(sql.TicketStatementQuery, ticket, 'ticket');
  return { kind: 'statement', sql: decodeSql(raw.statement_handle as Uint8Array, 'ticket') };
}

function metadataSchema(c: Extract<Command, { kind: 'metadata' }>): Schema {
  switch (c.name) {
    case 'CommandGetTables':
      return meta.tablesSchema(c.cmd.include_schema === true);
    case 'CommandGetSqlInfo':
      return meta.sqlInfoSchema;
    case 'CommandGetCatalogs':
      return meta.catalogsSchema;
    case 'CommandGetDbSchemas':
      return meta.dbSchemasSchema;
    default:
      return meta.tableTypesSchema;
  }
}

/** The FlightService methods, with requests and responses kept as raw protobuf bytes. */
export const FLIGHT_SERVICE: ServiceDefinition = {
  Handshake: flightMethod('Handshake', true, true),
  ListFlights: flightMethod('ListFlights', false, true),
  GetFlightInfo: flightMethod('GetFlightInfo', false, false),
  PollFlightInfo: flightMethod('PollFlightInfo', false, false),
  GetSchema: flightMethod('GetSchema', false, false),
  DoGet: flightMethod('DoGet', false, true),
  DoPut: flightMethod('DoPut', true, true),
  DoExchange: flightMethod('DoExchange', true, true),
  DoAction: flightMethod('DoAction', false, true),
  ListActions: flightMethod('ListActions', false, true),
};

const ACTIONS = [
  { type: 'CreatePreparedStatement', description: 'Returns a handle (the SQL) and the result schema of a statement' },
  { type: 'ClosePreparedStatement', description: 'Releases a prepared statement (nothing to release here)' },
];

export async function startFlightSqlServer(options: FlightSqlServerOptions): Promise<FlightSqlServer> {
  const { engine } = options;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  if (!options.disableAuth && !options.keyring && !options.verify) {
    throw new Error('FlightSQL server: no authentication configured (give a keyring or verify, or disableAuth)');
  }

  async function authenticate(md: Metadata): Promise<Caller> {
    if (options.disableAuth) return { name: 'anonymous', admin: true };
    const authorization = header(md, 'authorization');
    const name = options.keyring?.authenticate(authorization);
    if (name !== undefined) return { name, admin: false };
    const caller = options.verify ? await options.verify(authorization) : undefined;
    if (caller) return caller;
    throw new FlightSqlError('unauthenticated', 'invalid token');
  }

  const unimplemented = (name: string) => new FlightSqlError('unimplemented', `${name} is not implemented by the Micromegas FlightSQL server`);

  const fail = (what: string, err: unknown) => {
    const se = toServiceError(err);
    if (se.code === status.INTERNAL) log(`flightsql: ${what}: internal error: ${err instanceof Error ? err.stack : String(err)}`);
    return se;
  };

  function unary(name: string, handler: (call: ServerUnaryCall<Buffer, Buffer>) => Promise<Buffer>) {
    return (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
      handler(call).then(
        (reply) => callback(null, reply),
        (err) => callback(fail(name, err)),
      );
    };
  }

  function streaming(name: string, handler: (call: ServerWritableStream<Buffer, Buffer>) => Promise<void>) {
    return (call: ServerWritableStream<Buffer, Buffer>) => {
      handler(call).then(
        () => {
          if (!call.cancelled) call.end();
        },
        (err) => {
          if (!call.cancelled) call.emit('error', fail(name, err));
        },
      );
    };
  }

  /** Writes one message, waiting for the transport to drain when its buffer is full. False once cancelled. */
  async function send(call: ServerWritableStream<Buffer, Buffer>, message: Buffer): Promise<boolean> {
    if (call.cancelled) return false;
    if (!call.write(message)) {
      // Plain listeners rather than events.once: that one rejects on 'error', which nobody would await.
      await new Promise<void>((resolve) => {
        const done = () => {
          call.off('drain', done);
          call.off('cancelled', done);
          call.off('close', done);
          resolve();
        };
        call.on('drain', done);
        call.on('cancelled', done);
        call.on('close', done);
      });
    }
    return !call.cancelled;
  }

  async function streamBatches(call: ServerWritableStream<Buffer, Buffer>, schema: Schema, batches: AsyncIterable<RecordBatch> | RecordBatch[]): Promise<{ rows: number; messages: number }> {
    let rows = 0;
    let messages = 1;
    if (!(await send(call, encodeFlightData(schemaFlightData(schema))))) return { rows, messages };
    // for-await: leaving the loop early (cancellation) calls the engine iterator's return().
    for await (const batch of batches) {
      for (const slice of sliceBatch(batch)) {
        for (const parts of batchFlightData(slice)) {
          messages++;
          if (!(await send(call, encodeFlightData(parts)))) return { rows, messages };
        }
        rows += slice.numRows;
      }
    }
    return { rows, messages };
  }

  /** A denied query's error, after the warning line and the metric; undefined when the query may run. */
  async function denial(audit: QueryAudit, caller: Caller): Promise<FlightSqlError | undefined> {
    if (!options.denyList) return undefined;
    const rule = await options.denyList.check(matchContext(audit.attribution, audit.sql, audit.sqlHash));
    // The escape hatch: whoever may call the deny-list functions can always reach them.
    if (!rule || ((caller.admin || !options.adminPossible) && namesDenyListFunction(audit.sql))) return undefined;
    const { ruleId, reason } = rule.row;
    const a = audit.attribution;
    const line =
      `query denied rule_id=${ruleId} reason=${JSON.stringify(reason)} sql_hash=${audit.sqlHash} user=${a.user} email=${a.email} ` +
      `client=${a.client} entrypoint=${a.entrypoint} client_ip=${a.clientIp} query_id=${audit.queryId}`;
    log(`flightsql: ${line}`);
    warnLog(line);
    deniedMetric(ruleId);
    return new FlightSqlError('resource_exhausted', `query denied by rule ${ruleId} (reason: ${reason}); ask an admin to lift it with remove_query_denial('${ruleId}'); query_id=${audit.queryId}`);
  }

  async function doGetStatement(call: ServerWritableStream<Buffer, Buffer>, caller: Caller, sqlText: string): Promise<void> {
    const md = call.metadata;
    const queryId = randomUUID();
    const audit = new QueryAudit(queryId, resolveAttribution(md, caller, options.disableAuth === true, call.getPeer()), sqlText, fingerprintOf(sqlText));
    const finish = (...args: Parameters<QueryAudit['emit']>) => {
      const json = audit.emit(...args);
      if (json !== undefined) options.onAudit?.(json);
    };
    const started = Date.now();
    let streaming = false;
    try {
      const range = queryRange(md);
      const limit = queryLimit(md);
      audit.rangeBegin = range && new Date(Number(range.begin / 1_000_000n)).toISOString();
      audit.rangeEnd = range && new Date(Number(range.end / 1_000_000n)).toISOString();
      audit.limit = limit;
      log(`flightsql: query ${queryId} caller=${caller.name} ${JSON.stringify(clientAttribution(md))} range=${range ? `${range.begin}..${range.end}` : 'none'}${limit !== undefined ? ` limit=${limit}` : ''} sql=${JSON.stringify(sqlText)}`);
      const denied = await denial(audit, caller);
      if (denied) {
        finish('error', denied.message, 'denied');
        throw denied;
      }
      audit.contextInitMs = audit.elapsedMs();
      const executed = await engine.execute({ sql: sqlText, begin: range?.begin, end: range?.end, limit, caller, queryId });
      const result = preserveDictionary(md) ? await preserveDictionaries(executed) : executed;
      audit.planningMs = audit.elapsedMs() - audit.contextInitMs;
      streaming = true;
      const { rows, messages } = await streamBatches(call, result.schema, result.batches);
      audit.executionMs = audit.elapsedMs() - audit.contextInitMs - audit.planningMs;
      audit.outputRows = rows;
      finish(call.cancelled ? 'incomplete' : 'ok');
      log(`flightsql: query ${queryId} ${call.cancelled ? 'cancelled' : 'ok'} rows=${rows} messages=${messages} ms=${Date.now() - started}`);
    } catch (err) {
      const kind = (err as { kind?: string } | null)?.kind;
      // A client gone mid-stream leaves an incomplete query; anything else is an error.
      if (streaming && call.cancelled) finish('incomplete');
      else finish('error', (err as Error)?.message ?? String(err), errorClassOf(kind));
      log(`flightsql: query ${queryId} error after ${Date.now() - started} ms: ${(err as Error)?.message ?? String(err)}`);
      throw err;
    }
  }

  async function metadataBatch(c: Extract<Command, { kind: 'metadata' }>): Promise<RecordBatch> {
    switch (c.name) {
      case 'CommandGetTables':
        return meta.tablesBatch(c.cmd, await engine.tables());
      case 'CommandGetSqlInfo':
        return meta.sqlInfoBatch(c.cmd);
      case 'CommandGetCatalogs':
        return meta.catalogsBatch();
      case 'CommandGetDbSchemas':
        return meta.dbSchemasBatch();
      default:
        return meta.tableTypesBatch();
    }
  }

  function descriptorCommand(request: Buffer): { descriptor: Msg; command: Command } {
    const descriptor = decodeOrInvalid(flight.FlightDescriptor, request, 'FlightDescriptor');
    if (descriptor.type !== 2 && descriptor.type !== 'CMD') {
      throw new FlightSqlError('invalid_argument', 'FlightDescriptor: only CMD descriptors are supported');
    }
    return { descriptor, command: decodeAnyCommand(descriptor.cmd as Uint8Array, 'FlightDescriptor.cmd') };
  }

  const handlers = {
    Handshake(call: ServerDuplexStream<Buffer, Buffer>) {
      // Authentication travels in headers; the handshake is a no-op that answers each request.
      call.on('data', () => call.write(Buffer.from(flight.HandshakeResponse.encode({ protocol_version: 0 }))));
      call.on('end', () => call.end());
      call.on('error', () => undefined);
    },

    ListFlights: streaming('ListFlights', async () => {
      throw unimplemented('ListFlights');
    }),

    GetFlightInfo: unary('GetFlightInfo', async (call) => {
      const caller = await authenticate(call.metadata);
      const { descriptor, command } = descriptorCommand(call.request);
      let ticket: Uint8Array;
      let schema: Uint8Array = new Uint8Array();
      if (command.kind === 'statement') {
        // Statements are not planned here (as upstream): the ticket carries the SQL and the schema
        // comes with DoGet. A prepared statement was planned already, and clients built on arrow-rs
        // decode the schema of its FlightInfo, so it gets the real one.
        ticket = sql.TicketStatementQuery.encode({ statement_handle: new TextEncoder().encode(command.sql) });
        if (command.prepared) schema = schemaToIpcMessage(await engine.schemaOf({ sql: command.sql, caller, queryId: randomUUID() }));
      } else {
        ticket = command.any;
        schema = schemaToIpcMessage(metadataSchema(command));
      }
      return Buffer.from(flight.FlightInfo.encode({
        schema,
        flight_descriptor: descriptor,
        endpoint: [{ ticket: { ticket } }],
        total_records: -1,
        total_bytes: -1,
      }));
    }),

    PollFlightInfo: unary('PollFlightInfo', async () => {
      throw unimplemented('PollFlightInfo');
    }),

    GetSchema: unary('GetSchema', async (call) => {
      const caller = await authenticate(call.metadata);
      const { command } = descriptorCommand(call.request);
      const schema = command.kind === 'statement' ? await engine.schemaOf({ sql: command.sql, caller, queryId: randomUUID() }) : metadataSchema(command);
      return Buffer.from(flight.SchemaResult.encode({ schema: schemaToIpcMessage(schema) }));
    }),

    DoGet: streaming('DoGet', async (call) => {
      const caller = await authenticate(call.metadata);
      const ticket = decodeOrInvalid(flight.Ticket, call.request, 'Ticket');
      const command = decodeTicket(ticket.ticket as Uint8Array);
      if (command.kind === 'statement') return doGetStatement(call, caller, command.sql);
      const batch = await metadataBatch(command);
      await streamBatches(call, batch.schema, [batch]);
    }),

    DoPut(call: ServerDuplexStream<Buffer, Buffer>) {
      // The first message is checked at once (a refused caller is not made to send everything); the
      // rest are collected, as an ingest writes in one transaction once the client is done.
      const frames: Msg[] = [];
      let admitted: Promise<{ caller: Caller; table: string; ingest: BulkIngest }> | undefined;
      let failed = false;
      const reject = (err: unknown) => {
        if (failed) return;
        failed = true;
        call.emit('error', fail('DoPut', err));
      };
      const admit = async (first: Msg) => {
        const caller = await authenticate(call.metadata);
        const cmd = (first.flight_descriptor as Msg | null)?.cmd as Uint8Array | undefined;
        const any = cmd && unpackAny(cmd);
        if (!any || sqlMessageName(any.typeUrl) !== 'CommandStatementIngest') throw unimplemented('DoPut');
        if (!caller.admin) throw new FlightSqlError('permission_denied', 'bulk_ingest requires admin privileges');
        if (!options.bulkIngest) throw unimplemented('bulk ingest (DoPut CommandStatementIngest)');
        const table = String(decodeOrInvalid(sql.CommandStatementIngest, any.value, 'CommandStatementIngest').table ?? '');
        return { caller, table, ingest: options.bulkIngest };
      };
      const finish = async () => {
        if (!admitted) throw new FlightSqlError('invalid_argument', 'DoPut: empty stream');
        const { caller, table, ingest } = await admitted;
        const batches = flightDataToBatches(frames.map((f) => ({ dataHeader: f.data_header as Uint8Array, dataBody: f.data_body as Uint8Array })));
        const started = Date.now();
        let count: number;
        try {
          count = await ingest(table, batches, caller);
        } catch (err) {
          const message = `error ingesting into ${table}: ${(err as Error)?.message ?? String(err)}`;
          log(`flightsql: bulk ingest caller=${caller.name} ${message}`);
          throw new FlightSqlError(err instanceof FlightSqlError ? err.kind : 'internal', message);
        }
        log(`flightsql: bulk ingest caller=${caller.name} table=${table} rows=${count} ms=${Date.now() - started}`);
        // Python's bulk_ingest parses app_metadata as a bare DoPutUpdateResult (no Any).
        const result = sql.DoPutUpdateResult.encode({ record_count: count });
        call.write(Buffer.from(flight.PutResult.encode({ app_metadata: result })));
        call.end();
      };
      call.on('data', (m: Buffer) => {
        if (failed) return;
        try {
          const frame = decodeOrInvalid(flight.FlightData, m, 'FlightData');
          frames.push(frame);
          if (!admitted) {
            admitted = admit(frame);
            admitted.catch(reject);
          }
        } catch (err) {
          reject(err);
        }
      });
      call.on('end', () => {
        if (!failed) finish().catch(reject);
      });
      call.on('error', () => undefined);
    },

    DoExchange(call: ServerDuplexStream<Buffer, Buffer>) {
      call.on('data', () => undefined);
      call.emit('error', fail('DoExchange', unimplemented('DoExchange')));
    },

    DoAction: streaming('DoAction', async (call) => {
      const caller = await authenticate(call.metadata);
      const action = decodeOrInvalid(flight.Action, call.request, 'Action');
      switch (action.type) {
        case 'CreatePreparedStatement': {
          const any = unpackAny(action.body as Uint8Array);
          const body = any?.value ?? new Uint8Array();
          const request = decodeOrInvalid(sql.ActionCreatePreparedStatementRequest, body, 'ActionCreatePreparedStatementRequest');
          const query = decodeSql(new TextEncoder().encode(request.query as string), 'ActionCreatePreparedStatementRequest');
          const schema = await engine.schemaOf({ sql: query, caller, queryId: randomUUID() });
          const result = packAny('ActionCreatePreparedStatementResult', {
            prepared_statement_handle: new TextEncoder().encode(query),
            dataset_schema: schemaToIpcStream(schema),
            parameter_schema: new Uint8Array(),
          });
          call.write(Buffer.from(flight.Result.encode({ body: result })));
          return;
        }
        case 'ClosePreparedStatement':
          return; // handles are the SQL itself: nothing to release
        default:
          throw unimplemented(`DoAction ${JSON.stringify(action.type)}`);
      }
    }),

    ListActions: streaming('ListActions', async (call) => {
      for (const a of ACTIONS) call.write(Buffer.from(flight.ActionType.encode(a)));
    }),
  };

  const server = new Server({ 'grpc.max_receive_message_length': MAX_RECEIVE_MESSAGE_BYTES });
  server.addService(FLIGHT_SERVICE, handlers as never);
  const host = options.host ?? '0.0.0.0';
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${options.port ?? DEFAULT_FLIGHTSQL_PORT}`, ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
  });
  const urlHost = host === '0.0.0.0' ? '127.0.0.1' : host;
  log(`flightsql: listening on ${host}:${port}${options.disableAuth ? ' (auth disabled)' : ''}`);
  return {
    url: `grpc://${urlHost}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        // Give in-flight calls a moment, then cut them.
        const timer = setTimeout(() => server.forceShutdown(), 2000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
