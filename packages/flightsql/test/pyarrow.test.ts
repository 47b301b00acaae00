// pyarrow's Flight client (an independent implementation of the protocol) against our server.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { API_KEY, pyarrowAvailable, runPyarrowAll, startFixture, type Fixture } from './helpers.ts';

type Table = { schema: string[]; rows: Record<string, unknown>[] };
type Failure = { error?: string; message?: string; ok?: boolean };

const hasPyarrow = await pyarrowAvailable();

describe('pyarrow Flight client', { skip: hasPyarrow ? false : 'python3 with pyarrow is not installed (scripts/ensure-services.sh installs it)' }, () => {
  const RANGE_SQL = `SELECT level, msg, time, getvariable('range_begin') AS rb, getvariable('range_end') AS re FROM log_entries ORDER BY level`;
  // Repeating strings with nulls over several batches; `u` never repeats.
  const DICT_SQL = `SELECT 'level ' || (i % 3) AS s, CASE WHEN i % 5 = 0 THEN NULL ELSE 'x' || (i % 2) END AS t, 'u' || i AS u, i FROM range(20000) r(i) ORDER BY i`;
  const scenarios: [string, Record<string, string>][] = [
    ['doget', { key: API_KEY, sql: RANGE_SQL, query_range_begin: '2023-11-14T22:13:20.000000001+00:00', query_range_end: '2023-11-15T00:13:20+02:00' }],
    ['flightinfo', { key: API_KEY, sql: 'SELECT range AS i FROM range(1000) ORDER BY i', limit: '7' }],
    ['prepare', { key: API_KEY, sql: 'SELECT msg, time FROM log_entries' }],
    ['tables', { key: API_KEY }],
    ['sqlinfo', { key: API_KEY }],
    ['errors', { key: API_KEY }],
    ['ingest', { key: API_KEY }],
    ['dictionary', { key: API_KEY, sql: DICT_SQL, preserve_dictionary: 'TRUE' }],
    ['hydrated', { key: API_KEY, sql: DICT_SQL, preserve_dictionary: 'false' }],
  ];
  let fx: Fixture;
  const results = new Map<string, unknown>();
  // One Python process runs every scenario (importing pyarrow is what takes time); tests check its answers.
  before(async () => {
    fx = await startFixture();
    await fx.engine.connection.run(`CREATE TABLE log_entries AS SELECT i::INT AS level, 'msg ' || i AS msg, make_timestamp_ns(1700000000000000000 + i * 1000) AS time FROM range(5) t(i)`);
    const out = await runPyarrowAll(fx.server.port, scenarios);
    scenarios.forEach(([name], i) => results.set(name, out[i]));
  });
  after(async () => fx?.close());

  test('DoGet of an Any-packed TicketStatementQuery, with the range headers reaching the engine', async () => {
    const out = results.get('doget') as Table;
    assert.deepEqual(out.schema, ['level:int32', 'msg:string', 'time:timestamp[ns, tz=+00:00]', 'rb:timestamp[ns, tz=+00:00]', 're:timestamp[ns, tz=+00:00]']);
    assert.equal(out.rows.length, 5);
    assert.deepEqual(out.rows[2]!.level, 2);
    assert.equal(out.rows[2]!.msg, 'msg 2');
    assert.equal(out.rows[2]!.time, '1700000000000002000');
    assert.equal(out.rows[0]!.rb, '1700000000000000001');
    assert.equal(out.rows[0]!.re, '1700000000000000000');
    const req = fx.engine.requests.find((r) => r.sql === RANGE_SQL)!;
    assert.equal(req.begin, 1_700_000_000_000_000_001n);
    assert.equal(req.end, 1_700_000_000_000_000_000n);
    assert.deepEqual(req.caller, { name: 'tester', admin: false });
    assert.match(req.queryId, /^[0-9a-f-]{36}$/);
    assert.ok(fx.logs.some((l) => l.includes(req.queryId) && l.includes('"client_type":"python"')));
  });

  test('GetFlightInfo(CommandStatementQuery) then DoGet of its single endpoint, with a limit', async () => {
    const out = results.get('flightinfo') as Table & { endpoints: number; ticket: string };
    assert.equal(out.endpoints, 1);
    // The ticket is the raw TicketStatementQuery{statement_handle = SQL} (field 1, bytes), not an Any.
    assert.equal(Buffer.from(out.ticket, 'hex').subarray(2).toString(), 'SELECT range AS i FROM range(1000) ORDER BY i');
    assert.deepEqual(out.schema, ['i:int64']);
    assert.deepEqual(out.rows.map((r) => r.i), [0, 1, 2, 3, 4, 5, 6]);
  });

  test('CreatePreparedStatement returns the SQL as handle and the schema as an IPC stream', async () => {
    const out = results.get('prepare') as { handle: string; schema: string[] };
    assert.equal(out.handle, 'SELECT msg, time FROM log_entries');
    assert.deepEqual(out.schema, ['msg:string', 'time:timestamp[ns, tz=+00:00]']);
  });

  test('GetTables with include_schema lists the engine tables and their schemas', async () => {
    const out = results.get('tables') as { info_schema: string[]; tables: { name: string; type: string; schema: string[] }[] };
    assert.deepEqual(out.info_schema, ['catalog_name:string', 'db_schema_name:string', 'table_name:string', 'table_type:string', 'table_schema:binary']);
    assert.deepEqual(out.tables, [{ name: 'log_entries', type: 'table', schema: ['level:int32', 'msg:string', 'time:timestamp[ns, tz=+00:00]'] }]);
  });

  test('GetSqlInfo answers the server name and read-only flag', async () => {
    const out = results.get('sqlinfo') as { rows: Record<string, unknown> };
    assert.equal(out.rows['0'], 'Micromegas Flight SQL Server');
    assert.equal(out.rows['3'], true);
  });

  test('errors arrive as the matching Flight exceptions', async () => {
    const out = results.get('errors') as Record<string, Failure>;
    assert.equal(out.no_auth!.error, 'FlightUnauthenticatedError');
    assert.match(out.no_auth!.message!, /invalid token/);
    assert.equal(out.bad_sql!.error, 'ArrowInvalid');
    assert.match(out.bad_sql!.message!, /error building dataframe: .*syntax error.*query_id=/s);
    assert.equal(out.unknown_any!.error, 'ArrowInvalid');
    assert.match(out.unknown_any!.message!, /unsupported message type type.googleapis.com\/foo.Bar/);
    assert.equal(out.unimplemented!.error, 'ArrowNotImplementedError');
  });

  test('bulk ingest is refused to non-admin callers', async () => {
    const out = results.get('ingest') as Failure;
    assert.equal(out.error, 'FlightUnauthorizedError');
    assert.match(out.message!, /bulk_ingest requires admin privileges/);
  });

  test('preserve_dictionary: repeating string columns arrive as dictionaries, batch after batch, with the same values', async () => {
    const dict = results.get('dictionary') as Table & { chunks: number; digest: string };
    const plain = results.get('hydrated') as Table & { chunks: number; digest: string };
    assert.deepEqual(plain.schema, ['s:string', 't:string', 'u:string', 'i:int64']);
    assert.deepEqual(dict.schema, ['s:dictionary<values=string, indices=int32, ordered=0>', 't:dictionary<values=string, indices=int32, ordered=0>', 'u:string', 'i:int64']);
    assert.ok(dict.chunks > 1, `several batches (${dict.chunks}), each with its own dictionary`);
    assert.equal(dict.digest, plain.digest, 'every value the same');
    assert.deepEqual(dict.rows, plain.rows);
    assert.equal(dict.rows[5]!.t, null);
    assert.equal(dict.rows[4]!.s, 'level 1');
    assert.equal(dict.rows[4]!.t, 'x0');
  });
});
