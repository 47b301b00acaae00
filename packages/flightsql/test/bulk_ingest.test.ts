// Bulk ingest (DoPut CommandStatementIngest) driven by pyarrow's Flight client: the processes, streams,
// blocks and payloads of a lake filled by our tracing + ingestion packages are copied into a second,
// empty lake (PostgreSQL or PGlite, with a file object store), then compared row by row and byte by byte.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { blockObjectKey } from '@micromegas/ingestion';
import { ingestRecorded } from '@micromegas/ingestion/testing';
import { migrateDataLake, openDatabase, openFileStore, openObjectStore, type Database, type ObjectStore } from '@micromegas/lake';
import { createTestDatabase } from '@micromegas/lake/testing';
import { MemorySink, TSC_FREQUENCY, flushAllStreams, info, initDispatch, shutdownDispatch, ticksNow } from '@micromegas/tracing';
import { makeBulkIngest } from '../src/index.ts';
import { API_KEY, pyarrowAvailable, startFixture, type Fixture } from './helpers.ts';

const hasPyarrow = await pyarrowAvailable();

// The client side, as micromegas' Python bulk_ingest does it: the tables are built from JSON rows.
const PY = String.raw`
import json, sys
import pyarrow as pa, pyarrow.flight as fl

def varint(n):
    out = b""
    while n >= 0x80:
        out += bytes([(n & 0x7F) | 0x80]); n >>= 7
    return out + bytes([n])

def field(num, value):
    return varint((num << 3) | 2) + varint(len(value)) + value

def ingest_cmd(table):
    any_ = field(1, b"type.googleapis.com/arrow.flight.protocol.sql.CommandStatementIngest") + field(2, field(2, table.encode()))
    return fl.FlightDescriptor.for_command(any_)

def record_count(buf):
    # DoPutUpdateResult{record_count = 1 (int64 varint)}
    data, i, n, shift = buf.to_pybytes(), 1, 0, 0
    assert data[0] == 0x08, data
    while True:
        b = data[i]; i += 1; n |= (b & 0x7F) << shift; shift += 7
        if b < 0x80: return n

TS = pa.timestamp("ns", tz="UTC")
PROPS = pa.list_(pa.struct([("key", pa.string()), ("value", pa.string())]))
def ts(rows, k): return pa.array([int(r[k]) * 1000 for r in rows], TS)
def s(rows, k): return pa.array([r[k] for r in rows], pa.string())
def i64(rows, k): return pa.array([int(r[k]) for r in rows], pa.int64())
def b(rows, k): return pa.array([bytes.fromhex(r[k]) for r in rows], pa.binary())
def props(rows): return pa.array([r["properties"] or [] for r in rows], PROPS)

def tables(src):
    p, st, bl, pl = src["processes"], src["streams"], src["blocks"], src["payloads"]
    return {
        "processes": pa.table({"process_id": s(p, "process_id"), "exe": s(p, "exe"), "username": s(p, "username"), "realname": s(p, "realname"),
            "computer": s(p, "computer"), "distro": s(p, "distro"), "cpu_brand": s(p, "cpu_brand"), "tsc_frequency": i64(p, "tsc_frequency"),
            "start_time": ts(p, "start_time"), "start_ticks": i64(p, "start_ticks"), "insert_time": ts(p, "insert_time"),
            "parent_process_id": s(p, "parent_process_id"), "properties": props(p)}),
        # Dictionary-encoded ids, as the lakehouse views answer them.
        "streams": pa.table({"stream_id": s(st, "stream_id").dictionary_encode(), "process_id": s(st, "process_id").dictionary_encode(),
            "dependencies_metadata": b(st, "dependencies_metadata"), "objects_metadata": b(st, "objects_metadata"),
            "tags": pa.array([r["tags"] for r in st], pa.list_(pa.string())), "properties": props(st), "insert_time": ts(st, "insert_time"),
            "format": s(st, "format")}),
        "blocks": pa.table({"block_id": s(bl, "block_id"), "stream_id": s(bl, "stream_id"), "process_id": s(bl, "process_id"),
            "begin_time": ts(bl, "begin_time"), "begin_ticks": i64(bl, "begin_ticks"), "end_time": ts(bl, "end_time"), "end_ticks": i64(bl, "end_ticks"),
            "nb_objects": pa.array([int(r["nb_objects"]) for r in bl], pa.int32()), "object_offset": i64(bl, "object_offset"),
            "payload_size": i64(bl, "payload_size"), "insert_time": ts(bl, "insert_time")}),
        "payloads": pa.table({"process_id": s(pl, "process_id"), "stream_id": s(pl, "stream_id"), "block_id": s(pl, "block_id"), "payload": b(pl, "payload")}),
    }

def put(client, table_name, table, token):
    opts = fl.FlightCallOptions(headers=[(b"authorization", ("Bearer " + token).encode())])
    try:
        writer, reader = client.do_put(ingest_cmd(table_name), table.schema, opts)
        # Two batches per put: the server must read past the first one.
        for rb in table.to_batches(max_chunksize=max(1, (table.num_rows + 1) // 2)):
            writer.write_batch(rb)
        writer.done_writing()
        buf = reader.read()
        writer.close()
        return {"record_count": record_count(buf)}
    except Exception as e:  # noqa: BLE001 - the error class is what the test checks
        return {"error": type(e).__name__, "message": str(e)}

port, src_path = sys.argv[1], sys.argv[2]
src = json.load(open(src_path))
client = fl.FlightClient("grpc://127.0.0.1:" + port)
t = tables(src)
out = {"first": {}, "second": {}}
for round_ in ("first", "second"):
    for name in ("processes", "streams", "blocks", "payloads"):
        out[round_][name] = put(client, name, t[name], "root")
out["non_admin"] = put(client, "processes", t["processes"], src["api_key"])
out["unsupported"] = put(client, "log_entries", pa.table({"x": [1]}), "root")
print(json.dumps(out))
`;

