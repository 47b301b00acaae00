// The query audit log and the query deny list, end to end over a real PostgreSQL lake: the FlightSQL
// server with the lakehouse engine and a QueryDenyList, driven by our TypeScript Flight client
// (@micromegas/client). The server's own telemetry (audit records, the denial warning, the
// query_denied metric) is recorded with @micromegas/tracing into a MemorySink, ingested into the
// same lake and read back through log_entries and measures.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import * as analytics from '@micromegas/analytics';
import { connect, FlightClientError, type FlightSqlClient } from '@micromegas/client';
import { ingestRecorded } from '@micromegas/ingestion/testing';
import { freePort, openTestLake } from '@micromegas/lake/testing';
import { MemorySink, TSC_FREQUENCY, initDispatch, shutdownDispatch, ticksNow } from '@micromegas/tracing';
import { fingerprintOf, QueryDenyList, startFlightSqlServer, type FlightSqlServer } from '../src/index.ts';

const NS = 1_000_000_000n;
const ADMIN_KEY = 'admin-key-0123456789';
const USER_KEY = 'user-key-0123456789';

const openLake = () => openTestLake('postgres', undefined, 'mm_denylist');

async function rejection(p: Promise<unknown>): Promise<FlightClientError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof FlightClientError, String(err));
    return err;
  }
  assert.fail('expected the call to fail');
}

describe('fingerprintOf', () => {
  test('literals, whitespace, comments and keyword case do not change the fingerprint', () => {
    const a = fingerprintOf("SELECT time, msg FROM log_entries WHERE level <= 3 AND target = 'a' LIMIT 10");
    assert.match(a, /^[0-9a-f]{16}$/);
    assert.equal(fingerprintOf("select  time,msg\n from LOG_ENTRIES -- c\n where level<=4 and target='other' limit 99"), a);
    assert.equal(fingerprintOf("SELECT time, msg FROM log_entries WHERE level <= 3 AND target = 'a' LIMIT 10;").length, 16);
  });

  test('structure, operators and quoted identifiers do', () => {
    const base = fingerprintOf('SELECT a FROM t WHERE x <= 1');
    assert.notEqual(fingerprintOf('SELECT a FROM t WHERE x < 1'), base);
    assert.notEqual(fingerprintOf('SELECT b FROM t WHERE x <= 1'), base);
    assert.notEqual(fingerprintOf('SELECT "A" FROM t'), fingerprintOf('SELECT "a" FROM t'));
    // != and <> are the same operator to sqlparser.
    assert.equal(fingerprintOf('SELECT 1 WHERE a != 2'), fingerprintOf('SELECT 1 WHERE a <> 2'));
  });

  test("matches upstream's normalization (sha256 of the space-joined token texts)", async () => {
    const { createHash } = await import('node:crypto');
    const h = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 16);
    assert.equal(fingerprintOf("SELECT 1 AS deny_test_marker_ab12"), h('select ? as deny_test_marker_ab12'));
    assert.equal(fingerprintOf("SELECT x::text, N'a', -1.5e3 FROM \"Tbl\" WHERE y >= 2"), h('select x :: text , ? , - ? from "Tbl" where y >= ?'));
    // Unterminated literal: the raw text, whitespace collapsed.
    assert.equal(fingerprintOf("SELECT  'oops"), h("SELECT 'oops"));
  });
});

