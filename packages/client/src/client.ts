// A FlightSQL client in plain Node (grpc-js + protobufjs + apache-arrow): statements run as
// GetFlightInfo(CommandStatementQuery) then DoGet of each endpoint's ticket, the standard Flight SQL
// sequence, so it works against any FlightSQL server, not only micromegas.
import {
  makeGenericClientConstructor, type CallOptions, type ChannelOptions, type Client, type ClientDuplexStream, type ClientReadableStream,
  type Metadata, type ServiceDefinition, type ServiceError,
} from '@grpc/grpc-js';
import { Table, type RecordBatch, type Schema } from 'apache-arrow';
import { toClientError } from './errors.ts';
import { attributionHeaders, callMetadata, type AttributionOptions } from './headers.ts';
import { openFlightDataReader, schemaFromIpc, tableToFlightData } from './ipc.ts';
import { flight, flightMethod, packAny, sql, unpackAny, type Msg } from './proto.ts';
import { tableRows, type Row, type RowOptions } from './rows.ts';
import type { TimeInput } from './time.ts';
import { DEFAULT_URI, parseFlightUri } from './uri.ts';

export interface ConnectOptions extends AttributionOptions {
  /** grpc://host:port or grpc+tls://host:port; default $MICROMEGAS_ANALYTICS_URI or grpc://localhost:50051. */
  uri?: string;
  /** Sent as `authorization: Bearer <token>`; default $MICROMEGAS_API_KEY. */
  token?: string;
  /** Extra headers sent on every call. */
  headers?: Record<string, string>;
  /** Sends `preserve_dictionary: true` (micromegas then keeps dictionary-encoded columns). */
  preserveDictionary?: boolean;
  /** PEM root certificates for grpc+tls (default: the system's). */
  rootCerts?: Buffer;
  /** Where the defaults are read from (default process.env). */
  env?: NodeJS.ProcessEnv;
  channelOptions?: ChannelOptions;
}

export interface CallControl {
  /** Aborting cancels the call; the pending promise or iteration rejects. */
  signal?: AbortSignal;
}

/** A result as it arrives: its schema at once, then its batches. */
export interface QueryReader {
  schema: Schema;
  batches: AsyncIterableIterator<RecordBatch>;
}

const SERVICE: ServiceDefinition = {
  GetFlightInfo: flightMethod('GetFlightInfo', false, false),
  DoGet: flightMethod('DoGet', false, true),
  DoPut: flightMethod('DoPut', true, true),
  DoAction: flightMethod('DoAction', false, true),
};
const GrpcFlightClient = makeGenericClientConstructor(SERVICE, 'FlightService');
type RawClient = Client & {
  GetFlightInfo(req: Buffer, md: Metadata, opts: CallOptions, cb: (err: ServiceError | null, reply?: Buffer) => void): { cancel(): void };
  DoGet(req: Buffer, md: Metadata, opts?: CallOptions): ClientReadableStream<Buffer>;
  DoPut(md: Metadata, opts?: CallOptions): ClientDuplexStream<Buffer, Buffer>;
  DoAction(req: Buffer, md: Metadata, opts?: CallOptions): ClientReadableStream<Buffer>;
};

export class FlightSqlClient {
  readonly uri: string;
  readonly target: string;
  /** The x-client-session header of this client's calls. */
  readonly sessionId: string;
  readonly #client: RawClient;
  readonly #headers: Record<string, string>;