// Every column as text, so both lakes compare exactly (timestamps at PostgreSQL's microsecond precision).
const DUMP = {
  processes: `SELECT process_id::text, exe, username, realname, computer, distro, cpu_brand, tsc_frequency::text, start_time::text, start_ticks::text, insert_time::text, parent_process_id::text, properties::text FROM processes ORDER BY process_id`,
  streams: `SELECT stream_id::text, process_id::text, encode(dependencies_metadata, 'hex') AS d, encode(objects_metadata, 'hex') AS o, tags::text, properties::text, insert_time::text, format FROM streams ORDER BY stream_id`,
  blocks: `SELECT block_id::text, stream_id::text, process_id::text, begin_time::text, begin_ticks::text, end_time::text, end_ticks::text, nb_objects, object_offset::text, payload_size::text, insert_time::text FROM blocks ORDER BY block_id`,
};
const US = (col: string) => `(EXTRACT(EPOCH FROM ${col}) * 1000000)::bigint::text AS ${col}`;
// What the client sends: timestamps in microseconds (PostgreSQL's precision), bytes in hex.
const EXPORT = {
  processes: `SELECT process_id::text, exe, username, realname, computer, distro, cpu_brand, tsc_frequency::text, ${US('start_time')}, start_ticks::text, ${US('insert_time')}, coalesce(parent_process_id::text, '') AS parent_process_id, to_json(properties) AS properties FROM processes`,
  streams: `SELECT stream_id::text, process_id::text, encode(dependencies_metadata, 'hex') AS dependencies_metadata, encode(objects_metadata, 'hex') AS objects_metadata, to_json(tags) AS tags, to_json(properties) AS properties, ${US('insert_time')}, format FROM streams`,
  blocks: `SELECT block_id::text, stream_id::text, process_id::text, ${US('begin_time')}, begin_ticks::text, ${US('end_time')}, end_ticks::text, nb_objects, object_offset::text, payload_size::text, ${US('insert_time')} FROM blocks`,
};

async function dump(db: Database): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const [name, sql] of Object.entries(DUMP)) out[name] = (await db.query(sql)).rows;
  return out;
}

type PutOutcome = { record_count?: number; error?: string; message?: string };
type PythonOut = { first: Record<string, PutOutcome>; second: Record<string, PutOutcome>; non_admin: PutOutcome; unsupported: PutOutcome };

