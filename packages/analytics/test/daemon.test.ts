import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { info, imetric } from '@micromegas/tracing';
import {
  DEFAULT_GLOBAL_VIEWS, LOG_ENTRIES_SCHEMA_HASH, MEASURES_SCHEMA_HASH, MaintenanceDaemon, materializeGlobalViews, openLakehouse, queryView, type GlobalView,
} from '../src/index.ts';
import { NS_PER_SECOND } from '../src/lakehouse/view.ts';
import { ingest, openTestLake, record } from './fixtures.ts';

const global = (setName: string, schemaHash: Uint8Array) => ({ setName, instanceId: 'global', schemaHash });

test('the daemon makes ingested blocks queryable in the global views within 3 seconds', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mm-daemon-'));
  const lake = await openTestLake('pglite', pathToFileURL(dir).href);
  const errors: string[] = [];
  const house = await openLakehouse(lake, { log: (level, m) => level === 'error' && errors.push(m) });
  const daemon = new MaintenanceDaemon(house);
  daemon.start();
  try {
    const sink = await record(() => {
      for (let i = 0; i < 200; i++) {
        info('fresh {}', i);
        imetric('fresh_metric', 'count', i);
      }
    });
    // Let the first passes run so that the measurement is of steady state, not of start-up.
    await new Promise((r) => setTimeout(r, 1200));
    await ingest(lake, sink);
    const ingested = performance.now();
    let logs = 0;
    let measures = 0;
    while (performance.now() - ingested < 6000 && (logs < 200 || measures < 200)) {
      await new Promise((r) => setTimeout(r, 100));
      logs = Number((await queryView(house, global('log_entries', LOG_ENTRIES_SCHEMA_HASH), (s) => `SELECT count(*) AS n FROM ${s}`))[0]?.n ?? 0);
      measures = Number((await queryView(house, global('measures', MEASURES_SCHEMA_HASH), (s) => `SELECT count(*) AS n FROM ${s}`))[0]?.n ?? 0);
    }
    const latency = performance.now() - ingested;
    assert.equal(logs, 200);
    assert.equal(measures, 200);
    t.diagnostic(`caught up ${latency.toFixed(0)} ms after ingestion`);
    assert.ok(latency < 3000, `global views caught up ${latency.toFixed(0)} ms after ingestion`);
    assert.deepEqual(errors, []);
    assert.ok(daemon.counters.passes > 0);
  } finally {
    await daemon.stop();
    await house.close();
    await lake.drop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a failing view does not stop the others and is counted', async () => {
  const lake = await openTestLake('pglite');
  const messages: string[] = [];
  const house = await openLakehouse(lake, { log: (level, m) => messages.push(`${level}: ${m}`) });
  try {
    await ingest(lake, await record(() => info('still here')));
    const broken: GlobalView = { ...DEFAULT_GLOBAL_VIEWS[0]!, setName: 'broken', updateGroup: 1500, sourceCount: async () => { throw new Error('source unreachable'); } };
    const counters = { passes: 0, viewFailures: new Map<string, number>(), lastPass: {} };
    const { rows } = await lake.db.query<{ t: string }>('SELECT max(insert_time) AS t FROM blocks');
    const t = BigInt(Date.parse(rows[0]!.t)) * 1_000_000n;
    const begin = t - (t % NS_PER_SECOND);
    await materializeGlobalViews(house, [broken, ...DEFAULT_GLOBAL_VIEWS], begin, begin + NS_PER_SECOND, NS_PER_SECOND, counters);
    assert.equal(counters.viewFailures.get('broken'), 1);
    assert.ok(messages.some((m) => m.startsWith('error: materialize broken') && m.includes('source unreachable')));
    const [r] = await queryView(house, global('log_entries', LOG_ENTRIES_SCHEMA_HASH), (s) => `SELECT msg FROM ${s}`);
    assert.equal(r?.msg, 'still here');
  } finally {
    await house.close();
    await lake.drop();
  }
});