  constructor(options: ConnectOptions = {}) {
    const env = options.env ?? process.env;
    this.uri = options.uri ?? env.MICROMEGAS_ANALYTICS_URI ?? DEFAULT_URI;
    const endpoint = parseFlightUri(this.uri, { rootCerts: options.rootCerts });
    this.target = endpoint.target;
    this.#client = new GrpcFlightClient(endpoint.target, endpoint.credentials, {
      'grpc.max_receive_message_length': -1,
      'grpc.max_send_message_length': 100 * 1024 * 1024,
      ...options.channelOptions,
    }) as unknown as RawClient;
    const token = options.token ?? env.MICROMEGAS_API_KEY;
    const headers = attributionHeaders(options, env);
    this.sessionId = headers['x-client-session']!;
    this.#headers = {
      ...headers,
      ...(options.preserveDictionary ? { preserve_dictionary: 'true' } : {}),
      ...options.headers,
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    };
  }

  /** Runs a statement; the whole result as an Arrow table. */
  async query(statement: string, begin?: TimeInput, end?: TimeInput, control: CallControl = {}): Promise<Table> {
    const { schema, batches } = await this.queryReader(statement, begin, end, control);
    const all: RecordBatch[] = [];
    for await (const b of batches) all.push(b);
    return new Table(schema, all);
  }

  /** Runs a statement; the rows as plain objects (see RowOptions for timestamps and 64-bit integers). */
  async queryRows(statement: string, begin?: TimeInput, end?: TimeInput, options: RowOptions & CallControl = {}): Promise<Row[]> {
    return [...tableRows(await this.query(statement, begin, end, options), options)];
  }

  /** Runs a statement; yields record batches as they arrive (breaking out of the loop cancels the call). */
  async *queryStream(statement: string, begin?: TimeInput, end?: TimeInput, control: CallControl = {}): AsyncGenerator<RecordBatch> {
    const { batches } = await this.queryReader(statement, begin, end, control);
    yield* batches;
  }

  /** Runs a statement; the schema as soon as the first message arrives, then the batches. */
  queryReader(statement: string, begin?: TimeInput, end?: TimeInput, control: CallControl = {}): Promise<QueryReader> {
    const cmd = packAny('CommandStatementQuery', { query: statement });
    return this.#execute(cmd, callMetadata(this.#headers, begin, end), control);
  }

  /** Creates a prepared statement (its result schema comes back at once). */
  async prepare(statement: string, control: CallControl = {}): Promise<PreparedStatement> {
    const body = packAny('ActionCreatePreparedStatementRequest', { query: statement });
    const [result] = await this.#doAction('CreatePreparedStatement', body, callMetadata(this.#headers), control);
    if (!result) throw toClientError(new Error('CreatePreparedStatement: the server returned no result'));
    const any = unpackAny(result);
    const msg = sql.ActionCreatePreparedStatementResult.decode(any?.value ?? result);
    return new PreparedStatement(this, statement, msg.prepared_statement_handle as Uint8Array, schemaFromIpc(msg.dataset_schema as Uint8Array), schemaFromIpc(msg.parameter_schema as Uint8Array));
  }

  /**
   * Appends a table to a server table (DoPut CommandStatementIngest); returns the server's record count.
   * On micromegas: processes, streams, blocks or payloads, for admins.
   */
  async bulkIngest(tableName: string, data: Table | RecordBatch[], control: CallControl = {}): Promise<number> {
    const descriptor = { type: 2, cmd: packAny('CommandStatementIngest', { table: tableName, temporary: false }) };
    const messages = tableToFlightData(data, descriptor);
    const call = this.#client.DoPut(callMetadata(this.#headers));
    const abort = () => call.cancel();
    control.signal?.addEventListener('abort', abort, { once: true });
    try {
      const replies = new Promise<Buffer[]>((resolve, reject) => {
        const out: Buffer[] = [];
        call.on('data', (b: Buffer) => out.push(b));
        call.on('error', reject);
        call.on('end', () => resolve(out));
      });
      for (const m of messages) {
        if (!call.write(m)) await new Promise((r) => call.once('drain', r));
      }
      call.end();
      const out = await replies;
      for (const r of out) {
        const meta = flight.PutResult.decode(r).app_metadata as Uint8Array;
        if (meta.byteLength === 0) continue;
        // The Flight SQL spec wraps DoPutUpdateResult in an Any; micromegas (like Python's client) sends it bare.
        const any = unpackAny(meta);
        const bytes = any && any.typeUrl.endsWith('DoPutUpdateResult') ? any.value : meta;
        return Number(sql.DoPutUpdateResult.decode(bytes).record_count);
      }
      return -1;
    } catch (err) {
      throw toClientError(err, this.target);
    } finally {
      control.signal?.removeEventListener('abort', abort);
    }
  }

  close(): void {
    this.#client.close();
  }

  /** GetFlightInfo on a command, then DoGet of each endpoint in order, as one stream of batches. */
  async #execute(cmd: Uint8Array, md: Metadata, control: CallControl): Promise<QueryReader> {
    const descriptor = Buffer.from(flight.FlightDescriptor.encode({ type: 2, cmd }));
    const info = flight.FlightInfo.decode(await this.#unary('GetFlightInfo', descriptor, md, control));
    const tickets = ((info.endpoint as Msg[]) ?? []).map((e) => ((e.ticket as Msg | null)?.ticket as Uint8Array) ?? new Uint8Array());
    const declared = schemaFromIpc(info.schema as Uint8Array);
    if (tickets.length === 0) {
      if (!declared) throw toClientError(new Error('GetFlightInfo returned neither endpoints nor a schema'));
      return { schema: declared, batches: (async function* () {})() };
    }
    const self = this;
    const first = await openFlightDataReader(this.#doGet(tickets[0]!, md, control));
    async function* all(): AsyncGenerator<RecordBatch> {
      try {
        yield* first.batches;
        for (const t of tickets.slice(1)) yield* (await openFlightDataReader(self.#doGet(t, md, control))).batches;
      } catch (err) {
        throw toClientError(err, self.target);
      }
    }
    return { schema: first.schema, batches: all() };
  }

  async *#doGet(ticket: Uint8Array, md: Metadata, control: CallControl): AsyncGenerator<Uint8Array> {
    control.signal?.throwIfAborted();
    const call = this.#client.DoGet(Buffer.from(flight.Ticket.encode({ ticket })), md);
    const abort = () => call.cancel();
    control.signal?.addEventListener('abort', abort, { once: true });
    try {
      for await (const m of call as AsyncIterable<Buffer>) yield m;
    } catch (err) {
      throw toClientError(err, this.target);
    } finally {
      control.signal?.removeEventListener('abort', abort);
      call.cancel(); // a no-op once the stream ended; stops the server when the reader quit early
    }
  }

  #unary(name: 'GetFlightInfo', request: Buffer, md: Metadata, control: CallControl): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      if (control.signal?.aborted) return reject(toClientError(control.signal.reason));
      const call = this.#client[name](request, md, {}, (err, reply) => {
        control.signal?.removeEventListener('abort', abort);
        if (err) reject(toClientError(err, this.target));
        else resolve(reply ?? Buffer.alloc(0));
      });
      const abort = () => call.cancel();
      control.signal?.addEventListener('abort', abort, { once: true });
    });
  }

  async #doAction(type: string, body: Uint8Array, md: Metadata, control: CallControl): Promise<Uint8Array[]> {
    const call = this.#client.DoAction(Buffer.from(flight.Action.encode({ type, body })), md);
    const abort = () => call.cancel();
    control.signal?.addEventListener('abort', abort, { once: true });
    try {
      const out: Uint8Array[] = [];
      for await (const m of call as AsyncIterable<Buffer>) out.push(flight.Result.decode(m).body as Uint8Array);
      return out;
    } catch (err) {
      throw toClientError(err, this.target);
    } finally {
      control.signal?.removeEventListener('abort', abort);
    }
  }

  /** @internal Used by PreparedStatement. */
  _executePrepared(handle: Uint8Array, begin: TimeInput | undefined, end: TimeInput | undefined, control: CallControl): Promise<QueryReader> {
    return this.#execute(packAny('CommandPreparedStatementQuery', { prepared_statement_handle: handle }), callMetadata(this.#headers, begin, end), control);
  }

  /** @internal Used by PreparedStatement. */
  async _closePrepared(handle: Uint8Array): Promise<void> {
    await this.#doAction('ClosePreparedStatement', packAny('ActionClosePreparedStatementRequest', { prepared_statement_handle: handle }), callMetadata(this.#headers), {});
  }
}

/** A statement prepared on the server: executed any number of times, then closed. */
export class PreparedStatement {
  constructor(
    readonly client: FlightSqlClient,
    readonly query: string,
    readonly handle: Uint8Array,
    /** The result schema the server announced (undefined if it sent none). */
    readonly datasetSchema: Schema | undefined,
    readonly parameterSchema: Schema | undefined,
  ) {}

  async execute(begin?: TimeInput, end?: TimeInput, control: CallControl = {}): Promise<Table> {
    const { schema, batches } = await this.client._executePrepared(this.handle, begin, end, control);
    const all: RecordBatch[] = [];
    for await (const b of batches) all.push(b);
    return new Table(schema, all);
  }

  async *stream(begin?: TimeInput, end?: TimeInput, control: CallControl = {}): AsyncGenerator<RecordBatch> {
    yield* (await this.client._executePrepared(this.handle, begin, end, control)).batches;
  }

  close(): Promise<void> {
    return this.client._closePrepared(this.handle);
  }
}

/** Connects to a FlightSQL server (the connection itself opens on the first call). */
export function connect(options: ConnectOptions = {}): FlightSqlClient {
  return new FlightSqlClient(options);
}
