// One worker thread of the demo producer (generate.ts): simulates a request handler with nested thread
// spans, async spans across awaits, logs at every level and metrics with properties. Recording in this
// thread is set up by the dispatch as the module loads (the main thread had started telemetry).
import { parentPort, workerData } from 'node:worker_threads';
import {
  Level,
  asyncNamedSpan,
  asyncSpan,
  debug,
  error,
  fatal,
  fmetric,
  imetric,
  info,
  log,
  namedSpanScope,
  setThreadName,
  spanScope,
  trace,
  warn,
} from './recording.ts';

export interface WorkerParams {
  id: number;
  /** Simulated requests per second. */
  rate: number;
}

export interface WorkerCounts {
  iterations: number;
  logs: number;
  metrics: number;
  spans: number;
}

export type WorkerMessage = { type: 'ready' } | { type: 'done'; counts: WorkerCounts };

const ROUTES = ['/api/orders', '/api/users', '/api/search', '/health'];
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function busyWork(iterations: number): number {
  let x = 0;
  for (let i = 0; i < iterations; i++) x = (x * 31 + i) % 1_000_003;
  return x;
}

async function main(): Promise<void> {
  const params = workerData as WorkerParams;
  const counts: WorkerCounts = { iterations: 0, logs: 0, metrics: 0, spans: 0 };
  let stopping = false;
  const onMessage = (m: unknown): void => {
    if ((m as { type?: string })?.type === 'stop') stopping = true;
  };
  parentPort!.on('message', onMessage);
  setThreadName(`generator-worker-${params.id}`);

  // One entry at every level, with and without arguments, so a short run shows them all.
  fatal('worker {} self-test: fatal level (not a real failure)', params.id);
  error('worker self-test: error level');
  warn('worker {} self-test: {}', params.id, 'warn level');
  info('worker started');
  debug('worker {} config: {}', params.id, { rate: params.rate });
  trace('worker self-test: trace level');
  log(Level.Info, 'worker ready', { worker: String(params.id), rate: String(params.rate) });
  counts.logs += 7;

  parentPort!.postMessage({ type: 'ready' } satisfies WorkerMessage);
  const periodMs = 1000 / params.rate;
  let next = performance.now();
  while (!stopping) {
    await handleRequest(params.id, counts.iterations, counts);
    counts.iterations++;
    next += periodMs;
    const wait = next - performance.now();
    if (wait > 0) await sleep(wait);
    else if (wait < -1000) next = performance.now(); // fell behind: do not try to catch up in a burst
    else await new Promise((resolve) => setImmediate(resolve)); // let the stop message in
  }
  info('worker {} stopping after {} requests', params.id, counts.iterations);
  counts.logs++;
  parentPort!.postMessage({ type: 'done', counts } satisfies WorkerMessage);
  parentPort!.off('message', onMessage); // lets the thread end; the dispatch flushes its blocks on exit
}

async function handleRequest(worker: number, n: number, counts: WorkerCounts): Promise<void> {
  const route = ROUTES[n % ROUTES.length]!;
  await asyncSpan('handle_request', async () => {
    counts.spans++;
    debug('request {} on {}', n, route);
    counts.logs++;
    const size = spanScope('parse_request', () => {
      counts.spans += 2;
      return spanScope('tokenize', () => 200 + (busyWork(2_000) % 800));
    });
    imetric('request_size', 'bytes', size, { route });
    counts.metrics++;
    const started = performance.now();
    await asyncNamedSpan(`db_query${route}`, async () => {
      counts.spans++;
      await sleep(n % 3);
      namedSpanScope(`decode_rows${route}`, () => busyWork(1_000));
      counts.spans++;
    });
    const latency = performance.now() - started;
    fmetric('request_latency', 'ms', latency, { route, worker: String(worker) });
    fmetric('cpu_work', 'ms', Math.random());
    counts.metrics += 2;
    if (n % 50 === 49) {
      warn('slow request {} on {}: {} ms', n, route, latency.toFixed(2));
      counts.logs++;
    }
    if (n % 200 === 199) {
      error('request {} failed: simulated error', n);
      counts.logs++;
    }
    if (n % 20 === 0) {
      // A multi-step user flow, nested async operations named as upstream's demo producer names them.
      await asyncSpan('user_workflow', async () => {
        await asyncSpan('user_validation', () => busyWork(500));
        await asyncSpan('user_processing', () => sleep(1));
      });
      counts.spans += 3;
    }
    if (n % 10 === 0) {
      trace('cache stats');
      log(Level.Info, 'request served', { route, status: '200' });
      counts.logs += 2;
    }
  });
}

void main();
