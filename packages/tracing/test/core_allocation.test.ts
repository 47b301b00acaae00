// The static-log and metric paths must not allocate per event: once warm, a million events cause
// no minor (scavenge) garbage collection at all.
import assert from 'node:assert/strict';
import { PerformanceObserver, constants, performance } from 'node:perf_hooks';
import { after, test } from 'node:test';
import { MemorySink, flushAllStreams, imetric, info, initDispatch, metricDescriptor, recordFloat, shutdownDispatch } from '@micromegas/tracing';
import { testProcess } from './core_helpers.ts';

const N = 1_000_000;
// Large enough that the measured events never close a block (closing one allocates its payload).
initDispatch({
  sink: new MemorySink({ keepBlocks: false }),
  process: testProcess(),
  logBufferBytes: 64 << 20,
  metricsBufferBytes: 64 << 20,
  backgroundCompression: false,
});
after(() => shutdownDispatch());

const gcs: { start: number; kind: number }[] = [];
const observer = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcs.push({ start: e.startTime, kind: (e as unknown as { detail: { kind: number } }).detail.kind });
});
observer.observe({ entryTypes: ['gc'] });
after(() => observer.disconnect());

// Minimum over three runs: a stray scavenge (garbage left by warm-up) may land in one run, while an
// allocating path (≥ 16 bytes per event fills the young generation) collects in every run.
async function minorGcsDuring(loop: () => void): Promise<number> {
  loop(); // warm up: optimize
  let least = Infinity;
  for (let run = 0; run < 3 && least > 0; run++) {
    flushAllStreams();
    await new Promise((r) => setTimeout(r, 20));
    const t0 = performance.now();
    loop();
    const t1 = performance.now();
    await new Promise((r) => setTimeout(r, 20));
    least = Math.min(least, gcs.filter((g) => g.start >= t0 && g.start <= t1 && g.kind === constants.NODE_PERFORMANCE_GC_MINOR).length);
  }
  flushAllStreams();
  return least;
}

function staticLogs(): void {
  for (let i = 0; i < N; i++) info('allocation test static message');
}
function intMetrics(): void {
  for (let i = 0; i < N; i++) imetric('allocation-test', 'count', i);
}
const gauge = metricDescriptor('allocation-gauge', 'ratio');
function floatMetrics(): void {
  for (let i = 0; i < N; i++) recordFloat(gauge, i * 0.5);
}

test('static logs allocate nothing per event', async () => {
  assert.equal(await minorGcsDuring(staticLogs), 0);
});

test('integer metrics allocate nothing per event', async () => {
  assert.equal(await minorGcsDuring(intMetrics), 0);
});

test('float metrics through a descriptor allocate nothing per event', async () => {
  assert.equal(await minorGcsDuring(floatMetrics), 0);
});

test('the measurement can fail: an allocating loop is caught', async () => {
  const keep: object[] = [];
  const count = await minorGcsDuring(() => {
    for (let i = 0; i < N; i++) {
      const o = { i, s: `x${i}` };
      if ((i & 0xffff) === 0) keep.push(o);
    }
  });
  assert.ok(count > 0, 'allocations are detected');
});