function runPython(port: number, srcPath: string): Promise<PythonOut> {
  return new Promise((resolve, reject) => {
    execFile('python3', ['-c', PY, String(port), srcPath], { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`pyarrow bulk ingest failed: ${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout));
    });
  });
}

describe('bulk ingest through pyarrow DoPut', { skip: hasPyarrow ? false : 'python3 with pyarrow is not installed' }, () => {
  let source: { db: Database; blobs: ObjectStore; drop(): Promise<void> };
  let srcPath: string;
  let dir: string;
  let payloadKeys: string[];
  // Opening PGlite takes seconds: started first, it overlaps the PostgreSQL half.
  let pglite: Promise<Database> | undefined;

  before(async () => {
    pglite = openDatabase({ dataDir: ':memory:' });
    const t = await createTestDatabase('mm_bulk_src');
    const db = await openDatabase({ connectionString: t.connectionString, dataDir: '' });
    await migrateDataLake(db);
    const blobs = openObjectStore(`memory://${randomUUID()}`);
    source = { db, blobs, drop: async () => { await db.close(); await blobs.close(); await t.drop(); } };
    const sink = new MemorySink();
    initDispatch({
      sink,
      backgroundCompression: false,
      process: {
        processId: randomUUID(), exe: 'bulk-src', username: 'tester', realname: 'Tester', computer: 'box', distro: 'linux', cpuBrand: 'cpu',
        tscFrequency: TSC_FREQUENCY, startTime: new Date().toISOString(), startTicks: BigInt(ticksNow()), parentProcessId: randomUUID(),
        properties: new Map([['team', 'obs'], ['zone', 'eu "west", 1']]),
      },
    });
    try {
      // Two log blocks, so the blocks and payloads puts carry two batches.
      for (let i = 0; i < 20; i++) {
        info('event {}', i);
        if (i === 9) flushAllStreams();
      }
    } finally {
      await shutdownDispatch();
    }
    await ingestRecorded({ config: { dataDir: ':memory:' }, db, blobs } as never, sink);

    const src: Record<string, unknown> = { api_key: API_KEY };
    for (const [name, sql] of Object.entries(EXPORT)) src[name] = (await db.query(sql)).rows;
    const blocks = src.blocks as { block_id: string; stream_id: string; process_id: string }[];
    payloadKeys = [];
    src.payloads = await Promise.all(blocks.map(async (b) => {
      const key = blockObjectKey({ processId: b.process_id, streamId: b.stream_id, blockId: b.block_id });
      payloadKeys.push(key);
      const bytes = await blobs.get(key);
      return { ...b, payload: Buffer.from(bytes!).toString('hex') };
    }));
    dir = await mkdtemp(join(tmpdir(), 'mm-bulk-'));
    srcPath = join(dir, 'source.json');
    await writeFile(srcPath, JSON.stringify(src));
  });
  after(async () => {
    await source?.drop();
    await pglite?.then((db) => db.close()).catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const kind of ['postgres', 'pglite'] as const) {
    describe(`into an empty ${kind} lake`, () => {
      let target: { db: Database; blobs: ObjectStore };
      let dropTarget = async () => {};
      let fx: Fixture;
      let out: Awaited<ReturnType<typeof runPython>>;

      before(async () => {
        let db: Database;
        if (kind === 'postgres') {
          const t = await createTestDatabase('mm_bulk_dst');
          db = await openDatabase({ connectionString: t.connectionString, dataDir: '' });
          dropTarget = t.drop;
        } else {
          db = await pglite!;
        }
        await migrateDataLake(db);
        const blobs = openFileStore(pathToFileURL(await mkdtemp(join(dir, `${kind}-`))).href);
        target = { db, blobs };
        fx = await startFixture({
          verify: (h) => (h === 'Bearer root' ? { name: 'root', admin: true } : undefined),
          bulkIngest: makeBulkIngest(target),
        });
        out = await runPython(fx.server.port, srcPath);
      });
      after(async () => {
        await fx?.close();
        if (kind === 'postgres') await target?.db.close();
        await target?.blobs.close();
        await dropTarget();
      });

      test('every table reports the rows it received, both times', async () => {
        const src = await dump(source.db);
        const expected = { processes: 1, streams: src.streams!.length, blocks: src.blocks!.length, payloads: src.blocks!.length };
        assert.ok(expected.streams >= 2 && expected.blocks >= 2, JSON.stringify(expected)); // so each put sends two batches
        for (const round of ['first', 'second'] as const) {
          const counts = Object.fromEntries(Object.entries(out[round]).map(([k, v]) => [k, v.record_count ?? v]));
          assert.deepEqual(counts, expected, round);
        }
      });

      test('the copied rows equal the source rows; the second put added no duplicates', async () => {
        assert.deepEqual(await dump(target.db), await dump(source.db));
        const props = await target.db.query<{ p: string }>('SELECT properties::text AS p FROM processes');
        assert.equal(props.rows[0]!.p, '{"(team,obs)","(zone,\\"eu \\"\\"west\\"\\", 1\\")"}');
      });

      test('payloads are written under blobs/{process}/{stream}/{block}, byte for byte', async () => {
        for (const key of payloadKeys) {
          const copied = await target.blobs.get(key);
          assert.ok(copied, key);
          assert.deepEqual(Buffer.from(copied), Buffer.from((await source.blobs.get(key))!));
        }
      });

      test('a non-admin is refused and other tables are not supported', () => {
        assert.equal(out.non_admin.error, 'FlightUnauthorizedError');
        assert.match(out.non_admin.message!, /bulk_ingest requires admin privileges/);
        assert.equal(out.unsupported.error, 'ArrowInvalid');
        assert.match(out.unsupported.message!, /error ingesting into log_entries: bulk ingest for table log_entries not supported/);
      });
    });
  }
});

test('bulk ingest accepts JSONB properties, as the processes view returns them', async () => {
  const { encodeJsonbStringMap } = await import('@micromegas/analytics');
  const { makeData, RecordBatch, Schema, Field, Struct, Utf8, Int64, Binary, TimestampNanosecond, vectorFromArray } = await import('apache-arrow');
  const t = await createTestDatabase('mm_bulk_jsonb');
  const db = await openDatabase({ connectionString: t.connectionString, dataDir: '' });
  const blobs = openObjectStore('memory://bulk-jsonb');
  try {
    await migrateDataLake(db);
    const ingest = makeBulkIngest({ db, blobs });
    const id = '0f0e0d0c-0b0a-4908-8706-050403020100';
    const text = (v: string) => vectorFromArray([v], new Utf8()).data[0]!;
    const fields: [string, unknown][] = [
      ['process_id', text(id)], ['exe', text('app')], ['username', text('u')], ['realname', text('U')], ['computer', text('c')],
      ['distro', text('d')], ['cpu_brand', text('x')],
      ['tsc_frequency', makeData({ type: new Int64(), length: 1, data: BigInt64Array.of(1_000_000_000n) } as never)],
      ['start_time', makeData({ type: new TimestampNanosecond('+00:00'), length: 1, data: BigInt64Array.of(1_700_000_000_000_000_000n) } as never)],
      ['start_ticks', makeData({ type: new Int64(), length: 1, data: BigInt64Array.of(5n) } as never)],
      ['insert_time', makeData({ type: new TimestampNanosecond('+00:00'), length: 1, data: BigInt64Array.of(1_700_000_000_000_000_000n) } as never)],
      ['parent_process_id', text('')],
      ['properties', vectorFromArray([encodeJsonbStringMap([['region', 'eu'], ['version', '1.2']])], new Binary()).data[0]],
    ];
    const schema = new Schema(fields.map(([name, d]) => new Field(name, (d as { type: never }).type, true)));
    const batch = new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: 1, children: fields.map(([, d]) => d as never) }));
    assert.equal(await ingest('processes', [batch], { name: 'admin', admin: true }), 1);
    const { rows } = await db.query<{ p: string }>('SELECT properties::text AS p FROM processes WHERE process_id = $1', [id]);
    assert.equal(rows[0]!.p, '{"(region,eu)","(version,1.2)"}');
  } finally {
    await db.close();
    await blobs.close();
    await t.drop();
  }
});
