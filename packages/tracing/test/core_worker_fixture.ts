// Runs inside a worker thread started by core_worker.test.ts.
import { parentPort, workerData } from 'node:worker_threads';
import { asyncSpan, flushAllStreams, imetric, info, setThreadName, spanScope } from '@micromegas/tracing';

const { explicitFlush } = workerData as { explicitFlush: boolean };
setThreadName('fixture-worker');
spanScope('worker-outer', () => spanScope('worker-inner', () => undefined));
await asyncSpan('worker-async', async () => {
  await new Promise((r) => setImmediate(r));
});
info('from worker');
imetric('worker-metric', 'count', 99);
if (explicitFlush) flushAllStreams();
parentPort!.postMessage('done');
