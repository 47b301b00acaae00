import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { fmetric, imetric, info, spanScope, warn } from '@micromegas/tracing';
import {
  DEFAULT_GLOBAL_VIEWS, LOG_ENTRIES_SCHEMA_HASH, MEASURES_SCHEMA_HASH, jitUpdate, listPartitions, makeJitView, materializeGlobalViews, retirePartitions,
  openLakehouse, queryView, type Lakehouse,
} from '../src/index.ts';
import { NS_PER_MINUTE, NS_PER_SECOND } from '../src/lakehouse/view.ts';
import { parseTimestampNanos } from '../src/time.ts';
import { ingest, openTestLake, record, type TestLake } from './fixtures.ts';

const trunc = (t: bigint, d: bigint) => t - (t % d);

async function insertRange(lake: TestLake): Promise<{ begin: bigint; end: bigint }> {
  const { rows } = await lake.db.query<{ lo: string; hi: string }>('SELECT min(insert_time) AS lo, max(insert_time) AS hi FROM blocks');
  return { begin: trunc(parseTimestampNanos(rows[0]!.lo), NS_PER_SECOND), end: trunc(parseTimestampNanos(rows[0]!.hi), NS_PER_SECOND) + NS_PER_SECOND };
}

const global = (setName: string, schemaHash: Uint8Array) => ({ setName, instanceId: 'global', schemaHash });

