import { GENERATOR_PROCESS_PROPERTIES, runGenerator, startTelemetry } from '@micromegas/tracing';
import { UsageError, parsePositiveNumber, untilStopSignal, type CommandBody } from '../command.ts';

const DEFAULT_URL = 'http://127.0.0.1:9000';

export const generateCommand: CommandBody = {
  description:
    'A demo producer instrumented with @micromegas/tracing: several worker threads handle simulated\n' +
    'requests with nested and async spans, logs at every level, metrics and properties. It runs until\n' +
    'Ctrl-C or for --duration seconds, then flushes everything to the ingestion service.',
  options: {
    url: { type: 'string', valueName: 'url', description: 'ingestion service base URL', defaultText: `$MICROMEGAS_TELEMETRY_URL or ${DEFAULT_URL}` },
    duration: { type: 'string', valueName: 'seconds', description: 'stop after this many seconds', defaultText: 'until Ctrl-C' },
    workers: { type: 'string', valueName: 'n', description: 'worker threads', defaultText: '4' },
    rate: { type: 'string', valueName: 'n', description: 'simulated requests per second per worker (~10 events each)', defaultText: '50' },
    console: { type: 'boolean', description: 'print the logs to stderr instead of sending anything' },
  },
  environment: {
    MICROMEGAS_TELEMETRY_URL: 'ingestion service base URL',
    MICROMEGAS_INGESTION_API_KEY: 'sent as Authorization: Bearer <key>',
    MICROMEGAS_FLUSH_PERIOD: 'seconds between automatic flushes (default 60)',
  },
  async run(values) {
    const durationMs = values.duration === undefined ? undefined : parsePositiveNumber(values.duration as string, '--duration') * 1000;
    const workers = values.workers === undefined ? 4 : parsePositiveNumber(values.workers as string, '--workers');
    if (!Number.isInteger(workers)) throw new UsageError(`--workers: expected a whole number, got ${values.workers}`);
    const rate = values.rate === undefined ? 50 : parsePositiveNumber(values.rate as string, '--rate');
    const url = (values.url as string | undefined) ?? process.env.MICROMEGAS_TELEMETRY_URL ?? DEFAULT_URL;
    const telemetry = startTelemetry({
      url,
      // Named like upstream's demo producer, so the queries and test suites written for it find ours.
      exe: 'micromegas-telemetry-generator',
      properties: { ...GENERATOR_PROCESS_PROPERTIES },
      env: values.console ? { ...process.env, MICROMEGAS_TELEMETRY_SINK: 'console' } : process.env,
      installExitHooks: false,
    });
    const abort = new AbortController();
    void untilStopSignal().then(() => abort.abort());
    console.error(
      `generate: ${workers} workers, ${rate} requests/s each, ${durationMs === undefined ? 'until Ctrl-C' : `${durationMs / 1000} s`}` +
        (values.console ? ', printing logs' : `, sending to ${url}`),
    );
    const stats = await runGenerator({ durationMs, workers, rate, signal: abort.signal });
    await telemetry.flush();
    await telemetry.shutdown();
    console.error(`generate: done: ${JSON.stringify(stats)}`);
    const sinkStats = (telemetry.sink as { stats?: () => unknown } | null)?.stats?.();
    if (sinkStats) console.error(`generate: delivery: ${JSON.stringify(sinkStats)}`);
    return 0;
  },
};
