// A FlightSQL server over a real lake (PostgreSQL + memory object store) holding logs of one
// process recorded by our tracing package and ingested by our ingestion service.
import { randomUUID } from 'node:crypto';
import * as analytics from '@micromegas/analytics';
import { startFlightSqlServer, makeBulkIngest, type FlightSqlServer } from '@micromegas/flightsql';
import { ingestRecorded } from '@micromegas/ingestion/testing';
import { migrateDataLake, openDatabase, openObjectStore, type Lake } from '@micromegas/lake';
import { createTestDatabase, freePort } from '@micromegas/lake/testing';
import { MemorySink, TSC_FREQUENCY, info, initDispatch, shutdownDispatch, ticksNow, warn } from '@micromegas/tracing';

export const USER_KEY = 'user-key-0123456789';
export const ADMIN_KEY = 'admin-key-0123456789';
const NS = 1_000_000_000n;

export interface LakeServer {
  server: FlightSqlServer;
  lake: Lake;
  processId: string;
  /** Insert-time bounds of the blocks, rounded out to whole seconds (ns). */
  begin: bigint;
  end: bigint;
  logs: string[];
  close(): Promise<void>;
}

/** 50 log entries (every tenth a warning) of one process, materialized in the global views. */
export async function startLakeServer(): Promise<LakeServer> {
  const t = await createTestDatabase('mm_client');
  const db = await openDatabase({ connectionString: t.connectionString, dataDir: '' });
  await migrateDataLake(db);
  const uri = `memory://${randomUUID()}`;
  const blobs = openObjectStore(uri);
  const lake: Lake = { config: { connectionString: t.connectionString, dataDir: ':memory:', objectStoreUri: uri }, db, blobs, close: async () => {} };
  const house = await analytics.openLakehouse(lake, { log: () => {} });
  const sink = new MemorySink();
  const processId = randomUUID();
  initDispatch({
    sink,
    backgroundCompression: false,
    process: {
      processId, exe: 'client-test', username: 'tester', realname: 'Tester', computer: 'box', distro: 'linux', cpuBrand: 'cpu',
      tscFrequency: TSC_FREQUENCY, startTime: new Date().toISOString(), startTicks: BigInt(ticksNow()), parentProcessId: null, properties: new Map([['role', 'test']]),
    },
  });
  try {
    for (let i = 0; i < 50; i++) (i % 10 === 0 ? warn : info)('event {}', i);
  } finally {
    await shutdownDispatch();
  }
  await ingestRecorded(lake, sink);
  const { rows } = await db.query<{ lo: string; hi: string }>('SELECT min(insert_time) AS lo, max(insert_time) AS hi FROM blocks');
  const begin = (analytics.parseTimestampNanos(rows[0]!.lo) / NS) * NS;
  const end = (analytics.parseTimestampNanos(rows[0]!.hi) / NS) * NS + NS;
  await analytics.materializeGlobalViews(house, analytics.DEFAULT_GLOBAL_VIEWS, begin, end, NS);
  const engine = new analytics.LakehouseQueryEngine(house, { threads: 1, memoryLimit: '256MB' });
  const logs: string[] = [];
  const server = await startFlightSqlServer({
    engine,
    host: '127.0.0.1',
    port: await freePort(),
    keyring: { authenticate: (h) => (h === `Bearer ${USER_KEY}` ? 'user' : undefined) },
    verify: (h) => (h === `Bearer ${ADMIN_KEY}` ? { name: 'admin', admin: true } : undefined),
    bulkIngest: makeBulkIngest(lake),
    log: (line) => logs.push(line),
  });
  return {
    server, lake, processId, begin, end, logs,
    async close() {
      await server.close();
      await engine.close();
      await house.close();
      await db.close();
      await blobs.close();
      await t.drop();
    },
  };
}
