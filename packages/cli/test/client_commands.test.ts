// The client commands as a user runs them, as subprocesses against `micromegas serve` (PGlite, temp
// dir, random ports) after `micromegas generate` sent telemetry: query in every format, --output,
// exit codes, processes, logs filters and logs --follow.
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { freePort } from '@micromegas/lake/testing';

const BIN = fileURLToPath(new URL('../bin/micromegas.js', import.meta.url));

interface Run { code: number; stdout: string; stderr: string }

describe('micromegas query / processes / logs', () => {
  let dir: string;
  let serve: ChildProcess;
  let ingestPort: number;
  let env: NodeJS.ProcessEnv;
  let log = '';

  const run = (args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> =>
    new Promise((resolve) => {
      execFile(process.execPath, [BIN, ...args], { env: { ...env, ...extraEnv }, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      });
    });
  const generate = async () => {
    const g = await run(['generate', '--duration', '1', '--workers', '1', '--url', `http://127.0.0.1:${ingestPort}`]);
    assert.equal(g.code, 0, g.stderr);
    return JSON.parse(/generate: done: (.*)/.exec(g.stderr)![1]!) as { logs: number };
  };
  const count = async (sql: string) => Number(JSON.parse((await run(['query', sql])).stdout.trim()).n);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mm-cli-client-'));
    ingestPort = await freePort();
    const flightPort = await freePort();
    env = { ...process.env, MICROMEGAS_API_KEYS: '', MICROMEGAS_SQL_CONNECTION_STRING: '', MICROMEGAS_OBJECT_STORE_URI: '', MICROMEGAS_ANALYTICS_URI: `grpc://127.0.0.1:${flightPort}`, MICROMEGAS_MAX_LEVEL: 'trace' };
    serve = spawn(process.execPath, [BIN, 'serve', '--data-dir', join(dir, 'data'), '--listen', `127.0.0.1:${ingestPort}`, '--flightsql-listen', `127.0.0.1:${flightPort}`, '--otlp-grpc-listen', 'off', '--no-self-telemetry'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    serve.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`serve did not start: ${log}`)), 90_000);
      const check = () => {
        if (log.includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      };
      serve.stderr!.on('data', check);
      serve.once('exit', (c) => reject(new Error(`serve exited with ${c}: ${log}`)));
    });
    const stats = await generate();
    // Wait until the daemon has materialized every log the generator counted (trace level: all recorded).
    for (let i = 0; i < 60 && (await count('SELECT count(*) AS n FROM log_entries')) < stats.logs; i++) await new Promise((r) => setTimeout(r, 500));
    assert.equal(await count('SELECT count(*) AS n FROM log_entries'), stats.logs);
  });
  after(async () => {
    serve?.kill('SIGTERM');
    if (serve && serve.exitCode === null) await new Promise((r) => serve.once('exit', r));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const SQL = `SELECT level, count(*) AS n, min(time) AS first FROM log_entries GROUP BY level ORDER BY level`;

  test('query: json lines when piped, csv, table, parquet and --output agree', async () => {
    const json = await run(['query', SQL]);
    assert.equal(json.code, 0, json.stderr);
    const rows = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as { level: number; n: number; first: string });
    assert.deepEqual(rows.map((r) => r.level), [1, 2, 3, 4, 5, 6]);
    assert.ok(rows.every((r) => r.n > 0 && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/.test(r.first)), json.stdout);

    const csv = await run(['query', '--format', 'csv', SQL]);
    const lines = csv.stdout.trim().split('\n');
    assert.equal(lines[0], 'level,n,first');
    assert.deepEqual(lines.slice(1).map((l) => l.split(',')), rows.map((r) => [String(r.level), String(r.n), r.first]));

    const table = await run(['query', '-f', 'table', SQL]);
    const tableLines = table.stdout.trimEnd().split('\n');
    assert.match(tableLines[0]!, /^level │ +n │ first/);
    assert.equal(tableLines.length, 2 + rows.length);
    assert.ok(tableLines[2]!.includes(rows[0]!.first));

    const file = join(dir, 'out.csv');
    const saved = await run(['query', '--output', file, SQL]);
    assert.equal(saved.code, 0, saved.stderr);
    assert.equal(saved.stdout, '');
    assert.equal(await readFile(file, 'utf8'), csv.stdout);

    const pq = join(dir, 'out.parquet');
    assert.equal((await run(['query', '-o', pq, SQL])).code, 0);
    const bytes = await readFile(pq);
    assert.equal(bytes.subarray(0, 4).toString(), 'PAR1');
    const { readParquet } = await import('parquet-wasm/node');
    const { tableFromIPC } = await import('apache-arrow');
    const t = tableFromIPC(readParquet(bytes).intoIPCStream());
    assert.deepEqual([...t.getChild('level')!].map(Number), rows.map((r) => r.level));
  });

  test('query: --begin/--end restrict the range (relative and absolute)', async () => {
    const all = await count('SELECT count(*) AS n FROM log_entries');
    assert.equal(Number(JSON.parse((await run(['query', '--begin', '1h', 'SELECT count(*) AS n FROM log_entries'])).stdout).n), all);
    assert.equal(Number(JSON.parse((await run(['query', '--begin', '2001-01-01T00:00:00Z', '--end', '2001-01-02T00:00:00Z', 'SELECT count(*) AS n FROM log_entries'])).stdout).n), 0);
  });

  test('query: exit codes 1 (bad SQL), 2 (usage), 3 (unreachable), 4 (bad token)', async () => {
    const bad = await run(['query', 'SELEC 1']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /INVALID_ARGUMENT: .*SELEC/);
    assert.equal((await run(['query'])).code, 2);
    assert.equal((await run(['query', '--format', 'xml', 'SELECT 1'])).code, 2);
    assert.equal((await run(['query', '--begin', 'yesterday', 'SELECT 1'])).code, 2);
    const dead = await run(['query', '--uri', 'grpc://127.0.0.1:1', 'SELECT 1']);
    assert.equal(dead.code, 3);
    assert.match(dead.stderr, /cannot reach the FlightSQL server at 127\.0\.0\.1:1/);
    assert.match((await run(['query', '--help'])).stdout, /Exit codes: 0 ok, 1 query or server error, 2 usage, 3 server unreachable/);
  });

  test('processes lists the generator with its properties', async () => {
    const out = await run(['processes', '--limit', '5']);
    assert.equal(out.code, 0, out.stderr);
    const rows = out.stdout.trim().split('\n').map((l) => JSON.parse(l) as { exe: string; properties: string; start_time: string });
    assert.ok(rows.length >= 1 && rows.length <= 5);
    assert.equal(JSON.parse(rows[0]!.properties)['app.name'], 'micromegas-generate');
    assert.equal((await run(['processes', '--limit', '0'])).code, 2);
  });

  test('logs: --level, --grep, --target, --process and --limit filter', async () => {
    const parse = (r: Run) => r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { level: number; msg: string; target: string; process_id: string });
    const severe = parse(await run(['logs', '--level', 'warn', '-n', '1000']));
    assert.ok(severe.length > 0 && severe.every((r) => r.level <= 3));
    assert.ok(severe.some((r) => r.level === 1));
    const all = parse(await run(['logs', '-n', '1000']));
    assert.ok(all.some((r) => r.level === 6) && all.length > severe.length);
    const grep = parse(await run(['logs', '--grep', 'SELF-TEST', '-n', '1000']));
    assert.ok(grep.length > 0 && grep.every((r) => /self-test/i.test(r.msg)));
    const target = all[0]!.target;
    assert.ok(parse(await run(['logs', '--target', target, '-n', '1000'])).every((r) => r.target.includes(target)));
    assert.equal(parse(await run(['logs', '--process', all[0]!.process_id, '-n', '3'])).length, 3);
    assert.equal(parse(await run(['logs', '--process', '00000000-0000-0000-0000-000000000000'])).length, 0);
    const text = await run(['logs', '-f', 'text', '-n', '2']);
    assert.match(text.stdout, /^\d{4}-\d\d-\d\dT\S+Z (FATAL|ERROR|WARN |INFO |DEBUG|TRACE) \[/m);
    assert.equal((await run(['logs', '--level', '9'])).code, 2);
  });

  test('logs --follow prints entries ingested after it started, once each', async () => {
    const before = await count('SELECT count(*) AS n FROM log_entries');
    const child = spawn(process.execPath, [BIN, 'logs', '--follow', '-n', '1', '--interval', '0.5'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    try {
      while (!out.includes('\n')) await new Promise((r) => setTimeout(r, 100)); // the initial entry
      const stats = await generate();
      const expected = 1 + stats.logs;
      for (let i = 0; i < 60 && out.trim().split('\n').length < expected; i++) await new Promise((r) => setTimeout(r, 500));
      await new Promise((r) => setTimeout(r, 1500)); // a few more polls: nothing may repeat
      const rows = out.trim().split('\n').map((l) => JSON.parse(l) as { time: string; msg: string; process_id: string });
      assert.equal(rows.length, expected, err);
      assert.equal(new Set(rows.map((r) => `${r.process_id}|${r.time}|${r.msg}`)).size, rows.length);
      assert.equal(await count('SELECT count(*) AS n FROM log_entries'), before + stats.logs);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });
});
