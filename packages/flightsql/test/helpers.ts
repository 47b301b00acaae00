// Test helpers: a server on a free port over the DuckDB test engine, a raw grpc-js Flight client
// (to send malformed requests and to read FlightData as it arrives), and a pyarrow runner.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Metadata, credentials, makeGenericClientConstructor, type Client, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { tableFromIPC, type Table } from 'apache-arrow';
import { freePort } from '@micromegas/lake/testing';
import { startFlightSqlServer, type FlightSqlServer, type FlightSqlServerOptions } from '../src/index.ts';
import { FLIGHT_SERVICE } from '../src/server.ts';
import { flight, type Msg } from '../src/proto/index.ts';
import { createDuckTestEngine, type DuckTestEngine } from './duck_engine.ts';

export const API_KEY = 'test-key-0123456789';

export interface Fixture {
  server: FlightSqlServer;
  engine: DuckTestEngine;
  logs: string[];
  close(): Promise<void>;
}

/** A server with API-key auth (a keyring-shaped object accepting API_KEY as "tester"). */
export async function startFixture(options: Partial<FlightSqlServerOptions> & { rowsPerBatch?: number; failAfterRows?: number } = {}): Promise<Fixture> {
  const { rowsPerBatch, failAfterRows, ...serverOptions } = options;
  const engine = await createDuckTestEngine({ rowsPerBatch, failAfterRows });
  const logs: string[] = [];
  const server = await startFlightSqlServer({
    engine,
    host: '127.0.0.1',
    port: await freePort(),
    keyring: serverOptions.disableAuth ? undefined : { authenticate: (h) => (h === `Bearer ${API_KEY}` ? 'tester' : undefined) },
    log: (line) => logs.push(line),
    ...serverOptions,
  });
  return {
    server,
    engine,
    logs,
    async close() {
      await server.close();
      engine.close();
    },
  };
}

const FlightClient = makeGenericClientConstructor(FLIGHT_SERVICE, 'FlightService');

type Raw = Client & Record<string, (...args: unknown[]) => unknown>;

export function rawClient(server: FlightSqlServer): Raw {
  return new FlightClient(`127.0.0.1:${server.port}`, credentials.createInsecure()) as unknown as Raw;
}

export function metadata(headers: Record<string, string>): Metadata {
  const md = new Metadata();
  for (const [k, v] of Object.entries(headers)) md.set(k, v);
  return md;
}

export const authed = (extra: Record<string, string> = {}) => metadata({ authorization: `Bearer ${API_KEY}`, ...extra });

export function unary(client: Raw, method: string, request: Uint8Array, md: Metadata): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    client[method]!(Buffer.from(request), md, (err: ServiceError | null, reply: Buffer) => (err ? reject(err) : resolve(reply)));
  });
}

/** Starts DoGet; returns the stream of raw FlightData messages. */
export function doGetStream(client: Raw, ticket: Uint8Array, md: Metadata): ClientReadableStream<Buffer> {
  return client.DoGet!(Buffer.from(flight.Ticket.encode({ ticket })), md) as ClientReadableStream<Buffer>;
}

/** Rebuilds an IPC stream from FlightData messages and reads it with apache-arrow. */
export function flightDataToTable(messages: Msg[]): Table {
  const parts: Uint8Array[] = [];
  for (const m of messages) {
    const header = m.data_header as Uint8Array;
    const body = m.data_body as Uint8Array;
    const padded = (header.byteLength + 7) & ~7;
    const prefix = new DataView(new ArrayBuffer(8));
    prefix.setUint32(0, 0xffffffff, true);
    prefix.setInt32(4, padded, true);
    parts.push(new Uint8Array(prefix.buffer), header, new Uint8Array(padded - header.byteLength), body);
  }
  parts.push(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0));
  return tableFromIPC(Buffer.concat(parts));
}

/** Reads a whole DoGet into FlightData messages (rejects with the gRPC error). */
export function doGetAll(client: Raw, ticket: Uint8Array, md: Metadata): Promise<Msg[]> {
  return new Promise((resolve, reject) => {
    const out: Msg[] = [];
    const stream = doGetStream(client, ticket, md);
    stream.on('data', (b: Buffer) => out.push(flight.FlightData.decode(b)));
    stream.on('error', reject);
    stream.on('end', () => resolve(out));
  });
}

const PY_CLIENT = fileURLToPath(new URL('./pyarrow_client.py', import.meta.url));

/** Runs scenarios of pyarrow_client.py against the server in one Python process; returns their JSON results. */
export function runPyarrowAll(port: number, scenarios: [string, Record<string, string>][]): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    execFile('python3', [PY_CLIENT, String(port), JSON.stringify(scenarios)], { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`pyarrow ${scenarios.map((s) => s[0]).join(', ')} failed: ${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout) as unknown[]);
    });
  });
}

export function pyarrowAvailable(): Promise<boolean> {
  return new Promise((resolve) => execFile('python3', ['-c', 'import pyarrow.flight'], (err) => resolve(!err)));
}