for (const kind of ['postgres', 'pglite'] as const) {
  describe(`lakehouse on ${kind}`, () => {
    let lake: TestLake;
    let house: Lakehouse;
    let dir: string;
    let processId: string;
    const logs: string[] = [];

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'mm-lakehouse-'));
      lake = await openTestLake(kind, pathToFileURL(dir).href);
      house = await openLakehouse(lake, { log: (level, m) => logs.push(`${level}: ${m}`) });
      const sink = await record(() => {
        for (let i = 0; i < 500; i++) {
          info('event {}', i);
          imetric('requests', 'count', i);
          if (i % 100 === 0) warn('warning number {}', i / 100);
          spanScope('outer', () => spanScope('inner', () => fmetric('ratio', 'percent', i / 5)));
        }
      });
      processId = sink.process!.processId;
      await ingest(lake, sink);
    });
    after(async () => {
      await house.close();
      await lake.drop();
      await rm(dir, { recursive: true, force: true });
    });

    test('global views materialize every block, event and process; merges keep them', async () => {
      const { begin, end } = await insertRange(lake);
      const first = await materializeGlobalViews(house, DEFAULT_GLOBAL_VIEWS, begin, end, NS_PER_SECOND);
      assert.ok(first.log_entries!.created >= 1, JSON.stringify(first));
      const count = async (set: string, hash: Uint8Array) => Number((await queryView(house, global(set, hash), (s) => `SELECT count(*) AS n FROM ${s}`))[0]?.n ?? 0);
      assert.equal(await count('log_entries', LOG_ENTRIES_SCHEMA_HASH), 505);
      assert.equal(await count('measures', MEASURES_SCHEMA_HASH), 1000);
      const { rows: blockRows } = await lake.db.query<{ n: string }>('SELECT count(*)::text AS n FROM blocks');
      assert.equal(await count('blocks', Uint8Array.of(3)), Number(blockRows[0]!.n));
      const processes = await queryView(house, global('processes', Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 1)), (s) => `SELECT process_id, exe FROM ${s}`);
      assert.deepEqual(processes.map((r) => r.process_id), [processId]);
      const stats = await queryView(house, global('log_stats', Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 3)), (s) => `SELECT level, sum(count)::INTEGER AS n FROM ${s} GROUP BY level ORDER BY level`);
      assert.deepEqual(stats.map((r) => [r.level, r.n]), [[3, 5], [4, 500]]);
      const warnings = await queryView(house, global('log_entries', LOG_ENTRIES_SCHEMA_HASH), (s) => `SELECT msg FROM ${s} WHERE level = 3 ORDER BY time`);
      assert.deepEqual(warnings.map((r) => r.msg), [0, 1, 2, 3, 4].map((i) => `warning number ${i}`));

      // A second pass finds everything up to date; a minute pass merges the second partitions.
      const again = await materializeGlobalViews(house, DEFAULT_GLOBAL_VIEWS, begin, end, NS_PER_SECOND);
      for (const [view, s] of Object.entries(again)) assert.equal(s.created + s.merged, 0, `${view} rebuilt: ${JSON.stringify(s)}`);
      // As the daemon does: every second of the minute first (empty ones recorded as empty), then the minute.
      const mBegin = trunc(begin, NS_PER_MINUTE);
      const mEnd = trunc(end - 1n, NS_PER_MINUTE) + NS_PER_MINUTE;
      await materializeGlobalViews(house, DEFAULT_GLOBAL_VIEWS, mBegin, mEnd, NS_PER_SECOND);
      const merged = await materializeGlobalViews(house, DEFAULT_GLOBAL_VIEWS, mBegin, mEnd, NS_PER_MINUTE);
      assert.ok(merged.log_entries!.merged >= 1, JSON.stringify(merged));
      const parts = await listPartitions(lake.db, 'log_entries', 'global');
      assert.ok(parts.every((p) => p.endInsertTime - p.beginInsertTime === NS_PER_MINUTE), 'merged into minute partitions');
      assert.equal(await count('log_entries', LOG_ENTRIES_SCHEMA_HASH), 505);
      assert.equal(await count('measures', MEASURES_SCHEMA_HASH), 1000);
      assert.deepEqual(logs.filter((l) => l.startsWith('error')), []);
    });

    test('per-process JIT views materialize on demand and only once', async () => {
      const range = { begin: 0n, end: BigInt(Date.now() + 60_000) * 1_000_000n };
      const view = await makeJitView(house, 'log_entries', processId);
      const first = await jitUpdate(house, view, range);
      assert.ok(first.written >= 1);
      const second = await jitUpdate(house, view, range);
      assert.equal(second.written, 0);
      const rows = await queryView(house, view, (s) => `SELECT count(*) AS n, count(DISTINCT block_id) AS blocks FROM ${s}`);
      assert.equal(Number(rows[0]!.n), 505);
      const measures = await makeJitView(house, 'measures', processId);
      await jitUpdate(house, measures, range);
      const m = await queryView(house, measures, (s) => `SELECT name, count(*) AS n, sum(value) AS total FROM ${s} GROUP BY name ORDER BY name`);
      assert.deepEqual(m.map((r) => [r.name, Number(r.n)]), [['ratio', 500], ['requests', 500]]);
      assert.equal(m[1]!.total, (499 * 500) / 2);
    });

    test('thread spans and async events of a process are materialized per stream / process', async () => {
      const range = { begin: 0n, end: BigInt(Date.now() + 60_000) * 1_000_000n };
      const { rows } = await lake.db.query<{ stream_id: string }>(`SELECT stream_id::text FROM streams WHERE 'cpu' = ANY(tags)`);
      const spans = await makeJitView(house, 'thread_spans', rows[0]!.stream_id);
      await jitUpdate(house, spans, range);
      const byName = await queryView(house, spans, (s) => `SELECT name, depth, count(*) AS n FROM ${s} GROUP BY name, depth ORDER BY depth, name`);
      assert.deepEqual(byName.slice(1).map((r) => [r.name, r.depth, Number(r.n)]), [['outer', 1, 500], ['inner', 2, 500]]);
      await assert.rejects(() => makeJitView(house, 'thread_spans', 'global'), /global/);
      await assert.rejects(() => makeJitView(house, 'nope', processId), /not found/);
    });
  });
}

