import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, test } from 'node:test';
import { Worker, threadId } from 'node:worker_threads';
import { TransitObject } from '@micromegas/transit';
import { MemorySink, asyncSpan, flushAllStreams, initDispatch, shutdownDispatch, spanScope } from '@micromegas/tracing';
import { decodeKind, logText, testProcess } from './core_helpers.ts';

const sink = new MemorySink();
initDispatch({ sink, process: testProcess(), backgroundCompression: false });
after(() => shutdownDispatch());

async function runWorker(explicitFlush: boolean): Promise<number> {
  // Workers do not inherit tsx's hooks on Node 20: register them before importing the TS fixture.
  const fixture = new URL('./core_worker_fixture.ts', import.meta.url).href;
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(fixture)}); })`;
  const worker = new Worker(bootstrap, { eval: true, workerData: { explicitFlush } });
  const id = worker.threadId;
  await once(worker, 'message');
  await once(worker, 'exit');
  // blocks travel asynchronously over a BroadcastChannel
  for (let i = 0; i < 100 && !sink.streams.some((s) => s.stream.properties.get('thread-id') === String(id)); i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  await new Promise((r) => setTimeout(r, 50));
  return id;
}

function streamOf(id: number, kind: string) {
  return sink.streams.find((s) => s.kind === kind && s.stream.properties.get('thread-id') === String(id))?.stream;
}

test("a worker's spans arrive in its own cpu stream with its thread properties", async () => {
  spanScope('main-span', () => undefined);
  const id = await runWorker(true);
  const cpu = streamOf(id, 'cpu');
  assert.ok(cpu, 'worker cpu stream announced to the sink');
  assert.equal(cpu.properties.get('thread-name'), 'fixture-worker');
  assert.equal(cpu.processId, sink.process!.processId);
  const names = decodeKind(sink, 'cpu', cpu.streamId).map((e) => `${e.typeName}:${((e.get('thread_span_desc') ?? e.get('span_desc')) as TransitObject).get('name')}`);
  assert.deepEqual(names, [
    'BeginThreadSpanEvent:worker-outer',
    'BeginThreadSpanEvent:worker-inner',
    'EndThreadSpanEvent:worker-inner',
    'EndThreadSpanEvent:worker-outer',
    'BeginAsyncSpanEvent:worker-async',
    'EndAsyncSpanEvent:worker-async',
  ]);
  // the worker's logs and metrics come through its own streams
  const logStream = sink.streams.find((s) => s.kind === 'log' && s.stream.processId === sink.process!.processId && decodeKind(sink, 'log', s.stream.streamId).some((e) => logText(e) === 'from worker'));
  assert.ok(logStream, 'worker log stream');
  // main's own span is not in the worker's stream
  flushAllStreams();
  const mainCpu = streamOf(threadId, 'cpu')!;
  assert.equal(mainCpu.properties.get('thread-name'), 'main');
  assert.deepEqual(decodeKind(sink, 'cpu', mainCpu.streamId).map((e) => e.typeName), ['BeginThreadSpanEvent', 'EndThreadSpanEvent']);
});

test('a worker that ends without flushing still delivers its last blocks; async span ids are process-unique', async () => {
  await asyncSpan('main-async', async () => undefined);
  const id = await runWorker(false);
  const cpu = streamOf(id, 'cpu');
  assert.ok(cpu, 'worker cpu stream arrived after exit');
  assert.equal(decodeKind(sink, 'cpu', cpu.streamId).length, 6);
  flushAllStreams();
  const asyncIds = decodeKind(sink, 'cpu')
    .filter((e) => e.typeName === 'BeginAsyncSpanEvent')
    .map((e) => e.get('span_id'));
  assert.equal(asyncIds.length, 3);
  assert.equal(new Set(asyncIds).size, 3);
});
