// The thin path end to end: `micromegas generate` (our producer, in its own process with worker
// threads) → HTTP → the ingestion service → PostgreSQL rows + file objects → every block decodes
// back into the events the generator recorded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openLake } from '@micromegas/lake';
import { createTestDatabase } from '@micromegas/lake/testing';
import { startIngestionServer } from '@micromegas/ingestion';
import { TransitObject, decodeBlockPayload, decodeTransitPayload, decodeUdtList } from '@micromegas/transit';

const BIN = fileURLToPath(new URL('../bin/micromegas.js', import.meta.url));

function run(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

test('generate → ingestion → lake: every block decodes into the recorded events', async () => {
  const db = await createTestDatabase('mm_e2e');
  const dir = await mkdtemp(join(tmpdir(), 'mm-e2e-'));
  const lake = await openLake({ connectionString: db.connectionString, objectStoreUri: `file://${join(dir, 'objects')}`, dataDir: dir });
  const server = await startIngestionServer({ lake, port: 0, log: () => {} });
  try {
    // Trace level, so that every log the generator counts is recorded.
    const result = await run(['generate', '--duration', '2', '--workers', '2', '--url', server.url], { ...process.env, MICROMEGAS_MAX_LEVEL: 'trace' });
    assert.equal(result.code, 0, result.stderr);
    const stats = JSON.parse(/generate: done: (.*)/.exec(result.stderr)![1]!) as { logs: number; metrics: number; spans: number };
    assert.ok(stats.logs > 0 && stats.metrics > 0 && stats.spans > 0, result.stderr);

    const processes = await lake.db.query<{ process_id: string; exe: string; props: string }>(
      `SELECT process_id::text, exe, array_to_json(properties)::text AS props FROM processes`,
    );
    assert.equal(processes.rows.length, 1);
    assert.match(processes.rows[0]!.props, /"app.name","value":"micromegas-generate"|micromegas-generate/);

    const streams = await lake.db.query<{ stream_id: string; tags: string[]; dependencies_metadata: Uint8Array; objects_metadata: Uint8Array; props: string }>(
      `SELECT stream_id::text, tags, dependencies_metadata, objects_metadata, array_to_json(properties)::text AS props FROM streams`,
    );
    const byTag = (tag: string) => streams.rows.filter((s) => s.tags.includes(tag));
    assert.ok(byTag('log').length >= 1 && byTag('metrics').length >= 1);
    assert.ok(byTag('cpu').length >= 3, 'a cpu stream for the main thread and each worker');

    const blocks = await lake.db.query<{ block_id: string; stream_id: string; process_id: string; nb_objects: number; payload_size: string }>(
      `SELECT block_id::text, stream_id::text, process_id::text, nb_objects, payload_size::text FROM blocks`,
    );
    assert.ok(blocks.rows.length >= streams.rows.length - 1);
    const counts = new Map<string, number>();
    const levels = new Set<number>();
    for (const b of blocks.rows) {
      const stream = streams.rows.find((s) => s.stream_id === b.stream_id);
      assert.ok(stream, `block ${b.block_id} has its stream`);
      const stored = await lake.blobs.get(`blobs/${b.process_id}/${b.stream_id}/${b.block_id}`);
      assert.ok(stored, 'the object exists');
      assert.equal(String(stored.length), b.payload_size);
      const decoded = decodeTransitPayload(
        { dependenciesMetadata: decodeUdtList(stream.dependencies_metadata), objectsMetadata: decodeUdtList(stream.objects_metadata) },
        decodeBlockPayload(stored),
      );
      assert.equal(decoded.objects.length, b.nb_objects);
      for (const o of decoded.objects) {
        assert.ok(o instanceof TransitObject);
        counts.set(o.typeName, (counts.get(o.typeName) ?? 0) + 1);
        const desc = o.get('desc');
        if (desc instanceof TransitObject && typeof desc.get('level') === 'number') levels.add(desc.get('level') as number);
      }
    }
    const sum = (...names: string[]) => names.reduce((n, k) => n + (counts.get(k) ?? 0), 0);
    const logEvents = sum('LogStaticStrEvent', 'LogStringEventV2', 'TaggedLogString', 'LogStringInteropEventV3');
    const metricEvents = sum('IntegerMetricEvent', 'FloatMetricEvent', 'TaggedIntegerMetricEvent', 'TaggedFloatMetricEvent');
    assert.equal(logEvents, stats.logs, `log events ${JSON.stringify([...counts])}`);
    assert.equal(metricEvents, stats.metrics, `metric events ${JSON.stringify([...counts])}`);
    assert.ok(sum('BeginThreadSpanEvent') > 0 && sum('BeginThreadSpanEvent') === sum('EndThreadSpanEvent'));
    assert.ok(sum('BeginAsyncSpanEvent', 'BeginAsyncNamedSpanEvent') > 0);
    assert.ok(levels.size >= 5, `several log levels: ${[...levels]}`);
  } finally {
    await server.close();
    await lake.close();
    await db.drop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('every command answers --help, and bad options get one clear line', async () => {
  const top = await run(['--help']);
  assert.equal(top.code, 0);
  for (const name of ['serve', 'ingestion', 'flightsql', 'daemon', 'migrate', 'generate']) {
    assert.match(top.stdout, new RegExp(`\\n  ${name} `));
    const help = await run([name, '--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, new RegExp(`^Usage: micromegas ${name} \\[options\\]`));
  }
  const bad = await run(['serve', '--no-such-flag']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^micromegas: .*no-such-flag.*\(see: micromegas serve --help\)\n$/);
  const unknown = await run(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command 'frobnicate'/);
  const noKeys = await run(['ingestion', '--listen', '0'], { ...process.env, MICROMEGAS_API_KEYS: '' });
  assert.equal(noKeys.code, 2);
  assert.match(noKeys.stderr, /no credentials configured/);
  const badUri = await run(['migrate', '--object-store-uri', 'gs://bucket'], { ...process.env });
  assert.equal(badUri.code, 2);
  assert.match(badUri.stderr, /unsupported scheme 'gs'/);
});
