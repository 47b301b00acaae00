// Native blocks ingested per second against real PostgreSQL and a file object store, with many
// concurrent clients, side by side with the raw cost of the same work: the same payload bytes
// written durably to files and the same rows inserted with plain SQL, at the same concurrency.
import { spawn } from 'node:child_process';
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { compressLz4Frame, encodeBlock, encodeBlockPayload, type BlockEnvelope } from '@micromegas/transit';
import { createTestDatabase } from '@micromegas/lake/testing';

const { values } = parseArgs({
  options: {
    blocks: { type: 'string', default: '4000' },
    clients: { type: 'string', default: '32' },
    'objects-kib': { type: 'string', default: '64' },
    rounds: { type: 'string', default: '3' },
  },
});
// Both sides get the same libuv pool for their file system calls: Node's default of 4 threads
// measured best for the one-commit file store (more threads only add contention).
const THREADPOOL = process.env.UV_THREADPOOL_SIZE ?? '4';
process.env.UV_THREADPOOL_SIZE = THREADPOOL;
const BLOCKS = Number(values.blocks);
const ROUNDS = Number(values.rounds);
const CLIENTS = Number(values.clients);
const OBJECT_KIB = Number(values['objects-kib']);

/** Log-like transit bytes: compressible like real blocks (repeated ids, varying times and text). */
function fakeObjects(seed: number): Uint8Array {
  const out = new Uint8Array(OBJECT_KIB * 1024);
  const dv = new DataView(out.buffer);
  for (let off = 0, i = 0; off + 17 <= out.length; off += 17, i++) {
    out[off] = i % 3 === 0 ? 1 : 0;
    dv.setUint32(off + 1, 0x5000 + (i % 40), true);
    dv.setUint32(off + 9, (seed * 1_000_003 + i * 977) >>> 0, true);
  }
  return out;
}

function makeBlocks(): { body: Uint8Array; block: BlockEnvelope }[] {
  const processId = randomUUID();
  const streams = Array.from({ length: 16 }, () => randomUUID());
  const deps = compressLz4Frame(new TextEncoder().encode('static strings and descriptors '.repeat(40)));
  const out = [];
  for (let i = 0; i < BLOCKS; i++) {
    const block: BlockEnvelope = {
      blockId: randomUUID(),
      streamId: streams[i % streams.length]!,
      processId,
      beginTime: '2026-11-25T10:00:01.123456789+00:00',
      beginTicks: BigInt(i) * 1_000_000n,
      endTime: '2026-11-25T10:00:02.123456789+00:00',
      endTicks: BigInt(i + 1) * 1_000_000n,
      payload: { dependencies: deps, objects: compressLz4Frame(fakeObjects(i)) },
      objectOffset: BigInt(i) * 3000n,
      nbObjects: 3000,
    };
    out.push({ block, body: encodeBlock(block) });
  }
  return out;
}

interface Run {
  seconds: number;
  latenciesMs: number[];
}

async function runConcurrently(count: number, clients: number, one: (i: number) => Promise<void>): Promise<Run> {
  const latenciesMs: number[] = new Array(count);
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (let i = next++; i < count; i = next++) {
        const t0 = performance.now();
        await one(i);
        latenciesMs[i] = performance.now() - t0;
      }
    }),
  );
  return { seconds: (performance.now() - start) / 1000, latenciesMs };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function startServerProcess(connectionString: string, objectStoreUri: string, dataDir: string) {
  const script = fileURLToPath(new URL('./server_process.ts', import.meta.url));
  const child = spawn(process.execPath, [...(process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? []), '--import', 'tsx', script, connectionString, objectStoreUri, dataDir], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, UV_THREADPOOL_SIZE: THREADPOOL },
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve(JSON.parse(d.toString()).url));
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  return { url, stop: () => new Promise<void>((r) => { child.once('exit', () => r()); child.kill('SIGTERM'); }) };
}

async function benchService(blocks: { body: Uint8Array }[], store?: string): Promise<Run> {
  const db = await createTestDatabase('mm_bench');
  const dir = await mkdtemp(join(tmpdir(), 'mm-bench-svc-'));
  const server = await startServerProcess(db.connectionString, store ?? `file://${join(dir, 'objects')}`, dir);
  try {
    // Warm up connections and JIT on a few blocks that are not counted.
    const warm = makeBlocks().slice(0, 200);
    await runConcurrently(warm.length, CLIENTS, async (i) => void (await post(server.url, warm[i]!.body)));
    return await runConcurrently(blocks.length, CLIENTS, (i) => post(server.url, blocks[i]!.body));
  } finally {
    await server.stop();
    await db.drop();
    await rm(dir, { recursive: true, force: true });
  }
}

// node:http with keep-alive: a lighter client than fetch, so the load generator (which shares
// this 2-core machine with the server and PostgreSQL) takes less CPU from what is measured.
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

