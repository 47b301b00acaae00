// A benchmark lake: telemetry recorded by our tracing package (a few template processes: ~20 targets,
// 6 levels, messages with variable parts, 4 metrics, nested spans), replayed as many processes
// spread over a few hours, ingested through the ingestion service into PostgreSQL + a file:// store,
// then materialized into hour partitions of the global views.
//
// Replay, not re-recording: recording 10M events in real time would squeeze them into seconds of
// event time. Each copy of a template gets new process/stream/block ids, a start time of its own and
// a tsc frequency scaled so that its events spread over REPLAY_SPAN of event time (ticks unchanged,
// so the payloads are byte-identical to what the tracing package produced). After ingestion the
// blocks' insert_time is set to their end_time + 1 s, as if each had been sent when it closed:
// otherwise every block would carry the few minutes of the benchmark run as insert time and the
// global views' insert-time partitions would not follow event time the way a live lake's do.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as analytics from '@micromegas/analytics';
import { IngestionService } from '@micromegas/ingestion';
import { migrateDataLake, openDatabase, openObjectStore, type Lake } from '@micromegas/lake';
import { createTestDatabase, seededRandom } from '@micromegas/lake/testing';
import {
  Level, MemorySink, TSC_FREQUENCY, beginSpan, endSpan, initDispatch, logDescriptor, logWith, metricDescriptor, recordFloat, recordInt,
  shutdownDispatch, spanDescriptor, ticksNow, type FinishedBlock,
} from '@micromegas/tracing';
import { encodeBlock, encodeProcessInfo, encodeStreamInfo, type ProcessInfo, type StreamInfo } from '@micromegas/transit';

const NS = 1_000_000_000n;
const HOUR = 3600n * NS;
const REPLAY_SPAN = 40n * 60n * NS; // event time covered by one replayed process
const LAKE_SPAN = 4n * HOUR; // first process start → last process end

export interface LakeInfo {
  connectionString: string;
  storeDir: string;
  /** Event time covered by the lake. */
  begin: bigint;
  end: bigint;
  logEntries: number;
  measures: number;
  /** A replayed process and its thread stream, for view_instance('thread_spans', …). */
  spanProcess: { processId: string; streamId: string; begin: bigint; end: bigint };
}

export interface BenchLake {
  info: LakeInfo;
  lake: Lake;
  house: analytics.Lakehouse;
  close(): Promise<void>;
}

const TARGETS = [
  'api::http', 'api::auth', 'api::session', 'api::ratelimit', 'db::pool', 'db::query', 'db::migrate', 'cache::redis', 'cache::local',
  'queue::consumer', 'queue::producer', 'scheduler::cron', 'storage::s3', 'storage::disk', 'render::frame', 'render::shader',
  'net::tcp', 'net::dns', 'billing::invoice', 'search::index',
];
// [level, share of events, format]; formats have variable parts, as real logs do.
const SHAPES: [Level, number, string][] = [
  [Level.Fatal, 0.001, 'worker {} crashed: {}'],
  [Level.Error, 0.02, 'request {} failed with status {} after {} ms'],
  [Level.Error, 0.01, 'order {} could not be charged: {}'],
  [Level.Warn, 0.05, 'slow query on table {} took {} ms'],
  [Level.Info, 0.2, 'GET /api/v1/items/{} -> {} in {} ms'],
  [Level.Info, 0.2, 'order {} shipped to {}'],
  [Level.Debug, 0.18, 'cache miss for key {} (size {})'],
  [Level.Debug, 0.14, 'connection {} returned to pool {}'],
  [Level.Trace, 0.199, 'tick {} frame {} dt={}'],
];
const CITIES = ['Montreal', 'Lyon', 'Osaka', 'Lima', 'Nairobi', 'Oslo', 'Perth', 'Quito'];
const REASONS = ['card declined', 'timeout', 'insufficient funds', 'fraud suspected', 'connection reset'];


interface Template {
  process: ProcessInfo;
  streams: StreamInfo[];
  blocks: FinishedBlock[];
  /** Ticks from process start to the end of the last block. */
  spanTicks: bigint;
}

