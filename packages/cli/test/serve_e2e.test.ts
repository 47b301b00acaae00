// The whole stack as a user runs it: `micromegas serve` (ingestion, daemon, FlightSQL in one process
// on embedded PGlite and a local folder), `micromegas generate` sending to it, and pyarrow's Flight
// client (an independent peer) reading the rows back through FlightSQL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '@micromegas/lake/testing';

const BIN = fileURLToPath(new URL('../bin/micromegas.js', import.meta.url));

const QUERY_PY = `
import sys, json, pyarrow as pa, pyarrow.flight as flight
def varint(n):
    out = b''
    while True:
        b, n = n & 0x7f, n >> 7
        if not n: return out + bytes([b])
        out += bytes([b | 0x80])
def field(num, data): return varint((num << 3) | 2) + varint(len(data)) + data
ticket = field(1, b'type.googleapis.com/arrow.flight.protocol.sql.TicketStatementQuery') + field(2, field(1, sys.argv[2].encode()))
table = flight.FlightClient('grpc://127.0.0.1:' + sys.argv[1]).do_get(flight.Ticket(ticket)).read_all()
schema = [str(f.type) for f in table.schema]
# Nanosecond timestamps need pandas to become Python objects; their text is enough here.
table = table.cast(pa.schema([pa.field(f.name, pa.string() if pa.types.is_timestamp(f.type) else f.type) for f in table.schema]))
print(json.dumps({'schema': schema, 'rows': table.to_pylist()}, default=str))
`;

async function query(port: number, sql: string): Promise<{ schema: string[]; rows: Record<string, unknown>[] }> {
  const { stdout } = await promisify(execFile)('python3', ['-c', QUERY_PY, String(port), sql]);
  return JSON.parse(stdout);
}

test('serve + generate: the generated logs come back through FlightSQL within seconds', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mm-serve-'));
  const [ingestPort, flightPort] = [await freePort(), await freePort()];
  const env = { ...process.env, MICROMEGAS_API_KEYS: '', MICROMEGAS_SQL_CONNECTION_STRING: '', MICROMEGAS_OBJECT_STORE_URI: '' };
  const serve = spawn(process.execPath, [BIN, 'serve', '--data-dir', dir, '--listen', `127.0.0.1:${ingestPort}`, '--flightsql-listen', `127.0.0.1:${flightPort}`, '--otlp-grpc-listen', 'off'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  serve.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`serve did not start: ${log}`)), 60_000);
      serve.stderr!.on('data', () => {
        if (log.includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const gen = await promisify(execFile)(process.execPath, [BIN, 'generate', '--duration', '2', '--workers', '1', '--url', `http://127.0.0.1:${ingestPort}`], { env: { ...env, MICROMEGAS_MAX_LEVEL: 'trace' } });
    const stats = JSON.parse(/generate: done: (.*)/.exec(gen.stderr)![1]!) as { logs: number };
    assert.ok(stats.logs > 0);
    let result = await query(flightPort, 'SELECT count(*) AS n FROM log_entries');
    for (let i = 0; i < 40 && Number(result.rows[0]!.n) < stats.logs; i++) {
      await new Promise((r) => setTimeout(r, 250));
      result = await query(flightPort, 'SELECT count(*) AS n FROM log_entries');
    }
    // At trace level every log the generator counted is recorded, so the view must hold them all.
    assert.equal(Number(result.rows[0]!.n), stats.logs, log);
    const recent = await query(flightPort, 'SELECT time, level, msg, exe FROM log_entries ORDER BY time DESC LIMIT 5');
    assert.equal(recent.schema[0], 'timestamp[ns, tz=+00:00]');
    assert.equal(recent.rows.length, 5);
    assert.ok(recent.rows.every((r) => typeof r.msg === 'string' && (r.msg as string).length > 0));
    const processes = await query(flightPort, 'SELECT process_id, exe FROM processes');
    assert.ok(processes.rows.length >= 1);
  } finally {
    serve.kill('SIGTERM');
    await new Promise((r) => serve.once('exit', r));
    await rm(dir, { recursive: true, force: true });
  }
});
