import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemorySink, flushAllStreams, imetric, info, initDispatch, shutdownDispatch, spanScope } from '@micromegas/tracing';
import { decodeKind, logText, testProcess } from './core_helpers.ts';

test('full blocks compressed in the background reach the sink complete and in order', async () => {
  const sink = new MemorySink();
  initDispatch({ sink, process: testProcess(), logBufferBytes: 128 * 1024, metricsBufferBytes: 96 * 1024, threadBufferBytes: 100 * 1024 });
  const n = 60_000;
  for (let i = 0; i < n; i++) {
    if (i % 1000 === 0) info('mark {}', i);
    else info('steady');
    imetric('i', 'count', i);
    spanScope('s', () => undefined);
  }
  // full blocks are compressed on the other thread: they arrive later (or when a stream polls for buffers)
  const deliveredDuringLoop = sink.blocks.length;
  // an explicit flush while full blocks are still being compressed is delivered after them
  flushAllStreams();
  info('last');
  if (deliveredDuringLoop === 0) assert.equal(sink.blocks.length, 0, 'the inline-compressed flush waits behind the pending full blocks');
  await shutdownDispatch();
  for (const kind of ['log', 'metrics', 'cpu'] as const) {
    const blocks = sink.blocksOf(kind);
    assert.ok(blocks.length >= 5, `${kind}: ${blocks.length}`);
    let offset = 0n;
    for (let i = 0; i < blocks.length; i++) {
      assert.equal(blocks[i]!.block.objectOffset, offset, `${kind} block ${i}`);
      if (i > 0) assert.equal(blocks[i]!.block.beginTicks, blocks[i - 1]!.block.endTicks);
      offset += BigInt(blocks[i]!.block.nbObjects);
    }
  }
  const logs = decodeKind(sink, 'log').map(logText);
  assert.equal(logs.length, n + 1);
  assert.equal(logs.at(-1), 'last');
  assert.deepEqual(logs.filter((t) => t.startsWith('mark')), Array.from({ length: n / 1000 }, (_, k) => `mark ${k * 1000}`));
  assert.deepEqual(decodeKind(sink, 'metrics').map((e) => e.get('value')), Array.from({ length: n }, (_, i) => BigInt(i)));
  assert.equal(decodeKind(sink, 'cpu').length, 2 * n);
});
