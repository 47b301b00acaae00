// @lakehouse-rs/flight-sql-client: a Flight SQL client built on arrow-rs (napi binary), which runs
// queries as CreatePreparedStatement → GetFlightInfo(CommandPreparedStatementQuery) → DoGet.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import { tableFromIPC } from 'apache-arrow';
import { API_KEY, startFixture, type Fixture } from './helpers.ts';

type Client = typeof import('@lakehouse-rs/flight-sql-client');

// The package ships prebuilt binaries per platform; elsewhere it cannot load.
let lib: Client | undefined;
let loadError = '';
try {
  lib = createRequire(import.meta.url)('@lakehouse-rs/flight-sql-client') as Client;
} catch (e) {
  loadError = (e as Error).message.split('\n')[0]!;
}

describe('@lakehouse-rs/flight-sql-client', { skip: lib ? false : `its native binary does not load here: ${loadError}` }, () => {
  let fx: Fixture;
  before(async () => {
    fx = await startFixture();
    await fx.engine.connection.run(`CREATE TABLE spans AS SELECT i::INT AS depth, 'span ' || i AS name, make_timestamp_ns(1700000000000000000 + i) AS begin FROM range(4) t(i)`);
  });
  after(async () => fx?.close());

  const connect = (token: string) =>
    lib!.createFlightSqlClient({ host: '127.0.0.1', port: fx.server.port, tls: false, token, headers: [{ key: 'x-client-type', value: 'lakehouse-rs' }] });

  test('query returns the rows with their Arrow types', async () => {
    const client = await connect(API_KEY);
    const table = tableFromIPC(await client.query('SELECT depth, name, begin FROM spans ORDER BY depth'));
    assert.deepEqual(table.schema.fields.map(String), ['depth: Int32', 'name: Utf8', 'begin: Timestamp<NANOSECOND, +00:00>']);
    assert.deepEqual(table.getChild('depth')!.toArray(), Int32Array.from([0, 1, 2, 3]));
    assert.deepEqual([...table.getChild('name')!], ['span 0', 'span 1', 'span 2', 'span 3']);
    // Read the raw int64 nanoseconds (apache-arrow's getter rounds them to float milliseconds).
    const nanos = table.getChild('begin')!.data.flatMap((d) => [...(d.values as BigInt64Array).subarray(d.offset, d.offset + d.length)]);
    assert.deepEqual(nanos, [0n, 1n, 2n, 3n].map((i) => 1_700_000_000_000_000_000n + i));
    assert.ok(fx.logs.some((l) => l.includes('"client_type":"lakehouse-rs"') && l.includes('caller=tester')));
  });

  test('metadata: tables with their schema, no catalogs or schemas', async () => {
    const client = await connect(API_KEY);
    const tables = tableFromIPC(await client.getTables({ includeSchema: true, tableTypes: ['BASE TABLE', 'table'] }));
    assert.deepEqual([...tables.getChild('table_name')!], ['spans']);
    const schemaBytes = tables.getChild('table_schema')!.get(0) as Uint8Array;
    const schema = tableFromIPC(Uint8Array.from([...schemaBytes, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0])).schema;
    assert.deepEqual(schema.fields.map((f) => f.name), ['depth', 'name', 'begin']);
    const none = tableFromIPC(await client.getTables({ tableNameFilterPattern: 'x%' }));
    assert.equal(none.numRows, 0);
    assert.equal(tableFromIPC(await client.getCatalogs()).numRows, 0);
  });

  test('bad SQL and a wrong token are refused', async () => {
    const client = await connect(API_KEY);
    await assert.rejects(client.query('SELEC 1'));
    const stranger = await connect('not-a-key');
    await assert.rejects(stranger.query('SELECT 1'));
    assert.equal(fx.engine.requests.filter((r) => r.sql === 'SELECT 1').length, 0);
  });
});
