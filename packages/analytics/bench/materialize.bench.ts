// Events per second per core decoded from transit blocks and written to Parquet, for log, metrics
// and thread-span blocks, side by side with only decompressing the same blocks (the floor), plus the
// lake's bytes per event (raw blocks, Parquet). Single-threaded: one core.
// Run: npm run bench (in packages/analytics); `--quick` for a short run.
import { cpus } from 'node:os';
import { randomUUID } from 'node:crypto';
import { TSC_FREQUENCY, beginSpan, endSpan, fmetric, imetric, info, spanDescriptor, ticksNow, warn } from '@micromegas/tracing';
import { decompressLz4Frame, encodeBlockPayload, parseDependencies } from '@micromegas/transit';
import { LogEntriesBuilder, PayloadScratch, decompressPayload, MeasuresBuilder, buildThreadSpansFromBuffers, encodeParquet, logEntriesSchema, makeTimeConverter, measuresSchema, threadSpansSchema } from '../src/index.ts';
import { recordBlocks, timeIt, type RecordedBlock } from './recorded_blocks.ts';

const quick = process.argv.includes('--quick');
const N = quick ? 300_000 : 2_000_000;
const ROUNDS = quick ? 3 : 5;

const process0 = {
  processId: randomUUID(), exe: 'bench', username: 'bench', realname: 'bench', computer: 'bench', distro: 'bench',
  cpuBrand: cpus()[0]?.model ?? '', tscFrequency: TSC_FREQUENCY, startTime: new Date().toISOString(), startTicks: BigInt(ticksNow()),
  parentProcessId: null, properties: new Map([['version', '1.2.3']]),
};

const targets = ['http', 'db', 'cache', 'auth'];
const spanA = spanDescriptor('handle_request');
const spanB = spanDescriptor('query_db');

console.error(`recording ${N} log events, ${N} metrics, ${N / 2} spans (2 events each)...`);
const blocks = await recordBlocks(process0, () => {
  for (let i = 0; i < N; i++) {
    if (i % 2 === 0) info('request served');
    else warn('user {} got {} items', targets[i & 3], i);
    if (i % 2 === 0) imetric('requests', 'count', i);
    else fmetric('latency', 'ms', i / 7);
    if (i % 2 === 0) {
      beginSpan(spanA);
      beginSpan(spanB);
      endSpan(spanB);
      endSpan(spanA);
    }
  }
});

// Both paths decompress into reusable buffers, as the lakehouse does (fresh memory is expensive here).
function decompressOnly(list: RecordedBlock[]): number {
  const scratch = new PayloadScratch();
  let bytes = 0;
  for (const { ctx, envelope } of list) {
    const b = decompressPayload(ctx.block, envelope.payload, scratch);
    bytes += b.dependencies.length + b.objects.length;
  }
  return bytes;
}

function eventRows(kind: 'log' | 'metrics', list: RecordedBlock[]): number {
  const builder = kind === 'log' ? new LogEntriesBuilder() : new MeasuresBuilder();
  builder.reserveRows(list.reduce((n, b) => n + b.ctx.block.nbObjects, 0));
  const scratch = new PayloadScratch();
  for (const { ctx, envelope } of list) {
    const buffers = decompressPayload(ctx.block, envelope.payload, scratch);
    const deps = parseDependencies(ctx.stream.dependenciesMetadata, buffers.dependencies);
    builder.addBlock(ctx, buffers, deps, makeTimeConverter(ctx.process, ctx.block.endTicks, ctx.block.endTimeNs));
  }
  const built = builder.finish();
  const bytes = encodeParquet(kind === 'log' ? logEntriesSchema : measuresSchema, [built.batch]).length;
  built.release();
  return bytes;
}

function spanRows(list: RecordedBlock[]): number {
  const ctx0 = list[0]!.ctx;
  const convert = makeTimeConverter(ctx0.process, list[list.length - 1]!.ctx.block.endTicks, list[list.length - 1]!.ctx.block.endTimeNs);
  const decoded = list.map(({ ctx, envelope }) => {
    const dependencies = decompressLz4Frame(envelope.payload.dependencies);
    return { block: ctx.block, objects: decompressLz4Frame(envelope.payload.objects), dependencies: parseDependencies(ctx.stream.dependenciesMetadata, dependencies) };
  });
  const out = buildThreadSpansFromBuffers({ stream: ctx0.stream, convert, blocks: decoded });
  return encodeParquet(threadSpansSchema, [out.batch]).length;
}


const rows: string[] = [];
const fmt = (x: number) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : `${(x / 1e3).toFixed(0)} k`);
for (const [kind, label] of [['log', 'log_entries'], ['metrics', 'measures'], ['cpu', 'thread_spans']] as const) {
  const list = blocks.get(kind) ?? [];
  const events = list.reduce((s, b) => s + b.ctx.block.nbObjects, 0);
  const rawBytes = list.reduce((s, b) => s + encodeBlockPayload(b.envelope.payload).length, 0);
  const floor = timeIt(() => decompressOnly(list), ROUNDS);
  const full = timeIt(() => (kind === 'cpu' ? spanRows(list) : eventRows(kind, list)), ROUNDS);
  const floorRate = events / floor.seconds;
  const fullRate = events / full.seconds;
  rows.push(
    `| ${label} | ${list.length} | ${events} | ${fmt(floorRate)}/s | ${fmt(fullRate)}/s | ${(floorRate / fullRate).toFixed(1)}× | ${(rawBytes / events).toFixed(1)} | ${(full.result / events).toFixed(1)} |`,
  );
  console.error(rows[rows.length - 1]);
}

console.log(`\nAnalytics materialization, ${cpus()[0]?.model ?? 'unknown CPU'}, node ${process.version}, one thread, median of ${ROUNDS}`);
console.log('| view | blocks | events | decompress only | decode + Parquet | ratio | raw bytes/event | Parquet bytes/event |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
