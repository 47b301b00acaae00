// The demo producer behind `micromegas generate`: realistic telemetry from several worker threads
// (nested and async spans, logs at every level, metrics with properties) plus the main thread.
//
// Start telemetry first (startTelemetry; the CLI does it), passing GENERATOR_PROCESS_PROPERTIES as
// properties if you want them on the process: workers record only if telemetry was started before
// they were. Without telemetry the generator still runs and counts, recording nothing.
import { Worker } from 'node:worker_threads';
import type { WorkerCounts, WorkerMessage, WorkerParams } from './generate_worker.ts';
import { fmetric, imetric, info, isTelemetryActive, setProcessProperty, spanScope, warn } from './recording.ts';

export interface GeneratorOptions {
  /** Stop after this long; without it, run until `signal` aborts. */
  durationMs?: number;
  /** Worker threads. Default 4. */
  workers?: number;
  /** Simulated requests per second per worker (each is ~10 events). Default 50. */
  rate?: number;
  /** Aborting stops the workers (each finishes its current request) and resolves the run. */
  signal?: AbortSignal;
}

export interface GeneratorStats extends WorkerCounts {
  workers: number;
  durationMs: number;
}

/** Process properties describing a generator run; pass them to startTelemetry. */
export const GENERATOR_PROCESS_PROPERTIES: Readonly<Record<string, string>> = {
  'app.name': 'micromegas-generate',
  'app.role': 'demo-producer',
};

const STOP_GRACE_MS = 5_000;
const WORKER_URL = new URL('./generate_worker.ts', import.meta.url).href;

// Under `node --import tsx`, Node 20 does not apply tsx's loader to a worker's entry module, so the
// worker registers tsx itself before importing the TypeScript module. Without tsx installed (a
// runtime that loads .ts natively, or a build), the module is loaded directly.
function startWorker(params: WorkerParams): Worker {
  let tsxApi: string | undefined;
  try {
    tsxApi = import.meta.resolve('tsx/esm/api');
  } catch {
    tsxApi = undefined;
  }
  if (tsxApi === undefined) return new Worker(new URL(WORKER_URL), { workerData: params });
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER_URL)}); });`;
  return new Worker(bootstrap, { eval: true, workerData: params });
}

export async function runGenerator(options: GeneratorOptions = {}): Promise<GeneratorStats> {
  const workerCount = options.workers ?? 4;
  const rate = options.rate ?? 50;
  if (!Number.isInteger(workerCount) || workerCount < 1) throw new RangeError(`generate: workers must be a positive integer, got ${workerCount}`);
  if (!Number.isFinite(rate) || rate <= 0) throw new RangeError(`generate: rate must be a positive number, got ${rate}`);
  if (options.durationMs !== undefined && !(options.durationMs >= 0)) {
    throw new RangeError(`generate: durationMs must be a non-negative number, got ${options.durationMs}`);
  }
  const started = performance.now();
  setProcessProperty('generator.workers', String(workerCount));
  info('generator starting {} workers at {} requests/s each (telemetry {})', workerCount, rate, isTelemetryActive() ? 'on' : 'off');

  const totals: WorkerCounts = { iterations: 0, logs: 1, metrics: 0, spans: 0 };
  const workers: Worker[] = [];
  const finished: Promise<void>[] = [];
  const ready: Promise<void>[] = [];
  for (let id = 0; id < workerCount; id++) {
    const params: WorkerParams = { id, rate };
    const worker = startWorker(params);
    workers.push(worker);
    ready.push(
      new Promise((resolve) => {
        worker.on('message', (m: WorkerMessage) => m?.type === 'ready' && resolve());
        worker.on('exit', () => resolve());
      }),
    );
    finished.push(
      new Promise((resolve) => {
        worker.on('message', (m: WorkerMessage) => {
          if (m?.type !== 'done') return;
          totals.iterations += m.counts.iterations;
          totals.logs += m.counts.logs;
          totals.metrics += m.counts.metrics;
          totals.spans += m.counts.spans;
        });
        worker.on('error', (e) => {
          warn('generator worker {} failed: {}', id, e instanceof Error ? e.message : String(e));
          totals.logs++;
        });
        worker.on('exit', () => resolve());
      }),
    );
  }

  // The main thread reports on the process while the workers run.
  const monitor = setInterval(() => {
    spanScope('generator_monitor', () => {
      const memory = process.memoryUsage();
      imetric('heap_used', 'bytes', memory.heapUsed);
      fmetric('event_loop_utilization', 'ratio', performance.eventLoopUtilization().utilization);
    });
    totals.metrics += 2;
    totals.spans++;
  }, 100);

  // The duration counts from the moment every worker is ready (loading a worker takes a moment).
  // The workers keep the program alive meanwhile.
  await new Promise<void>((resolve) => {
    const signal = options.signal;
    if (signal?.aborted) return resolve();
    let timer: NodeJS.Timeout | undefined;
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    signal?.addEventListener('abort', done, { once: true });
    void Promise.all(ready).then(() => {
      if (options.durationMs !== undefined && !signal?.aborted) timer = setTimeout(done, options.durationMs);
    });
  });

  clearInterval(monitor);
  for (const worker of workers) worker.postMessage({ type: 'stop' });
  const grace = setTimeout(() => {
    for (const worker of workers) void worker.terminate();
  }, STOP_GRACE_MS);
  await Promise.all(finished);
  clearTimeout(grace);
  const durationMs = performance.now() - started;
  info('generator done: {} requests in {} ms', totals.iterations, Math.round(durationMs));
  totals.logs++;
  return { ...totals, workers: workerCount, durationMs };
}
