// The cost of recording an event itself: buffers big enough (64 MiB) that no block closes inside a
// timed loop, their pages touched beforehand, blocks closed and compressed between loops. This
// isolates the calling-thread cost from what events.bench.ts also includes in its steady state
// (block closes, and fresh buffers when compression falls behind a saturating producer).
import { Level, MemorySink, beginSpan, collectProcessInfo, endSpan, flushAllStreams, initDispatch, logDescriptor, logWith, metricDescriptor, recordInt, shutdownDispatch, spanDescriptor, ticksNow } from '@micromegas/tracing';

const BUFFER = 64 << 20;
const N = 1_000_000;
const ROUNDS = 7;
initDispatch({
  sink: new MemorySink({ keepBlocks: false }),
  process: collectProcessInfo(),
  logBufferBytes: BUFFER,
  metricsBufferBytes: BUFFER,
  threadBufferBytes: BUFFER,
  backgroundCompression: false,
});
const span = spanDescriptor('work');
const metric = metricDescriptor('requests', 'count');
const log = logDescriptor(Level.Info, 'request handled');
let sum = 0;
const cases: [string, () => void][] = [
  ['clock read alone', () => {
    let local = 0;
    for (let i = 0; i < N; i++) local += ticksNow();
    sum += local;
  }],
  ['static log (descriptor)', () => { for (let i = 0; i < N; i++) logWith(log); }],
  ['integer metric (descriptor)', () => { for (let i = 0; i < N; i++) recordInt(metric, i); }],
  ['span event (begin+end pairs, per event)', () => { for (let i = 0; i < N / 2; i++) { beginSpan(span); endSpan(span); } }],
];
for (const [, run] of cases) run(); // warm the JIT and touch every buffer page
console.log('| case | ns / event (median) | min |');
console.log('|---|---:|---:|');
for (const [name, run] of cases) {
  const results: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    flushAllStreams();
    const t0 = process.hrtime.bigint();
    run();
    results.push(Number(process.hrtime.bigint() - t0) / N);
  }
  results.sort((a, b) => a - b);
  console.log(`| ${name} | ${results[ROUNDS >> 1]!.toFixed(1)} | ${results[0]!.toFixed(1)} |`);
}
await shutdownDispatch();
if (sum === 0) console.log('');