/** Records `events` log entries and `events` measures (and events/5 spans) in one template process. */
async function recordTemplate(exe: string, seed: number, events: number): Promise<Template> {
  const process: ProcessInfo = {
    processId: randomUUID(), exe, username: 'svc', realname: 'Service', computer: 'template', distro: 'linux', cpuBrand: 'bench',
    tscFrequency: TSC_FREQUENCY, startTime: new Date().toISOString(), startTicks: BigInt(ticksNow()), parentProcessId: null,
    properties: new Map([['version', '2.4.1'], ['region', 'ca-east']]),
  };
  const sink = new MemorySink();
  initDispatch({ sink, process, maxLevel: Level.Trace, backgroundCompression: false, logBufferBytes: 1 << 20, metricsBufferBytes: 1 << 20, threadBufferBytes: 1 << 20 });
  const rnd = seededRandom(seed);
  const sites = TARGETS.map((target) => SHAPES.map(([level, , fmt]) => logDescriptor(level, fmt, { target, file: `src/${target.replace('::', '/')}.ts`, line: 42 })));
  const cumulative: number[] = [];
  SHAPES.reduce((s, [, share], i) => (cumulative[i] = s + share), 0);
  const latency = metricDescriptor('request_latency', 'ms', { target: 'api::http' });
  const queue = metricDescriptor('queue_depth', 'count', { target: 'queue::consumer' });
  const cpu = metricDescriptor('cpu_usage', 'percent', { target: 'system' });
  const mem = metricDescriptor('memory_used', 'bytes', { target: 'system' });
  const request = spanDescriptor('handle_request', { target: 'api::http' });
  const dbSpan = spanDescriptor('db_query', { target: 'db::query' });
  try {
    for (let i = 0; i < events; i++) {
      const r = rnd();
      let shape = cumulative.findIndex((c) => r < c);
      if (shape < 0) shape = SHAPES.length - 1;
      const site = sites[Math.floor(rnd() * TARGETS.length)]![shape]!;
      const id = Math.floor(rnd() * 100_000);
      switch (shape) {
        case 0: logWith(site, id, 'segfault'); break;
        case 1: logWith(site, id, 500 + Math.floor(rnd() * 4), Math.floor(rnd() * 3000)); break;
        case 2: logWith(site, id, REASONS[id % REASONS.length]); break;
        case 3: logWith(site, `t_${id % 40}`, Math.floor(100 + rnd() * 5000)); break;
        case 4: logWith(site, id, 200, Math.floor(rnd() * 120)); break;
        case 5: logWith(site, id, CITIES[id % CITIES.length]); break;
        case 6: logWith(site, `k${id}`, Math.floor(rnd() * 65536)); break;
        case 7: logWith(site, id % 512, `pool-${id % 4}`); break;
        default: logWith(site, i, id, (rnd() * 16).toFixed(3));
      }
      switch (i & 3) {
        case 0: recordFloat(latency, 2 + 400 * rnd() ** 4); break;
        case 1: recordInt(queue, Math.floor(rnd() * 64)); break;
        case 2: recordFloat(cpu, 100 * rnd()); break;
        default: recordInt(mem, 1_000_000_000 + Math.floor(rnd() * 5e8));
      }
      if (i % 10 === 0) {
        beginSpan(request);
        beginSpan(dbSpan);
        endSpan(dbSpan);
        endSpan(request);
      }
    }
  } finally {
    await shutdownDispatch();
  }
  const spanTicks = sink.blocks.reduce((m, b) => (b.block.endTicks > m ? b.block.endTicks : m), 1n);
  return { process, streams: sink.streams.map((s) => s.stream), blocks: sink.blocks, spanTicks };
}