function post(url: string, body: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/ingestion/insert_block`, { method: 'POST', agent, headers: { 'content-length': body.length } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`insert_block answered ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const RAW_TABLE = `CREATE TABLE blocks(block_id UUID, stream_id UUID, process_id UUID, begin_time TIMESTAMPTZ,
  begin_ticks BIGINT, end_time TIMESTAMPTZ, end_ticks BIGINT, nb_objects INT, object_offset BIGINT,
  payload_size BIGINT, insert_time TIMESTAMPTZ);
  CREATE UNIQUE INDEX blocks_block_id_unique ON blocks(block_id); CREATE INDEX block_stream_id ON blocks(stream_id);
  CREATE INDEX block_begin_time ON blocks(begin_time); CREATE INDEX block_end_time ON blocks(end_time);
  CREATE INDEX block_insert_time ON blocks(insert_time);`;

/**
 * The same bytes and rows without HTTP, CBOR or the object-store abstraction. `syncDir` adds the
 * directory fsync that makes a new file's name durable (what the service guarantees before it
 * answers 200); without it a crash can lose a file whose row was committed.
 */
async function benchRaw(blocks: { block: BlockEnvelope }[], syncDir: boolean): Promise<Run> {
  const db = await createTestDatabase('mm_bench_raw');
  const dir = await mkdtemp(join(tmpdir(), 'mm-bench-raw-'));
  const pool = new pg.Pool({ connectionString: db.connectionString, max: 10 });
  // The drop below terminates connections the pool may still be closing; that is no failure.
  pool.on('error', () => {});
  try {
    await pool.query(RAW_TABLE);
    const payloads = blocks.map((b) => encodeBlockPayload(b.block.payload));
    return await runConcurrently(blocks.length, CLIENTS, async (i) => {
      const b = blocks[i]!.block;
      const path = join(dir, 'blobs', b.processId, b.streamId, b.blockId);
      await mkdir(dirname(path), { recursive: true });
      const fh = await open(path, 'wx');
      await fh.writeFile(payloads[i]!);
      await fh.sync();
      await fh.close();
      if (syncDir) {
        const dh = await open(dirname(path), 'r');
        await dh.sync();
        await dh.close();
      }
      await pool.query('INSERT INTO blocks VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,now()) ON CONFLICT (block_id) DO NOTHING', [
        b.blockId, b.streamId, b.processId, b.beginTime, b.beginTicks.toString(), b.endTime, b.endTicks.toString(),
        b.nbObjects, b.objectOffset.toString(), payloads[i]!.length,
      ]);
    });
  } finally {
    await pool.end();
    await db.drop();
    await rm(dir, { recursive: true, force: true });
  }
}

interface Variant {
  name: string;
  run(): Promise<Run>;
  runs: Run[];
}

/** The run with the median rate (its latencies are reported with it). */
function median(runs: Run[]): Run {
  return [...runs].sort((a, b) => a.seconds - b.seconds)[Math.floor(runs.length / 2)]!;
}

const blocks = makeBlocks();
const avgBody = blocks.reduce((n, b) => n + b.body.length, 0) / blocks.length;
console.log(
  `${BLOCKS} native blocks of ${(avgBody / 1024).toFixed(1)} KiB on the wire (${OBJECT_KIB} KiB of transit objects each), ` +
    `${CLIENTS} concurrent clients, real PostgreSQL, ${ROUNDS} interleaved rounds (median shown), UV_THREADPOOL_SIZE=${THREADPOOL}`,
);
const variants: Variant[] = [
  { name: 'raw, durable: create-only file write + file and directory fsync, plain SQL insert', run: () => benchRaw(makeBlocks(), true), runs: [] },
  { name: 'raw, file fsync only (a crash may lose the file name)', run: () => benchRaw(makeBlocks(), false), runs: [] },
  { name: 'micromegas ingestion service, file:// store (HTTP, durable, create-only)', run: () => benchService(makeBlocks()), runs: [] },
  { name: 'micromegas ingestion service, memory:// store (HTTP, PostgreSQL only)', run: () => benchService(makeBlocks(), 'memory://'), runs: [] },
];
for (let round = 0; round < ROUNDS; round++) {
  for (const v of variants) {
    v.runs.push(await v.run());
    process.stderr.write(`round ${round + 1}: ${v.name}: ${(BLOCKS / v.runs.at(-1)!.seconds).toFixed(0)} blocks/s\n`);
  }
}
console.log('');
console.log('| path | blocks/s | p50 ms | p99 ms |');
console.log('|---|---:|---:|---:|');
for (const v of variants) {
  const r = median(v.runs);
  console.log(`| ${v.name} | ${(BLOCKS / r.seconds).toFixed(0)} | ${percentile(r.latenciesMs, 50).toFixed(1)} | ${percentile(r.latenciesMs, 99).toFixed(1)} |`);
}
const rate = (v: Variant) => BLOCKS / median(v.runs).seconds;
console.log('');
console.log(`service (file://) / raw durable: ${((rate(variants[2]!) / rate(variants[0]!)) * 100).toFixed(0)}%`);
console.log(`service (file://) / raw file fsync only: ${((rate(variants[2]!) / rate(variants[1]!)) * 100).toFixed(0)}%`);
