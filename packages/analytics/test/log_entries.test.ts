import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { decodeTransitPayload, TransitObject } from '@micromegas/transit';
import { error, info, Level, log, logInterop, warn } from '@micromegas/tracing';
import { decodeDependencies, decompressPayload, fetchBlockPayload } from '../src/block_source.ts';
import { LogEntriesBuilder } from '../src/views/log_entries.ts';
import { makeTimeConverter } from '../src/time.ts';
import { decodeJsonb } from '../src/jsonb.ts';
import { blocksOf, ingest, openTestLake, record, type TestLake } from './fixtures.ts';

let lake: TestLake;
before(async () => {
  lake = await openTestLake('pglite');
});
after(async () => {
  await lake.drop();
});

async function buildLogEntries() {
  const builder = new LogEntriesBuilder();
  for (const ctx of await blocksOf(lake, 'log')) {
    const buffers = decompressPayload(ctx.block, await fetchBlockPayload(lake.blobs, ctx.block));
    const deps = decodeDependencies(ctx.block, ctx.stream, buffers);
    builder.addBlock(ctx, buffers, deps, makeTimeConverter(ctx.process, ctx.block.endTicks, ctx.block.endTimeNs));
  }
  return builder.finish();
}

test('log_entries rows carry every message, level, target, property and time of the recorded events', async () => {
  const sink = await record(() => {
    info('static message');
    warn('user {} logged in from {}', 'alice', 42);
    error('disk full');
    log(Level.Info, 'with properties', { region: 'eu', target: 'custom-target' });
    logInterop(Level.Warn, 'console', 'from console: é');
    for (let i = 0; i < 1000; i++) info('loop {}', i);
  });
  await ingest(lake, sink);
  const { batch, minTimeNs, maxTimeNs, rows } = await buildLogEntries();
  assert.equal(rows, 1005);
  assert.equal(batch.numRows, 1005);
  const msgs = batch.getChild('msg')!.toArray() as string[];
  const levels = [...(batch.getChild('level')!.toArray() as Int32Array)];
  const targets = [...batch.getChild('target')!].map(String);
  assert.deepEqual(msgs.slice(0, 5), ['static message', 'user alice logged in from 42', 'disk full', 'with properties', 'from console: é']);
  assert.deepEqual(levels.slice(0, 5), [4, 3, 2, 4, 3]);
  assert.equal(targets[3], 'custom-target');
  assert.equal(targets[4], 'console');
  assert.equal(msgs[1004], 'loop 999');
  const props = batch.getChild('properties')!;
  assert.deepEqual(decodeJsonb(props.get(0) as Uint8Array), {});
  assert.deepEqual(decodeJsonb(props.get(3) as Uint8Array), { region: 'eu', target: 'custom-target' });
  assert.deepEqual(decodeJsonb(batch.getChild('process_properties')!.get(0) as Uint8Array), { version: '1.0' });
  assert.equal(String(batch.getChild('exe')!.get(0)), 'analytics-test');
  assert.equal(String(batch.getChild('process_id')!.get(0)), sink.process!.processId);

  // Times: the tick conversion of each event's own ticks, non-decreasing, within the process's life.
  const times = batch.getChild('time')!.toArray() as BigInt64Array;
  for (let i = 1; i < times.length; i++) assert.ok(times[i]! >= times[i - 1]!, `time ${i} decreases`);
  assert.equal(minTimeNs, times[0]);
  assert.equal(maxTimeNs, times[times.length - 1]);
  const startNs = BigInt(Date.parse(sink.process!.startTime)) * 1_000_000n;
  assert.ok(times[0]! >= startNs - 1_000_000n && times[0]! < startNs + 60_000_000_000n);

  // Cross-check against the generic decoder and the BigInt conversion for every event.
  const ctxs = await blocksOf(lake, 'log');
  let i = 0;
  for (const ctx of ctxs) {
    const convert = makeTimeConverter(ctx.process, ctx.block.endTicks, ctx.block.endTimeNs);
    const payload = await fetchBlockPayload(lake.blobs, ctx.block);
    for (const o of decodeTransitPayload(ctx.stream, payload).objects) {
      assert.ok(o instanceof TransitObject);
      assert.equal(times[i], convert.ticksToNanos(o.get('time') as bigint), `event ${i} time`);
      i++;
    }
  }
  assert.equal(i, 1005);
});

test('a corrupt block fails alone and leaves the builder unchanged', async () => {
  const ctxs = await blocksOf(lake, 'log');
  const builder = new LogEntriesBuilder();
  const ctx = ctxs[0]!;
  const buffers = decompressPayload(ctx.block, await fetchBlockPayload(lake.blobs, ctx.block));
  const deps = decodeDependencies(ctx.block, ctx.stream, buffers);
  const convert = makeTimeConverter(ctx.process, ctx.block.endTicks, ctx.block.endTimeNs);
  const good = builder.addBlock(ctx, buffers, deps, convert);
  const truncated = { dependencies: buffers.dependencies, objects: buffers.objects.subarray(0, buffers.objects.length - 3) };
  assert.throws(() => builder.addBlock(ctx, truncated, deps, convert), /runs past|out of bounds|truncated/);
  const badType = { dependencies: buffers.dependencies, objects: Uint8Array.of(200, ...buffers.objects) };
  assert.throws(() => builder.addBlock(ctx, badType, deps, convert), /type index 200/);
  const { batch } = builder.finish();
  assert.equal(batch.numRows, good);
});
