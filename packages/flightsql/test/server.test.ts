// The server seen from a raw grpc-js client: malformed requests, headers, auth modes, streaming
// with backpressure, batch splitting, cancellation and mid-stream errors.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { status, type ServiceError } from '@grpc/grpc-js';
import { freePort } from '@micromegas/lake/testing';
import { startFlightSqlServer } from '../src/index.ts';
import { flight, packAny, sql, SQL_TYPE_URL_PREFIX } from '../src/proto/index.ts';
import { authed, doGetAll, doGetStream, flightDataToTable, metadata, rawClient, startFixture, unary, type Fixture } from './helpers.ts';
import { createDuckTestEngine } from './duck_engine.ts';

const stmtTicket = (text: string) => packAny('TicketStatementQuery', { statement_handle: Buffer.from(text) });
const rawTicket = (text: string) => sql.TicketStatementQuery.encode({ statement_handle: Buffer.from(text) });
const cmdDescriptor = (any: Uint8Array) => flight.FlightDescriptor.encode({ type: 2, cmd: any });

async function rejectsWith(p: Promise<unknown>, code: status, message?: RegExp): Promise<void> {
  await assert.rejects(p, (e: ServiceError) => {
    assert.equal(e.code, code, `expected code ${status[code]}, got ${status[e.code]}: ${e.details}`);
    if (message) assert.match(e.details, message);
    return true;
  });
}

