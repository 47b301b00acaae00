// Real blocks recorded by our tracing package (every stream kind, every event type it emits), for the
// decoding and fuzz tests.
import { randomUUID } from 'node:crypto';
import type { ProcessInfo } from '@micromegas/transit';
import {
  Level,
  MemorySink,
  TSC_FREQUENCY,
  asyncNamedSpan,
  asyncSpan,
  flushAllStreams,
  fmetric,
  imetric,
  info,
  initDispatch,
  log,
  logInterop,
  namedSpanScope,
  shutdownDispatch,
  spanScope,
  ticksNow,
  warn,
  type FinishedBlock,
} from '@micromegas/tracing';

function processInfo(): ProcessInfo {
  return {
    processId: randomUUID(),
    exe: 'transit-test',
    username: 'u',
    realname: 'u',
    computer: 'c',
    distro: 'd',
    cpuBrand: 'cpu',
    tscFrequency: TSC_FREQUENCY,
    startTime: new Date().toISOString(),
    startTicks: BigInt(ticksNow()),
    parentProcessId: null,
    properties: new Map(),
  };
}

/** Records a little of everything (`rounds` times) and returns the blocks the sink received. */
export async function recordTracingBlocks(rounds = 3): Promise<{ sink: MemorySink; blocks: FinishedBlock[] }> {
  const sink = new MemorySink();
  initDispatch({ sink, process: processInfo(), backgroundCompression: false });
  try {
    for (let i = 0; i < rounds; i++) {
      info('static message');
      warn('formatted {} ✓', i);
      log(Level.Error, 'tagged', { user: 'alice', région: 'ÎdF' });
      logInterop(Level.Warn, 'pino', `interop ${i}`);
      imetric('requests', 'count', 2n ** 63n + BigInt(i));
      fmetric('ratio', 'percent', i / 4);
      imetric('bytes', 'bytes', i, new Map([['k', 'v']]));
      fmetric('load', 'ratio', 0.5, { host: 'h1' });
      spanScope('outer', () => namedSpanScope(`job-${i}`, () => undefined));
      await asyncSpan('root', async () => {
        await asyncNamedSpan(`child-${i}`, async () => undefined);
      });
    }
    flushAllStreams();
  } finally {
    await shutdownDispatch();
  }
  return { sink, blocks: [...sink.blocks] };
}
