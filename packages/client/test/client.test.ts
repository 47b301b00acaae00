// The client against our FlightSQL server over a real lake: queries, streaming, rows, prepared
// statements, bulk ingest, the range headers restricting results, and typed errors.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Table, makeVector, vectorFromArray, Utf8 } from 'apache-arrow';
import { connect, nanosToRfc3339, FlightAuthError, FlightClientError, FlightConnectionError, type FlightSqlClient } from '../src/index.ts';
import { ADMIN_KEY, USER_KEY, startLakeServer, type LakeServer } from './lakehouse.ts';

const NS = 1_000_000_000n;

describe('client against the micromegas FlightSQL server', () => {
  let fx: LakeServer;
  let client: FlightSqlClient;
  before(async () => {
    fx = await startLakeServer();
    client = connect({ uri: fx.server.url, token: USER_KEY, entrypoint: 'client-test', env: {} });
  });
  after(async () => {
    client?.close();
    await fx?.close();
  });

  test('query returns an Arrow table in the upstream types; queryRows gives plain rows', async () => {
    const table = await client.query(`SELECT process_id, level, msg, time FROM log_entries WHERE level = 3 ORDER BY time`);
    assert.equal(String(table.schema.fields.find((f) => f.name === 'time')!.type), 'Timestamp<NANOSECOND, +00:00>');
    assert.equal(table.numRows, 5);
    const rows = await client.queryRows(`SELECT process_id, level, msg, time FROM log_entries WHERE level = 3 ORDER BY time`, undefined, undefined, { timestamps: 'nanos' });
    assert.deepEqual(rows.map((r) => r.msg), ['event 0', 'event 10', 'event 20', 'event 30', 'event 40']);
    assert.ok(rows.every((r) => r.process_id === fx.processId && r.level === 3 && typeof r.time === 'bigint'));
    assert.ok(fx.logs.some((l) => l.includes('"client_type":"typescript"') && l.includes('"client_entrypoint":"client-test"') && l.includes('caller=user')));
  });

  test('queryStream yields record batches; breaking early is fine', async () => {
    let rows = 0;
    for await (const b of client.queryStream('SELECT msg FROM log_entries')) rows += b.numRows;
    assert.equal(rows, 50);
    for await (const b of client.queryStream('SELECT msg FROM log_entries')) {
      assert.ok(b.numRows > 0);
      break;
    }
    assert.equal(Number((await client.queryRows('SELECT count(*) AS n FROM log_entries'))[0]!.n), 50);
  });

  test('the time range headers restrict the result', async () => {
    const count = async (begin: bigint, end: bigint) => Number((await client.queryRows('SELECT count(*) AS n FROM log_entries', begin, end))[0]!.n);
    assert.equal(await count(fx.begin - 60n * NS, fx.end + 60n * NS), 50);
    assert.equal(await count(fx.end + 3600n * NS, fx.end + 7200n * NS), 0);
    assert.equal(await count(fx.begin - 7200n * NS, fx.begin - 3600n * NS), 0);
    // RFC 3339 strings and Dates are accepted too.
    const n = await client.queryRows('SELECT count(*) AS n FROM log_entries', nanosToRfc3339(fx.begin - 60n * NS), new Date(Number((fx.end + 60n * NS) / 1_000_000n)));
    assert.equal(Number(n[0]!.n), 50);
  });

  test('prepared statements announce their schema and execute with a range', async () => {
    const stmt = await client.prepare('SELECT msg, level FROM log_entries WHERE level = 3 ORDER BY msg');
    assert.deepEqual(stmt.datasetSchema?.fields.map((f) => f.name), ['msg', 'level']);
    const table = await stmt.execute(fx.begin - 60n * NS, fx.end + 60n * NS);
    assert.equal(table.numRows, 5);
    assert.equal((await stmt.execute(fx.end + 3600n * NS, fx.end + 7200n * NS)).numRows, 0);
    await stmt.close();
  });

  test('bulkIngest: admins append processes; other callers are refused with PERMISSION_DENIED', async () => {
    const cols = 'process_id, exe, username, realname, computer, distro, cpu_brand, tsc_frequency, start_time, start_ticks, insert_time, parent_process_id, properties';
    const source = await client.query(`SELECT ${cols} FROM processes`);
    assert.equal(source.numRows, 1);
    const copyId = randomUUID();
    const columns = Object.fromEntries(source.schema.fields.map((f, k) => [f.name, source.getChildAt(k)!]));
    columns.process_id = vectorFromArray([copyId], new Utf8());
    columns.exe = makeVector(vectorFromArray(['client-test-copy'], new Utf8()).data[0]!);
    const copy = new Table(columns);
    const refused = await client.bulkIngest('processes', copy).then(() => undefined, (e: unknown) => e);
    assert.ok(refused instanceof FlightAuthError, String(refused));
    assert.equal(refused.codeName, 'PERMISSION_DENIED');
    const admin = connect({ uri: fx.server.url, token: ADMIN_KEY, env: {} });
    try {
      assert.equal(await admin.bulkIngest('processes', copy), 1);
    } finally {
      admin.close();
    }
    const { rows } = await fx.lake.db.query<{ exe: string; computer: string }>('SELECT exe, computer FROM processes WHERE process_id = $1', [copyId]);
    assert.deepEqual(rows, [{ exe: 'client-test-copy', computer: 'box' }]);
  });

  test('errors: bad SQL carries the server message and INVALID_ARGUMENT; a bad token UNAUTHENTICATED', async () => {
    const err = await client.query('SELEC 1').then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof FlightClientError && !(err instanceof FlightConnectionError), String(err));
    assert.equal(err.code, 3);
    assert.match(err.details, /only queries are allowed .*got "SELEC"/);
    assert.match(err.details, /query_id=/);
    const stranger = connect({ uri: fx.server.url, token: 'nope', env: {} });
    const auth = await stranger.query('SELECT 1').then(() => undefined, (e: unknown) => e);
    stranger.close();
    assert.ok(auth instanceof FlightAuthError);
    assert.equal(auth.codeName, 'UNAUTHENTICATED');
    assert.equal(auth.details, 'invalid token');
  });

  test('an unreachable server is a FlightConnectionError (UNAVAILABLE)', async () => {
    const dead = connect({ uri: 'grpc://127.0.0.1:1', env: {} });
    const err = await dead.query('SELECT 1').then(() => undefined, (e: unknown) => e);
    dead.close();
    assert.ok(err instanceof FlightConnectionError, String(err));
    assert.equal(err.code, 14);
    assert.match(err.message, /cannot reach the FlightSQL server at 127\.0\.0\.1:1/);
  });

  test('connect reads MICROMEGAS_ANALYTICS_URI and MICROMEGAS_API_KEY; URIs are checked', async () => {
    const viaEnv = connect({ env: { MICROMEGAS_ANALYTICS_URI: fx.server.url, MICROMEGAS_API_KEY: USER_KEY } });
    try {
      assert.equal(Number((await viaEnv.queryRows('SELECT 1 AS one'))[0]!.one), 1);
    } finally {
      viaEnv.close();
    }
    assert.equal(connect({ env: {} }).target, 'localhost:50051');
    assert.equal(connect({ uri: 'grpc+tls://example.com', env: {} }).target, 'example.com:443');
    assert.throws(() => connect({ uri: 'ftp://x', env: {} }), /not a FlightSQL URI/);
    await assert.rejects(client.query('SELECT 1', 'yesterday', 'today'), /RFC 3339/);
  });
});