describe('FlightSQL server (raw gRPC)', () => {
  let fx: Fixture;
  let client: ReturnType<typeof rawClient>;
  before(async () => {
    fx = await startFixture();
    client = rawClient(fx.server);
  });
  after(async () => {
    client?.close();
    await fx?.close();
  });

  test('raw and Any-wrapped statement tickets give the same rows', async () => {
    const q = `SELECT range AS i, 'v' || range AS s FROM range(10) ORDER BY i`;
    const a = flightDataToTable(await doGetAll(client, rawTicket(q), authed()));
    const b = flightDataToTable(await doGetAll(client, stmtTicket(q), authed()));
    assert.equal(a.numRows, 10);
    assert.deepEqual(a.toArray().map((r) => r.toJSON()), b.toArray().map((r) => r.toJSON()));
    assert.equal(a.get(9)!.s, 'v9');
  });

  test('malformed requests are INVALID_ARGUMENT and the server keeps serving', async () => {
    const garbage = Uint8Array.of(0xff, 0xff, 0xff, 0x0f, 0x01);
    // Not a Ticket message at all.
    await rejectsWith(new Promise((resolve, reject) => {
      const s = client.DoGet!(Buffer.from(garbage), authed()) as NodeJS.EventEmitter;
      s.on('data', () => undefined).on('error', reject).on('end', resolve);
    }), status.INVALID_ARGUMENT);
    await rejectsWith(doGetAll(client, garbage, authed()), status.INVALID_ARGUMENT);
    await rejectsWith(doGetAll(client, Uint8Array.of(0x0a, 0x02, 0xc3, 0x28), authed()), status.INVALID_ARGUMENT, /UTF-8/);
    await rejectsWith(unary(client, 'GetFlightInfo', garbage, authed()), status.INVALID_ARGUMENT);
    await rejectsWith(unary(client, 'GetFlightInfo', cmdDescriptor(garbage), authed()), status.INVALID_ARGUMENT);
    await rejectsWith(unary(client, 'GetFlightInfo', flight.FlightDescriptor.encode({ type: 1, path: ['x'] }), authed()), status.INVALID_ARGUMENT, /CMD/);
    await rejectsWith(doGetAll(client, stmtTicket(''), authed()), status.INVALID_ARGUMENT);
    const rows = flightDataToTable(await doGetAll(client, stmtTicket('SELECT 42 AS x'), authed()));
    assert.equal(rows.get(0)!.x, 42);
  });

  test('unknown Any types are INVALID_ARGUMENT, Flight SQL commands we lack are UNIMPLEMENTED', async () => {
    const foreign = sql.Any.encode({ type_url: 'type.googleapis.com/foo.Bar', value: new Uint8Array() });
    await rejectsWith(doGetAll(client, foreign, authed()), status.INVALID_ARGUMENT, /unsupported message type/);
    await rejectsWith(unary(client, 'GetFlightInfo', cmdDescriptor(foreign), authed()), status.INVALID_ARGUMENT);
    const keys = sql.Any.encode({ type_url: `${SQL_TYPE_URL_PREFIX}CommandGetPrimaryKeys`, value: new Uint8Array() });
    await rejectsWith(unary(client, 'GetFlightInfo', cmdDescriptor(keys), authed()), status.UNIMPLEMENTED, /CommandGetPrimaryKeys/);
    await rejectsWith(unary(client, 'PollFlightInfo', cmdDescriptor(keys), authed()), status.UNIMPLEMENTED);
    await rejectsWith(doGetAll(client, packAny('DoPutUpdateResult', { record_count: 1 }), authed()), status.INVALID_ARGUMENT, /not valid here/);
  });

  test('range and limit headers: parsed, validated, both-or-neither', async () => {
    const q = stmtTicket('SELECT range AS i FROM range(100)');
    await rejectsWith(doGetAll(client, q, authed({ query_range_begin: 'yesterday', query_range_end: '2024-01-01T00:00:00Z' })), status.INVALID_ARGUMENT, /^Unable to parse query_range_begin as a rfc3339 datetime: /);
    await rejectsWith(doGetAll(client, q, authed({ query_range_begin: '2024-01-01T00:00:00Z', query_range_end: '2024-02-30T00:00:00Z' })), status.INVALID_ARGUMENT, /query_range_end/);
    await rejectsWith(doGetAll(client, q, authed({ limit: 'ten' })), status.INVALID_ARGUMENT, /^error parsing limit/);
    await rejectsWith(doGetAll(client, q, authed({ limit: '-1' })), status.INVALID_ARGUMENT, /^error parsing limit/);

    await doGetAll(client, q, authed({ query_range_begin: '2024-01-01T00:00:00Z' }));
    assert.equal(fx.engine.requests.at(-1)!.begin, undefined, 'a lone begin is ignored');
    await doGetAll(client, q, authed({ query_range_begin: '', query_range_end: '' }));
    assert.equal(fx.engine.requests.at(-1)!.end, undefined, 'empty values (the Rust client) mean no range');

    const t = flightDataToTable(await doGetAll(client, q, authed({ query_range_begin: '2024-01-01T00:00:00.5Z', query_range_end: '2024-01-01t01:00:00-01:30', limit: '3' })));
    assert.equal(t.numRows, 3);
    const r = fx.engine.requests.at(-1)!;
    assert.equal(r.begin, 1_704_067_200_500_000_000n);
    assert.equal(r.end, 1_704_067_200_000_000_000n + 9_000_000_000_000n);
    assert.equal(r.limit, 3);
  });

  test('authentication: missing or wrong token is UNAUTHENTICATED on every call', async () => {
    const q = stmtTicket('SELECT 1');
    await rejectsWith(doGetAll(client, q, metadata({})), status.UNAUTHENTICATED, /^invalid token$/);
    await rejectsWith(doGetAll(client, q, metadata({ authorization: 'Bearer nope' })), status.UNAUTHENTICATED, /^invalid token$/);
    await rejectsWith(doGetAll(client, q, metadata({ authorization: 'Basic dGVzdGVyOng=' })), status.UNAUTHENTICATED);
    await rejectsWith(unary(client, 'GetFlightInfo', cmdDescriptor(packAny('CommandStatementQuery', { query: 'SELECT 1' })), metadata({})), status.UNAUTHENTICATED);
    await rejectsWith(unary(client, 'GetSchema', cmdDescriptor(packAny('CommandStatementQuery', { query: 'SELECT 1' })), metadata({})), status.UNAUTHENTICATED);
  });

  test('prepared statements, GetSchema, ListActions, Handshake', async () => {
    const action = flight.Action.encode({ type: 'CreatePreparedStatement', body: packAny('ActionCreatePreparedStatementRequest', { query: 'SELECT 1::INT AS one' }) });
    const results = await new Promise<Buffer[]>((resolve, reject) => {
      const out: Buffer[] = [];
      const s = client.DoAction!(Buffer.from(action), authed()) as NodeJS.EventEmitter;
      s.on('data', (b: Buffer) => out.push(b)).on('error', reject).on('end', () => resolve(out));
    });
    assert.equal(results.length, 1);
    const any = sql.Any.decode(flight.Result.decode(results[0]!).body as Uint8Array);
    assert.equal(any.type_url, `${SQL_TYPE_URL_PREFIX}ActionCreatePreparedStatementResult`);
    const prepared = sql.ActionCreatePreparedStatementResult.decode(any.value as Uint8Array);
    const handle = prepared.prepared_statement_handle as Uint8Array;
    assert.equal(Buffer.from(handle).toString(), 'SELECT 1::INT AS one');

    const t = flightDataToTable(await doGetAll(client, packAny('CommandPreparedStatementQuery', { prepared_statement_handle: handle }), authed()));
    assert.equal(t.get(0)!.one, 1);

    const schema = flight.SchemaResult.decode(await unary(client, 'GetSchema', cmdDescriptor(packAny('CommandStatementQuery', { query: 'SELECT 1.5::DOUBLE AS d' })), authed()));
    assert.deepEqual(flightDataToTable([]).numRows, 0);
    assert.ok((schema.schema as Uint8Array).byteLength > 8);

    const actions: string[] = await new Promise((resolve, reject) => {
      const out: string[] = [];
      const s = client.ListActions!(Buffer.from(flight.Empty.encode({})), authed()) as NodeJS.EventEmitter;
      s.on('data', (b: Buffer) => out.push(flight.ActionType.decode(b).type as string)).on('error', reject).on('end', () => resolve(out));
    });
    assert.deepEqual(actions, ['CreatePreparedStatement', 'ClosePreparedStatement']);

    const hs = client.Handshake!(authed()) as NodeJS.ReadWriteStream;
    const reply = new Promise<Buffer>((resolve, reject) => hs.once('data', resolve).once('error', reject));
    hs.write(Buffer.from(flight.HandshakeRequest.encode({ protocol_version: 0 })));
    assert.ok(Buffer.isBuffer(await reply));
    hs.end();
  });

  test('a batch over 2 MiB is sent as several record batch messages', async () => {
    const big = await startFixture({ rowsPerBatch: 1_000_000 });
    try {
      const c = rawClient(big.server);
      const msgs = await doGetAll(c, stmtTicket('SELECT range AS i, range::DOUBLE AS d FROM range(300000)'), authed());
      c.close();
      // 300k rows × 16 bytes = 4.8 MB in one engine batch.
      assert.equal(big.engine.requests.length, 1);
      assert.ok(msgs.length >= 4, `${msgs.length} messages`);
      for (const m of msgs) assert.ok((m.data_body as Uint8Array).byteLength <= 2 * 1024 * 1024 + 64);
      const t = flightDataToTable(msgs);
      assert.equal(t.numRows, 300000);
      assert.equal(t.getChild('i')!.get(299999), 299999n);
    } finally {
      await big.close();
    }
  });

  test('a large result streams with backpressure: a paused client stops the engine', async (t) => {
    const total = 1_000_000;
    const totalChunks = Math.ceil(total / 2048);
    const before = fx.engine.chunksRead;
    const stream = doGetStream(client, stmtTicket(`SELECT range AS i FROM range(${total})`), authed());
    const first = await new Promise<Buffer>((resolve, reject) => stream.once('data', resolve).once('error', reject));
    stream.pause();
    assert.ok(first.byteLength > 0);
    await sleep(400);
    const readWhilePaused = fx.engine.chunksRead - before;
    await sleep(400);
    assert.equal(fx.engine.chunksRead - before, readWhilePaused, 'the engine is not pulled while the client does not read');
    assert.ok(readWhilePaused < totalChunks / 2, `read ${readWhilePaused} of ${totalChunks} chunks while paused`);
    t.diagnostic(`backpressure: ${readWhilePaused} of ${totalChunks} DuckDB chunks read while the client was paused`);
    let rows = 0;
    let sum = 0n;
    const messages = [flight.FlightData.decode(first)];
    await new Promise<void>((resolve, reject) => {
      stream.on('data', (b: Buffer) => {
        const m = flight.FlightData.decode(b);
        const t = flightDataToTable([messages[0]!, m]);
        rows += t.numRows;
        for (const v of t.getChild('i')!) sum += v as bigint;
      });
      stream.on('error', reject).on('end', resolve);
      stream.resume();
    });
    assert.equal(rows, total);
    assert.equal(sum, (BigInt(total) * BigInt(total - 1)) / 2n);
  });

  test('client cancellation stops the query', async () => {
    const before = fx.engine.chunksRead;
    const stream = doGetStream(client, stmtTicket('SELECT range AS i FROM range(5000000)'), authed());
    stream.on('error', () => undefined); // CANCELLED, expected
    await new Promise((resolve) => stream.once('data', resolve));
    stream.cancel();
    const queryId = fx.engine.requests.at(-1)!.queryId;
    for (let i = 0; i < 50 && !fx.logs.some((l) => l.includes(`query ${queryId} cancelled`)); i++) await sleep(50);
    assert.ok(fx.logs.some((l) => l.includes(`query ${queryId} cancelled`)), fx.logs.slice(-3).join('\n'));
    const read = fx.engine.chunksRead - before;
    await sleep(300);
    assert.equal(fx.engine.chunksRead - before, read);
    assert.ok(read < 5_000_000 / 2048 / 4, `read ${read} chunks`);
  });

  test('an engine error mid-stream ends the stream with its status after the first batches', async () => {
    const failing = await startFixture({ failAfterRows: 20000, rowsPerBatch: 8192 });
    const c = rawClient(failing.server);
    try {
      let received = 0;
      const stream = doGetStream(c, stmtTicket('SELECT range AS i FROM range(100000)'), authed());
      const err = await new Promise<ServiceError>((resolve, reject) => {
        stream.on('data', () => received++).on('error', resolve).on('end', () => reject(new Error('no error')));
      });
      assert.equal(err.code, status.RESOURCE_EXHAUSTED, err.details);
      assert.match(err.details, /^memory budget exceeded \(query_id=[0-9a-f-]{36}\)$/);
      assert.equal(received, 4, 'the schema and three batches of 8192 rows came before the error');
    } finally {
      c.close();
      await failing.close();
    }
  });

  test('bulk ingest: non-admin refused, admin told it is not implemented yet', async () => {
    const put = (md: ReturnType<typeof metadata>, port: number) => {
      const c = rawClient({ port } as never);
      return new Promise<void>((resolve, reject) => {
        const s = c.DoPut!(md) as NodeJS.ReadWriteStream;
        s.on('data', () => undefined).on('error', (e) => { c.close(); reject(e); }).on('end', () => { c.close(); resolve(); });
        s.write(Buffer.from(flight.FlightData.encode({ flight_descriptor: { type: 2, cmd: packAny('CommandStatementIngest', { table: 'processes' }) } })));
      });
    };
    await rejectsWith(put(authed(), fx.server.port), status.PERMISSION_DENIED, /^bulk_ingest requires admin privileges$/);
    const admin = await startFixture({ verify: (h) => (h === 'Bearer root' ? { name: 'root', admin: true } : undefined) });
    try {
      await rejectsWith(put(metadata({ authorization: 'Bearer root' }), admin.server.port), status.UNIMPLEMENTED, /bulk ingest/);
    } finally {
      await admin.close();
    }
  });
});

describe('FlightSQL server options', () => {
  test('auth disabled: every caller is an admin named anonymous', async () => {
    const fx = await startFixture({ disableAuth: true });
    const c = rawClient(fx.server);
    try {
      const t = flightDataToTable(await doGetAll(c, stmtTicket('SELECT 7 AS x'), metadata({})));
      assert.equal(t.get(0)!.x, 7);
      assert.deepEqual(fx.engine.requests.at(-1)!.caller, { name: 'anonymous', admin: true });
    } finally {
      c.close();
      await fx.close();
    }
  });

  test('starting without any authentication configured is refused', async () => {
    const engine = await createDuckTestEngine();
    try {
      await assert.rejects(startFlightSqlServer({ engine, port: await freePort(), log: () => undefined }), /no authentication configured/);
    } finally {
      engine.close();
    }
  });
});
