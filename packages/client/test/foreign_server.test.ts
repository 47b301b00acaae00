// The client against a FlightSQL server it did not come from: pyarrow's Flight server with canned
// answers (canned_flight_server.py). Checks exact decoding of its Arrow types and the headers sent.
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { DataType } from 'apache-arrow';
import { connect, toRows, FlightClientError, FlightConnectionError, type FlightSqlClient } from '../src/index.ts';

const SCRIPT = fileURLToPath(new URL('./canned_flight_server.py', import.meta.url));
let hasPyarrow = true;
try {
  execFileSync('python3', ['-c', 'import pyarrow.flight'], { stdio: 'ignore' });
} catch {
  hasPyarrow = false;
}

describe('client against a pyarrow Flight server', { skip: hasPyarrow ? false : 'pyarrow is not installed' }, () => {
  let py: ChildProcess;
  let client: FlightSqlClient;
  before(async () => {
    py = spawn('python3', [SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] });
    const port = await new Promise<number>((resolve, reject) => {
      py.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
      py.once('exit', (code) => reject(new Error(`canned server exited with ${code}`)));
    });
    client = connect({ uri: `grpc://127.0.0.1:${port}`, token: 'canned-token', entrypoint: 'foreign-test', sessionId: 'session-42', env: {} });
  });
  after(async () => {
    client?.close();
    py?.stdin!.end();
    await new Promise((r) => (py.exitCode !== null ? r(null) : py.once('exit', r)));
  });

  test('decodes both endpoints with their exact types and values', async () => {
    const table = await client.query('SELECT canned', '2024-01-01T00:00:00Z', new Date('2024-01-02T00:00:00Z'));
    assert.equal(table.batches.length, 2);
    const types = Object.fromEntries(table.schema.fields.map((f) => [f.name, f.type]));
    assert.ok(DataType.isTimestamp(types.ts!) && String(types.ts) === 'Timestamp<NANOSECOND, UTC>', String(types.ts));
    assert.ok(DataType.isDictionary(types.d!));
    assert.equal(String(types.l), 'List<Int64>');
    assert.equal(String(types.st), 'Struct<{a:Int32, b:Utf8}>');
    const rows = toRows(table, { timestamps: 'nanos' });
    assert.deepEqual(rows, [
      { ts: 1700000000123456789n, s: 'alpha', d: 'x', l: [1n, 2n], n: 1n, f: 1.5, b: true, st: { a: 1, b: 'one' } },
      { ts: null, s: null, d: null, l: null, n: null, f: null, b: null, st: null },
      { ts: -1n, s: 'é ü 😀', d: 'y', l: [], n: 2n ** 62n, f: -0.25, b: false, st: { a: null, b: 'two' } },
      { ts: 0n, s: '', d: 'x', l: [null, 3n], n: -(2n ** 63n), f: 0, b: null, st: null },
    ]);
    assert.deepEqual(toRows(table, { timestamps: 'iso' }).map((r) => r.ts), ['2023-11-14T22:13:20.123456789Z', null, '1969-12-31T23:59:59.999999999Z', '1970-01-01T00:00:00.000000000Z']);
    assert.equal((toRows(table)[0]!.ts as Date).toISOString(), '2023-11-14T22:13:20.123Z');
  });

  test('queryStream yields the batches as they come; an empty result keeps its schema', async () => {
    const sizes: number[] = [];
    for await (const b of client.queryStream('SELECT canned')) sizes.push(b.numRows);
    assert.deepEqual(sizes, [2, 2]);
    const empty = await client.query('SELECT empty');
    assert.equal(empty.numRows, 0);
    assert.deepEqual(empty.schema.fields.map((f) => f.name), ['ts', 's', 'd', 'l', 'n', 'f', 'b', 'st']);
  });

  test('the server sees the attribution, auth and range headers on GetFlightInfo and DoGet', async () => {
    await client.query('SELECT canned', '2024-01-01T00:00:00Z', 1_704_153_600_000_000_001n);
    const rows = (await client.queryRows('SELECT headers')) as { method: string; name: string; value: string }[];
    for (const method of ['GET_FLIGHT_INFO', 'DO_GET']) {
      const seen = (name: string) => rows.filter((r) => r.method === method && r.name === name).map((r) => r.value);
      assert.deepEqual(seen('x-client-type').slice(-1), ['typescript'], method);
      assert.deepEqual(seen('x-client-entrypoint').slice(-1), ['foreign-test']);
      assert.deepEqual(seen('x-client-session').slice(-1), ['session-42']);
      assert.deepEqual(seen('x-client-agent').slice(-1), ['none']);
      assert.deepEqual(seen('authorization').slice(-1), ['Bearer canned-token']);
      assert.ok(seen('query_range_begin').includes('2024-01-01T00:00:00Z'), method);
      assert.ok(seen('query_range_end').includes('2024-01-02T00:00:00.000000001Z'), method);
    }
  });

  test("the server's error comes back with its gRPC code and message", async () => {
    const err = await client.query('SELECT nothing').then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof FlightClientError && !(err instanceof FlightConnectionError), String(err));
    assert.equal(err.code, 3);
    assert.equal(err.codeName, 'INVALID_ARGUMENT');
    assert.match(err.details, /canned server: no such statement: SELECT nothing/);
  });
});
