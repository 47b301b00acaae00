import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import type { RecordBatch } from 'apache-arrow';
import { TransitObject, type TransitValue } from '@micromegas/transit';
import { asyncNamedSpan, asyncSpan, currentAsyncSpan, shutdownDispatch, spanScope } from '@micromegas/tracing';
import { asyncEventsSchema, buildAsyncEvents } from '../src/spans/async_events.ts';
import { START_NS, block, desc, expectedHash, expectedNs, handStream, recordedCpu, startRecording, unitConvert } from './spans_helpers.ts';

afterEach(async () => {
  await shutdownDispatch();
});

function column(batch: RecordBatch, name: string): unknown[] {
  const v = batch.getChild(name)!;
  if (name === 'time' || name === 'span_id' || name === 'parent_span_id' || name === 'depth' || name === 'hash' || name === 'line') return Array.from(v.data[0]!.values as ArrayLike<unknown>).slice(0, batch.numRows);
  return [...v.toArray()];
}

const tick = () => new Promise<void>((r) => setImmediate(r));

test('nested async spans: one row per begin/end with ids, parents, depths, times and scopes', async () => {
  const { sink, process } = startRecording();
  const ids: Record<string, number> = {};
  await asyncSpan('root', async () => {
    ids.root = currentAsyncSpan()!.spanId;
    await tick();
    await Promise.all([
      asyncSpan('a', async () => {
        ids.a = currentAsyncSpan()!.spanId;
        await tick();
      }),
      asyncNamedSpan(`b-${1}`, async () => {
        ids.b = currentAsyncSpan()!.spanId;
        spanScope('thread-span-ignored', () => undefined);
        await tick();
      }),
    ]);
  });
  const rec = recordedCpu(sink, process);
  const batch = buildAsyncEvents({ convert: rec.convert, blocks: rec.blocks });
  assert.deepEqual(batch.schema.fields.map((f) => f.name), asyncEventsSchema.fields.map((f) => f.name));
  assert.deepEqual(
    batch.schema.fields.map((f) => `${f.type}`),
    ['Dictionary<Int32, Utf8>', 'Dictionary<Int32, Utf8>', 'Timestamp<NANOSECOND>', 'Dictionary<Int32, Utf8>', 'Int64', 'Int64', 'Uint32', 'Uint32', 'Dictionary<Int32, Utf8>', 'Dictionary<Int32, Utf8>', 'Dictionary<Int32, Utf8>', 'Uint32'],
  );

  // the oracle: the decoded async events themselves
  const events: TransitObject[] = [];
  const blockOf: string[] = [];
  for (const { block: b, objects } of rec.blocks) {
    for (const o of objects) {
      if (o instanceof TransitObject && o.typeName.includes('Async')) {
        events.push(o);
        blockOf.push(b.blockId);
      }
    }
  }
  assert.equal(events.length, 6);
  assert.equal(batch.numRows, 6);
  const names = column(batch, 'name');
  assert.deepEqual(column(batch, 'event_type'), events.map((e) => (e.typeName.startsWith('Begin') ? 'begin' : 'end')));
  assert.deepEqual(names, events.map((e) => ((e.get('span_desc') as TransitObject | undefined)?.get('name') ?? e.get('name')) as string));
  assert.deepEqual(column(batch, 'time'), events.map((e) => expectedNs(process, e.get('time') as bigint)));
  assert.deepEqual(column(batch, 'stream_id'), events.map(() => rec.stream.streamId));
  assert.deepEqual(column(batch, 'block_id'), blockOf);

  const spanIds = column(batch, 'span_id');
  const parents = column(batch, 'parent_span_id');
  const depths = column(batch, 'depth');
  const expected: Record<string, [number, number, number]> = { root: [ids.root!, 0, 0], a: [ids.a!, ids.root!, 1], 'b-1': [ids.b!, ids.root!, 1] };
  names.forEach((n, i) => {
    const [id, parent, depth] = expected[n as string]!;
    assert.deepEqual([spanIds[i], parents[i], depths[i]], [BigInt(id), BigInt(parent), depth], `row ${i} (${n})`);
  });
  const filenames = column(batch, 'filename');
  const targets = column(batch, 'target');
  const lines = column(batch, 'line');
  const hashes = column(batch, 'hash');
  events.forEach((e, i) => {
    const scope = (e.get('span_desc') ?? e.get('span_location')) as TransitObject;
    assert.equal(filenames[i], scope.get('file'));
    assert.equal(targets[i], scope.get('target'));
    assert.equal(lines[i], scope.get('line'));
    assert.equal(hashes[i], expectedHash(names[i] as string, filenames[i] as string, targets[i] as string, lines[i] as number));
  });
});

test('u64 span ids are reinterpreted as i64; other events are skipped', () => {
  const d = desc('x', 'file.rs', 'crate', 42);
  const ev = (type: string, spanId: bigint, parent: bigint, time: number): TransitObject =>
    new TransitObject(type, new Map<string, TransitValue>([['span_desc', d], ['span_id', spanId], ['parent_span_id', parent], ['depth', 3], ['time', BigInt(time)]]));
  const objects: TransitValue[] = [ev('BeginAsyncSpanEvent', 2n ** 64n - 1n, 2n ** 63n, 5), 7, new TransitObject('BeginThreadSpanEvent', new Map()), ev('EndAsyncSpanEvent', 2n ** 64n - 1n, 2n ** 63n, 9)];
  const batch = buildAsyncEvents({ convert: unitConvert, blocks: [{ block: block('blk', 0, 10, 0), stream: handStream(), objects }] });
  assert.deepEqual(column(batch, 'span_id'), [-1n, -1n]);
  assert.deepEqual(column(batch, 'parent_span_id'), [-(2n ** 63n), -(2n ** 63n)]);
  assert.deepEqual(column(batch, 'time'), [START_NS + 5n, START_NS + 9n]);
  assert.deepEqual(column(batch, 'event_type'), ['begin', 'end']);
  assert.deepEqual(column(batch, 'depth'), [3, 3]);
  assert.deepEqual(column(batch, 'hash'), [expectedHash('x', 'file.rs', 'crate', 42), expectedHash('x', 'file.rs', 'crate', 42)]);
  assert.equal(buildAsyncEvents({ convert: unitConvert, blocks: [] }).numRows, 0);
});