describe('crash safety (real PostgreSQL, separate processes)', () => {
  test('killing a materializing process leaves no overlapping or missing partition; the next pass repairs', async () => {
    const { spawn } = await import('node:child_process');
    const dir = await mkdtemp(join(tmpdir(), 'mm-crash-'));
    const lake = await openTestLake('postgres', pathToFileURL(dir).href);
    const house = await openLakehouse(lake, { log: () => {} });
    try {
      const sink = await record(() => {
        for (let i = 0; i < 20_000; i++) info('crash test {}', i);
      });
      await ingest(lake, sink);
      const processId = sink.process!.processId;
      const { begin, end } = await insertRange(lake);
      const url = (lake.config.connectionString ?? '') as string;
      for (let round = 0; round < 4; round++) {
        const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'crash_child.ts'), url, lake.blobs.uri, String(begin), String(end), processId], { stdio: ['ignore', 'pipe', 'inherit'] });
        // Kill in the middle of a later round: after a first full round (so that it has replaced
        // partitions), at a different point of the next one each time.
        await new Promise<void>((resolve) => {
          let seen = '';
          child.stdout!.on('data', (d: Buffer) => {
            seen += d.toString();
            if (seen.includes('round')) resolve();
          });
        });
        await new Promise((r) => setTimeout(r, 40 + round * 110));
        child.kill('SIGKILL');
        await new Promise((r) => child.once('exit', r));
      }
      // The children did replace partitions before being killed (their files await deletion).
      const { rows: retired } = await lake.db.query<{ n: string }>('SELECT count(*)::text AS n FROM temporary_files');
      assert.ok(Number(retired[0]!.n) > 0, 'the killed processes were materializing');
      // Whatever the kill interrupted, the catalog has no overlapping partitions of one instance.
      const { rows: overlaps } = await lake.db.query(
        `SELECT a.view_set_name, a.view_instance_id FROM lakehouse_partitions a JOIN lakehouse_partitions b
         ON a.view_set_name = b.view_set_name AND a.view_instance_id = b.view_instance_id AND a.file_schema_hash = b.file_schema_hash
         AND a.ctid < b.ctid
         WHERE (a.begin_insert_time < b.end_insert_time AND b.begin_insert_time < a.end_insert_time)
            OR (a.begin_insert_time = b.begin_insert_time AND a.end_insert_time = b.end_insert_time)`,
      );
      assert.deepEqual(overlaps, []);
      // The next pass repairs whatever is missing, and every event is there exactly once.
      await materializeGlobalViews(house, DEFAULT_GLOBAL_VIEWS, begin, end, NS_PER_SECOND);
      const view = await makeJitView(house, 'log_entries', processId);
      await jitUpdate(house, view, { begin: 0n, end: end + 3600n * NS_PER_SECOND });
      for (const v of [global('log_entries', LOG_ENTRIES_SCHEMA_HASH), view]) {
        const [r] = await queryView(house, v, (s) => `SELECT count(*) AS n, count(DISTINCT msg) AS d FROM ${s}`);
        assert.equal(Number(r!.n), 20_000, `${v.instanceId} rows`);
        assert.equal(Number(r!.d), 20_000, `${v.instanceId} distinct messages`);
      }
    } finally {
      await house.close();
      await lake.drop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('concurrent just-in-time materialization (real PostgreSQL, two servers)', () => {
  test('two servers materializing the same instance at once leave one partition per range', async (t) => {
    const { openDatabase } = await import('@micromegas/lake');
    const lake = await openTestLake('postgres');
    const other = await openDatabase({ connectionString: lake.config.connectionString!, dataDir: '' });
    const houseA = await openLakehouse(lake, { log: () => {} });
    const houseB = await openLakehouse({ db: other, blobs: lake.blobs }, { log: () => {}, migrate: false });
    try {
      const sink = await record(() => {
        for (let i = 0; i < 3000; i++) info('concurrent {}', i);
      });
      await ingest(lake, sink);
      const id = sink.process!.processId;
      const range = { begin: 0n, end: BigInt(Date.now() + 60_000) * 1_000_000n };
      const small = { maxObjects: 400, maxInsertSlice: 3600n * NS_PER_SECOND };
      // Several rounds, each starting from nothing, so that the two servers really race on some.
      let raced = 0;
      for (let round = 0; round < 5; round++) {
        await retirePartitions(lake.db, 'log_entries', id, 0n, range.end);
        const [a, b] = await Promise.all([
          (async () => jitUpdate(houseA, await makeJitView(houseA, 'log_entries', id), range, small))(),
          (async () => jitUpdate(houseB, await makeJitView(houseB, 'log_entries', id), range, small))(),
        ]);
        assert.ok(a.written + b.written >= 1, JSON.stringify({ a, b }));
        if (a.written > 0 && b.written > 0) raced++;
        const parts = await listPartitions(lake.db, 'log_entries', id);
        const ranges = parts.map((p) => `${p.beginInsertTime}-${p.endInsertTime}`);
        assert.equal(new Set(ranges).size, ranges.length, 'one partition per insert range');
      }
      t.diagnostic(`rounds where both servers wrote: ${raced} of 5`);
      const view = await makeJitView(houseA, 'log_entries', id);
      const [r] = await queryView(houseA, view, (s) => `SELECT count(*) AS n, count(DISTINCT msg) AS d FROM ${s}`);
      assert.equal(Number(r!.n), 3000);
      assert.equal(Number(r!.d), 3000);
    } finally {
      await houseA.close();
      await houseB.close();
      await other.close();
      await lake.drop();
    }
  });
});