/** Sends one replay of a template as a new process starting at `startNs`. */
async function ingestCopy(service: IngestionService, t: Template, startNs: bigint, computer: string): Promise<{ processId: string; cpuStream?: string }> {
  // Ticks stay as recorded; the frequency makes spanTicks last REPLAY_SPAN.
  const freq = (t.spanTicks * NS) / REPLAY_SPAN || 1n;
  const process: ProcessInfo = { ...t.process, processId: randomUUID(), computer, startTime: analytics.formatTimestampNanos(startNs), tscFrequency: freq };
  const at = (ticks: bigint) => analytics.formatTimestampNanos(startNs + (ticks * NS) / freq);
  const streamIds = new Map<string, string>();
  await service.insertProcess(encodeProcessInfo(process));
  let cpuStream: string | undefined;
  for (const s of t.streams) {
    const streamId = randomUUID();
    streamIds.set(s.streamId, streamId);
    if (s.tags.includes('cpu')) cpuStream = streamId;
    await service.insertStream(encodeStreamInfo({ ...s, streamId, processId: process.processId }));
  }
  const pending: Promise<unknown>[] = [];
  for (const { block: e } of t.blocks) {
    const copy = { ...e, blockId: randomUUID(), streamId: streamIds.get(e.streamId)!, processId: process.processId, beginTime: at(e.beginTicks), endTime: at(e.endTicks) };
    pending.push(service.insertBlock(encodeBlock(copy)));
    if (pending.length >= 8) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  return { processId: process.processId, cpuStream };
}

async function openLake(connectionString: string, storeDir: string): Promise<Lake> {
  const db = await openDatabase({ connectionString, dataDir: '' });
  await migrateDataLake(db);
  const uri = pathToFileURL(storeDir).href;
  const blobs = openObjectStore(uri);
  return {
    config: { connectionString, dataDir: '', objectStoreUri: uri },
    db,
    blobs,
    async close() {
      await db.close();
      await blobs.close();
    },
  };
}

const say = (m: string) => console.error(`[lake] ${m}`);

/**
 * Opens the lake kept in `keepDir` (lake.json) or builds one of `events` log entries and as many
 * measures. Without keepDir the database is dropped on close (the caller removes `dir`).
 */
export async function openBenchLake(dir: string, events: number, keep: boolean): Promise<BenchLake> {
  const infoPath = join(dir, 'lake.json');
  if (keep && existsSync(infoPath)) {
    const raw = JSON.parse(await readFile(infoPath, 'utf8')) as Record<string, unknown>;
    const info = JSON.parse(JSON.stringify(raw), (k, v) => (['begin', 'end'].includes(k) ? BigInt(v as string) : v)) as LakeInfo;
    if (info.logEntries >= events) {
      say(`reusing ${infoPath} (${info.logEntries} log entries, ${info.measures} measures)`);
      const lake = await openLake(info.connectionString, info.storeDir);
      const house = await analytics.openLakehouse(lake, { log: () => {} });
      return { info, lake, house, close: async () => { await house.close(); await lake.close(); } };
    }
    say(`${infoPath} holds a smaller lake; building a new one`);
  }
  const db = await createTestDatabase('mm_querybench');
  const storeDir = join(dir, 'objects');
  await mkdir(storeDir, { recursive: true });
  const lake = await openLake(db.connectionString, storeDir);
  const house = await analytics.openLakehouse(lake, { log: (level, m) => (level === 'error' ? say(m) : undefined) });

  const templateCount = 4;
  const perTemplate = Math.min(250_000, Math.ceil(events / templateCount));
  const copies = Math.ceil(events / (perTemplate * templateCount));
  let t0 = performance.now();
  const templates: Template[] = [];
  for (const [i, exe] of ['api-server', 'worker', 'scheduler', 'gateway'].entries()) templates.push(await recordTemplate(exe, 17 + i, perTemplate));
  say(`recorded ${templateCount} templates × ${perTemplate} log entries + measures in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  t0 = performance.now();
  const service = new IngestionService(lake);
  const lakeEnd = (BigInt(Date.now()) * 1_000_000n / HOUR) * HOUR - 10n * 60n * NS; // past, so every hour is closed
  const lakeBegin = lakeEnd - LAKE_SPAN;
  const n = copies * templateCount;
  let spanProcess: LakeInfo['spanProcess'] | undefined;
  for (let k = 0; k < n; k++) {
    const start = lakeBegin + ((LAKE_SPAN - REPLAY_SPAN) * BigInt(k)) / BigInt(Math.max(1, n - 1));
    const { processId, cpuStream } = await ingestCopy(service, templates[k % templateCount]!, start, `host-${String(k).padStart(3, '0')}`);
    if (k === n - 1 && cpuStream) spanProcess = { processId, streamId: cpuStream, begin: start, end: start + REPLAY_SPAN };
  }
  await db_fixInsertTimes(lake);
  say(`ingested ${n} processes (${n * perTemplate} log entries, as many measures) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  t0 = performance.now();
  const { rows } = await lake.db.query<{ lo: string; hi: string }>('SELECT min(insert_time) AS lo, max(insert_time) AS hi FROM blocks');
  const begin = (analytics.parseTimestampNanos(rows[0]!.lo) / HOUR) * HOUR;
  const end = (analytics.parseTimestampNanos(rows[0]!.hi) / HOUR + 1n) * HOUR;
  await analytics.materializeGlobalViews(house, analytics.DEFAULT_GLOBAL_VIEWS, begin, end, HOUR);
  say(`materialized the global views (hour partitions) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  t0 = performance.now();
  const view = await analytics.makeJitView(house, 'thread_spans', spanProcess!.streamId);
  await analytics.jitUpdate(house, view, { begin: spanProcess!.begin, end: spanProcess!.end });
  say(`JIT thread_spans of one process in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const info: LakeInfo = {
    connectionString: db.connectionString, storeDir, begin: lakeBegin, end: lakeEnd,
    logEntries: n * perTemplate, measures: n * perTemplate, spanProcess: spanProcess!,
  };
  if (keep) await writeFile(infoPath, JSON.stringify(info, (_, v) => (typeof v === 'bigint' ? String(v) : v), 2));
  return {
    info, lake, house,
    async close() {
      await house.close();
      await lake.close();
      if (!keep) await db.drop();
    },
  };
}

/** As if every block had been sent when it closed (see the header comment). */
async function db_fixInsertTimes(lake: Lake): Promise<void> {
  await lake.db.query(`UPDATE blocks SET insert_time = end_time + interval '1 second'`);
  await lake.db.query(`UPDATE processes SET insert_time = start_time`);
  await lake.db.query(`UPDATE streams s SET insert_time = p.start_time FROM processes p WHERE p.process_id = s.process_id`);
}
