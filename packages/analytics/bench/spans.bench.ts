// thread_spans events per second, generic (decodeTransitPayload → TransitObject trees) against the
// buffer fast path (decompress, parse dependencies, read events at metadata offsets), both from the
// compressed blocks to the arrow batch; Parquet excluded. One thread.
// Run: node --expose-gc --import tsx packages/analytics/bench/spans.bench.ts [--quick]
import { cpus } from 'node:os';
import { randomUUID } from 'node:crypto';
import { TSC_FREQUENCY, beginSpan, endSpan, namedSpanScope, spanDescriptor, spanScope, ticksNow } from '@micromegas/tracing';
import { decodeTransitPayload, decompressLz4Frame, parseDependencies } from '@micromegas/transit';
import { buildThreadSpans, buildThreadSpansFromBuffers, makeTimeConverter } from '../src/index.ts';
import { recordBlocks, timeIt, type RecordedBlock } from './recorded_blocks.ts';

const quick = process.argv.includes('--quick');
const ITERATIONS = quick ? 50_000 : 250_000; // 4 span events each
const ROUNDS = quick ? 3 : 5;

const process0 = {
  processId: randomUUID(), exe: 'bench', username: 'bench', realname: 'bench', computer: 'bench', distro: 'bench',
  cpuBrand: cpus()[0]?.model ?? '', tscFrequency: TSC_FREQUENCY, startTime: new Date().toISOString(), startTicks: BigInt(ticksNow()),
  parentProcessId: null, properties: new Map<string, string>(),
};

const outer = spanDescriptor('handle_request');
const inner = spanDescriptor('query_db');
const noop = () => undefined;
console.error(`recording ${ITERATIONS * 4} thread span events (1 in 8 named)...`);
const recorded = await recordBlocks(process0, () => {
  for (let i = 0; i < ITERATIONS; i++) {
    beginSpan(outer);
    if (i % 4 === 0) namedSpanScope(`job-${i & 7}`, noop);
    else spanScope(inner, noop);
    endSpan(outer);
  }
});
const blocks: RecordedBlock[] = recorded.get('cpu') ?? [];
const stream = blocks[0]!.ctx.stream;
const last = blocks[blocks.length - 1]!.ctx.block;
const convert = makeTimeConverter(blocks[0]!.ctx.process, last.endTicks, last.endTimeNs);
const events = blocks.reduce((n, b) => n + b.ctx.block.nbObjects, 0);

function decompressOnly(): number {
  let bytes = 0;
  for (const { envelope } of blocks) bytes += decompressLz4Frame(envelope.payload.dependencies).length + decompressLz4Frame(envelope.payload.objects).length;
  return bytes;
}

function generic(): number {
  const decoded = blocks.map(({ ctx, envelope }) => ({ block: ctx.block, objects: decodeTransitPayload(ctx.stream, envelope.payload).objects }));
  return buildThreadSpans({ stream, convert, blocks: decoded }).batch.numRows;
}

function fast(): number {
  const buffers = blocks.map(({ ctx, envelope }) => ({
    block: ctx.block,
    objects: decompressLz4Frame(envelope.payload.objects),
    dependencies: parseDependencies(ctx.stream.dependenciesMetadata, decompressLz4Frame(envelope.payload.dependencies)),
  }));
  return buildThreadSpansFromBuffers({ stream, convert, blocks: buffers }).batch.numRows;
}


const fmt = (x: number) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : `${(x / 1e3).toFixed(0)} k`);
const floor = timeIt(decompressOnly, ROUNDS);
const g = timeIt(generic, ROUNDS);
const f = timeIt(fast, ROUNDS);
if (g.result !== f.result) throw new Error(`row counts differ: generic ${g.result}, fast ${f.result}`);

console.log(`\nthread_spans decode + rows, ${cpus()[0]?.model ?? 'unknown CPU'}, node ${process.version}, one thread, median of ${ROUNDS}`);
console.log(`${blocks.length} blocks, ${events} events, ${f.result} rows`);
console.log('| path | seconds | events/s |');
console.log('|---|---|---|');
console.log(`| LZ4 decompress only (floor) | ${floor.seconds.toFixed(3)} | ${fmt(events / floor.seconds)}/s |`);
console.log(`| generic (TransitObject) | ${g.seconds.toFixed(3)} | ${fmt(events / g.seconds)}/s |`);
console.log(`| fast (buffers) | ${f.seconds.toFixed(3)} | ${fmt(events / f.seconds)}/s |`);
console.log(`\nspeed-up ${(g.seconds / f.seconds).toFixed(1)}×`);