describe('query audit log and deny list (postgres)', () => {
  let lake: Awaited<ReturnType<typeof openLake>>;
  let house: analytics.Lakehouse;
  let denyList: QueryDenyList;
  let engine: analytics.LakehouseQueryEngine;
  let server: FlightSqlServer;
  let admin: FlightSqlClient;
  let user: FlightSqlClient;
  const sink = new MemorySink();
  const processId = randomUUID();
  const audits: Record<string, unknown>[] = [];
  const warnings: string[] = [];

  before(async () => {
    lake = await openLake();
    house = await analytics.openLakehouse(lake, { log: () => {} });
    initDispatch({
      sink,
      backgroundCompression: false,
      process: {
        processId, exe: 'flightsql-deny-test', username: 'tester', realname: 'Tester', computer: 'box', distro: 'linux', cpuBrand: 'cpu',
        tscFrequency: TSC_FREQUENCY, startTime: new Date().toISOString(), startTicks: BigInt(ticksNow()), parentProcessId: null, properties: new Map(),
      },
    });
    denyList = await QueryDenyList.open(lake.db, { refreshSeconds: 1, warn: (m) => warnings.push(m) });
    await denyList.start();
    engine = new analytics.LakehouseQueryEngine(house, { threads: 1, memoryLimit: '256MB', adminPossible: true, queryDenials: denyList });
    server = await startFlightSqlServer({
      engine,
      host: '127.0.0.1',
      port: await freePort(),
      keyring: { authenticate: (h) => (h === `Bearer ${USER_KEY}` ? 'reader' : undefined) },
      verify: (h) => (h === `Bearer ${ADMIN_KEY}` ? { name: 'root', admin: true } : undefined),
      denyList,
      adminPossible: true,
      onAudit: (json) => audits.push(JSON.parse(json) as Record<string, unknown>),
      log: () => {},
    });
    const uri = `grpc://127.0.0.1:${server.port}`;
    admin = connect({ uri, token: ADMIN_KEY, clientType: 'python', entrypoint: 'tests' });
    user = connect({ uri, token: USER_KEY, clientType: 'grafana' });
  });

  after(async () => {
    admin?.close();
    user?.close();
    await server?.close();
    await engine?.close();
    await denyList?.close();
    await shutdownDispatch().catch(() => undefined);
    await house?.close();
    await lake?.drop();
  });

  const lastAudit = (sql: string) => [...audits].reverse().find((a) => a.sql === sql);
  const deny = async (client: FlightSqlClient, expr: string, reason: string) => {
    const rows = await client.queryRows(`SELECT msg AS rule_id FROM deny_queries('${expr.replaceAll("'", "''")}', '${reason.replaceAll("'", "''")}')`);
    assert.equal(rows.length, 1);
    return String(rows[0]!.rule_id);
  };
  const remove = async (id: string) => String((await admin.queryRows(`SELECT remove_query_denial('${id}') AS result`))[0]!.result);

  test('every query leaves an audit record with attribution, status and sql_hash', async () => {
    const sql = 'SELECT 41 + 1 AS answer';
    const rows = await user.queryRows(sql);
    assert.equal(Number(rows[0]!.answer), 42);
    const a = lastAudit(sql)!;
    assert.ok(a, 'audit record');
    assert.equal(a.status, 'ok');
    assert.equal(a.sql_hash, fingerprintOf(sql));
    assert.equal(a.user, 'reader');
    assert.equal(a.client, 'grafana');
    assert.equal(a.output_rows, 1);
    assert.match(String(a.query_id), /^[0-9a-f-]{36}$/);
    assert.equal(a.client_ip, '127.0.0.1');
    for (const f of ['total_ms', 'planning_ms', 'setup_ms', 'bytes_scanned']) assert.equal(typeof a[f], 'number', f);

    const bad = 'SELECT * FROM no_such_table';
    const err = await rejection(user.queryRows(bad));
    assert.equal(err.codeName, 'INVALID_ARGUMENT');
    const b = lastAudit(bad)!;
    assert.equal(b.status, 'error');
    assert.equal(b.error_class, 'user');
    assert.match(String(b.error), /no_such_table/);
  });

  test('a stream abandoned by its client is audited as incomplete', async () => {
    const sql = 'SELECT i, repeat(\'x\', 200) AS pad FROM range(400000) t(i)';
    const control = new AbortController();
    await assert.rejects(async () => {
      for await (const batch of user.queryStream(sql, undefined, undefined, { signal: control.signal })) {
        assert.ok(batch.numRows > 0);
        control.abort();
      }
    });
    let a: Record<string, unknown> | undefined;
    for (let i = 0; i < 50 && !a; i++) {
      await new Promise((r) => setTimeout(r, 100));
      a = lastAudit(sql);
    }
    assert.equal(a?.status, 'incomplete');
    assert.ok(Number(a?.output_rows) < 400000);
  });

  test('deny by sql_hash: RESOURCE_EXHAUSTED naming the rule; other queries unaffected; removal restores access', async () => {
    const sql = `SELECT 1 AS deny_test_marker_${randomUUID().replaceAll('-', '')}`;
    await user.queryRows(sql);
    const hash = String(lastAudit(sql)!.sql_hash);
    const ruleId = await deny(admin, `sql_hash = '${hash}'`, 'test: deny by sql_hash');
    assert.match(ruleId, /^[0-9a-f-]{36}$/);
    const err = await rejection(user.queryRows(sql));
    assert.equal(err.codeName, 'RESOURCE_EXHAUSTED');
    assert.match(err.details, new RegExp(`^query denied by rule ${ruleId} \\(reason: test: deny by sql_hash\\); ask an admin to lift it with remove_query_denial\\('${ruleId}'\\); query_id=[0-9a-f-]{36}$`));
    // Same statement with other literals and spacing: the same fingerprint, denied too.
    const variant = sql.replace('SELECT 1', 'select   2');
    assert.equal((await rejection(user.queryRows(variant))).codeName, 'RESOURCE_EXHAUSTED');
    const denied = lastAudit(sql)!;
    assert.equal(denied.status, 'error');
    assert.equal(denied.error_class, 'denied');
    assert.equal((await user.queryRows('SELECT 2 AS other_query')).length, 1);
    assert.match(await remove(ruleId), new RegExp(`^SUCCESS: removed rule ${ruleId}$`));
    assert.equal((await user.queryRows(sql)).length, 1);
    assert.match(await remove(ruleId), /^ERROR: no such rule/);
    assert.match(await remove('nope'), /^ERROR: 'nope' is not a valid rule id/);
  });

  test('deny by client; the admin escape hatch still reaches the deny-list functions', async () => {
    const ruleId = await deny(admin, "client = 'python'", 'test: deny by client');
    const err = await rejection(admin.queryRows('SELECT 3 AS x'));
    assert.equal(err.codeName, 'RESOURCE_EXHAUSTED');
    assert.equal((await user.queryRows('SELECT 3 AS x')).length, 1); // grafana is not denied
    const listed = await admin.queryRows(`SELECT rule_id, created_by, reason, match_expr FROM list_query_denials() WHERE rule_id = '${ruleId}'`);
    assert.deepEqual(listed.map((r) => ({ ...r })), [{ rule_id: ruleId, created_by: 'root', reason: 'test: deny by client', match_expr: "client = 'python'" }]);
    assert.match(await remove(ruleId), /^SUCCESS/);
    assert.equal((await admin.queryRows('SELECT 3 AS x')).length, 1);
  });

  test('non-admin callers cannot call the deny-list functions (auth on, admins possible)', async () => {
    for (const sql of ["SELECT * FROM deny_queries('client = ''x''', 'r')", 'SELECT * FROM list_query_denials()', "SELECT remove_query_denial('x')"]) {
      const err = await rejection(user.queryRows(sql));
      assert.equal(err.codeName, 'INVALID_ARGUMENT', sql);
      assert.match(err.details, /admin functions are reserved to administrators/);
    }
  });

  test('invalid rules are refused with clear messages, before anything is stored', async () => {
    const cases: [string, string, RegExp][] = [
      ['true', 'r', /at least one match-context column/],
      ['1 = 1', 'r', /at least one match-context column/],
      ['client = ', 'r', /not a valid SQL expression/],
      ['client', 'r', /must be a boolean expression, got VARCHAR/],
      ['client = 42', 'r', /compile-time check.*mismatched type/],
      ['no_such_col = 1', 'r', /unknown column "no_such_col"/],
      ["client IN (SELECT 'x')", 'r', /must not contain a subquery/],
      ["read_text('/etc/passwd') IS NULL AND client = 'x'", 'r', /scalar functions; "read_text" is not one/],
      ["count(*) > 0 AND client = 'x'", 'r', /scalar functions; "count_star" is not one/],
      ["client = 'x') OR (true", 'r', /single expression over the match context|unbalanced/],
      ["client = 'x' -- c", 'r', /must not contain comments/],
      ["client = 'x'; SELECT 1", 'r', /no ';'/],
      ["client = 'x'", '  ', /reason must not be empty/],
    ];
    for (const [expr, reason, re] of cases) {
      const err = await rejection(deny(admin, expr, reason));
      assert.equal(err.codeName, 'INVALID_ARGUMENT', expr);
      assert.match(err.details, re, expr);
    }
    assert.equal((await admin.queryRows('SELECT count(*) AS n FROM list_query_denials()'))[0]!.n, 0n);
  });

  test('a rule matching on several columns with SQL functions', async () => {
    const ruleId = await deny(admin, "starts_with(sql, 'select 77') AND user_id = 'reader' AND notebook IS NULL", 'combo');
    assert.equal((await rejection(user.queryRows('select 77 AS n'))).codeName, 'RESOURCE_EXHAUSTED');
    assert.equal((await admin.queryRows('select 77 AS n')).length, 1); // user_id is root
    await remove(ruleId);
  });

  test('last_hit_at is written at the next refresh tick', async () => {
    const ruleId = await deny(admin, "entrypoint = 'tests' AND sql LIKE '%last_hit_probe%'", 'test: last_hit_at');
    const before = await admin.queryRows(`SELECT last_hit_at FROM list_query_denials() WHERE rule_id = '${ruleId}'`);
    assert.equal(before[0]!.last_hit_at, null);
    await rejection(admin.queryRows("SELECT 'last_hit_probe' AS p"));
    let hit: unknown = null;
    for (let i = 0; i < 40 && hit === null; i++) {
      await new Promise((r) => setTimeout(r, 100));
      hit = (await admin.queryRows(`SELECT last_hit_at FROM list_query_denials() WHERE rule_id = '${ruleId}'`))[0]!.last_hit_at;
    }
    assert.notEqual(hit, null);
    await remove(ruleId);
  });

  test('a rule added behind the service (another replica) is enforced after a refresh; a failed refresh keeps the rules', async () => {
    const id = randomUUID();
    await lake.db.query(
      `INSERT INTO query_deny_list (rule_id, created_at, created_by, reason, match_expr) VALUES ($1::uuid, now(), 'other', 'replica', 'sql_hash = ''${fingerprintOf('SELECT 55 AS replica')}''')`,
      [id],
    );
    await denyList.refresh();
    assert.equal((await rejection(user.queryRows('SELECT 55 AS replica'))).codeName, 'RESOURCE_EXHAUSTED');
    // A rule that doesn't compile (e.g. written by another implementation) is skipped, not fatal.
    await lake.db.query(`INSERT INTO query_deny_list (rule_id, created_at, created_by, reason, match_expr) VALUES ($1::uuid, now(), 'other', 'bad', 'user = ''x''')`, [randomUUID()]);
    await denyList.refresh();
    assert.ok(warnings.some((w) => /failed to compile, skipping/.test(w)));
    assert.equal((await rejection(user.queryRows('SELECT 55 AS replica'))).codeName, 'RESOURCE_EXHAUSTED');
    assert.equal((await user.queryRows('SELECT 55 AS replica_other')).length, 1);
    // Fail-open: the table can't be read, the previous snapshot stays in force.
    await lake.db.query('ALTER TABLE query_deny_list RENAME TO query_deny_list_away');
    await assert.rejects(denyList.refresh());
    assert.ok(warnings.some((w) => /refresh failed, keeping previous snapshot/.test(w)));
    assert.equal((await rejection(user.queryRows('SELECT 55 AS replica'))).codeName, 'RESOURCE_EXHAUSTED');
    await lake.db.query('ALTER TABLE query_deny_list_away RENAME TO query_deny_list');
    await lake.db.query('DELETE FROM query_deny_list');
    await denyList.refresh();
    assert.equal((await user.queryRows('SELECT 55 AS replica')).length, 1);
  });

  test('audit records, the denial warning and the query_denied metric land in log_entries and measures', async () => {
    const sql = `SELECT 1 AS deny_test_marker_${randomUUID().replaceAll('-', '')}`;
    await user.queryRows(sql);
    const ruleId = await deny(admin, `sql_hash = '${fingerprintOf(sql)}'`, 'test: signals');
    await rejection(user.queryRows(sql));
    await remove(ruleId);
    // Deliver the server's telemetry to the lake and materialize the global views.
    await shutdownDispatch();
    await ingestRecorded(lake, sink);
    const { rows } = await lake.db.query<{ lo: string; hi: string }>('SELECT min(insert_time) AS lo, max(insert_time) AS hi FROM blocks');
    const begin = (analytics.parseTimestampNanos(rows[0]!.lo) / NS) * NS;
    const end = (analytics.parseTimestampNanos(rows[0]!.hi) / NS) * NS + NS;
    await analytics.materializeGlobalViews(house, analytics.DEFAULT_GLOBAL_VIEWS, begin, end, NS);
    const range = [new Date(Number(begin / 1_000_000n) - 60_000), new Date(Number(end / 1_000_000n) + 60_000)] as const;

    const audit = await admin.queryRows(
      `SELECT jsonb_as_string(jsonb_get(jsonb_parse(msg), 'sql_hash')) AS sql_hash, jsonb_as_string(jsonb_get(jsonb_parse(msg), 'status')) AS status
         FROM log_entries WHERE target = 'flightsql_query_audit' AND jsonb_as_string(jsonb_get(jsonb_parse(msg), 'sql')) = '${sql}' ORDER BY time`,
      ...range,
    );
    assert.deepEqual(audit.map((r) => ({ ...r })), [{ sql_hash: fingerprintOf(sql), status: 'ok' }, { sql_hash: fingerprintOf(sql), status: 'error' }]);
    const warn = await admin.queryRows(`SELECT msg FROM log_entries WHERE level <= 3 AND msg LIKE 'query denied%' AND msg LIKE '%${ruleId}%'`, ...range);
    assert.equal(warn.length, 1);
    assert.match(String(warn[0]!.msg), new RegExp(`^query denied rule_id=${ruleId} reason="test: signals" sql_hash=${fingerprintOf(sql)} user=reader`));
    const metric = await admin.queryRows(`SELECT sum(value) AS denied FROM measures WHERE name = 'query_denied' AND property_get(properties, 'rule_id') = '${ruleId}'`, ...range);
    assert.equal(Number(metric[0]!.denied), 1);
  });
});
