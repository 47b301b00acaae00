import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import type { RecordBatch } from 'apache-arrow';
import { TransitObject, type TransitValue } from '@micromegas/transit';
import { beginSpan, endSpan, asyncSpan, namedSpanScope, shutdownDispatch, spanDescriptor, spanScope } from '@micromegas/tracing';
import { ScopeMismatchError, groupContiguousBlockChains, threadNameFromStream } from '../src/spans/call_tree.ts';
import { toI64 } from '../src/spans/columns.ts';
import { computeScopeHash } from '../src/spans/scope_hash.ts';
import { BeginRegressionError, buildThreadSpans, threadSpansSchema } from '../src/spans/thread_spans.ts';
import type { BlockMeta } from '../src/metadata.ts';
import { START_NS, begin, block, desc, end, expectedHash, expectedNs, handStream, recordedCpu, startRecording, unitConvert } from './spans_helpers.ts';

afterEach(async () => {
  await shutdownDispatch();
});

interface Row {
  id: bigint;
  parent: bigint;
  depth: number;
  hash: number;
  begin: bigint;
  end: bigint;
  duration: bigint;
  name: string;
  target: string;
  filename: string;
  line: number;
}

function rows(batch: RecordBatch): Row[] {
  const raw = (name: string) => batch.getChild(name)!.data[0]!.values as ArrayLike<unknown>;
  const str = (name: string, i: number) => batch.getChild(name)!.get(i) as string;
  const out: Row[] = [];
  for (let i = 0; i < batch.numRows; i++) {
    out.push({
      id: raw('id')[i] as bigint,
      parent: raw('parent')[i] as bigint,
      depth: raw('depth')[i] as number,
      hash: raw('hash')[i] as number,
      begin: raw('begin')[i] as bigint,
      end: raw('end')[i] as bigint,
      duration: raw('duration')[i] as bigint,
      name: str('name', i),
      target: str('target', i),
      filename: str('filename', i),
      line: raw('line')[i] as number,
    });
  }
  return out;
}

/** name:depth:parent-name, for compact tree assertions. */
function shape(rs: Row[]): string[] {
  const byId = new Map(rs.map((r) => [r.id, r.name]));
  return rs.map((r) => `${r.name}:${r.depth}:${r.depth === 0 ? '' : byId.get(r.parent)}`);
}

const TYPES = ['Int64', 'Int64', 'Uint32', 'Uint32', 'Timestamp<NANOSECOND>', 'Timestamp<NANOSECOND>', 'Int64', 'Dictionary<Int32, Utf8>', 'Dictionary<Int32, Utf8>', 'Dictionary<Int32, Utf8>', 'Uint32'];

test('scope hash follows the xxh32 chain formula', () => {
  for (const [n, f, t, l] of [['', '', '', 0], ['outer', 'src/a.ts', 'js', 12], ['日本語 🎉', 'fïle', 'tgt', 4294967295]] as const) {
    assert.equal(computeScopeHash(n, f, t, l), expectedHash(n, f, t, l));
  }
  // the standard xxh32 empty-input vector, then three more chained steps: not the single-step hash
  assert.notEqual(computeScopeHash('', '', '', 0), 0x02cc5d05);
});

test('toI64 assembles base + offset exactly, negatives included', () => {
  const values = [0, 1, -1, 4294967295, 4294967296, -4294967297, 2 ** 52 - 1, -(2 ** 52), 123456789012345];
  for (const base of [0n, START_NS, -5n, 2n ** 62n]) {
    const got = toI64(Float64Array.from(values), values.length, base);
    assert.deepEqual([...got], values.map((v) => BigInt.asIntN(64, base + BigInt(v))));
  }
});

test('thread name from stream properties: name-id, id, else stream id', () => {
  assert.equal(threadNameFromStream(handStream()), 'main-7');
  assert.equal(threadNameFromStream(handStream([['thread-id', '9']])), '9');
  assert.equal(threadNameFromStream(handStream([['thread-name', 'w']])), 'w-stream-1');
  assert.equal(threadNameFromStream(handStream([])), 'stream-1');
});

test('recorded spans: tree, ids, times, hashes and the thread root row', async () => {
  const { sink, process } = startRecording();
  const outer = spanDescriptor('outer');
  beginSpan(outer);
  spanScope('inner', () => namedSpanScope(`job-${7}`, () => undefined));
  await asyncSpan('async-ignored', async () => undefined);
  spanScope('second', () => undefined);
  endSpan(outer);
  spanScope('top2', () => undefined);
  const rec = recordedCpu(sink, process);
  const { batch, minBeginNs, maxEndNs, maxSortKeyTimeNs } = buildThreadSpans({ stream: rec.stream, convert: rec.convert, blocks: rec.blocks });

  assert.deepEqual(batch.schema.fields.map((f) => f.name), ['id', 'parent', 'depth', 'hash', 'begin', 'end', 'duration', 'name', 'target', 'filename', 'line']);
  assert.deepEqual(batch.schema.fields.map((f) => `${f.type}${f.nullable ? '?' : ''}`), TYPES);
  const rs = rows(batch);
  const threadName = `${rec.stream.properties.get('thread-name')}-${rec.stream.properties.get('thread-id')}`;
  assert.deepEqual(shape(rs), [`${threadName}:0:`, 'outer:1:' + threadName, 'inner:2:outer', 'job-7:3:inner', 'second:2:outer', 'top2:1:' + threadName]);

  // expected values straight from the decoded events
  const events: { type: string; name: string; id: bigint; time: bigint; desc: TransitObject }[] = [];
  for (const { block: b, objects } of rec.blocks) {
    objects.forEach((o, i) => {
      if (!(o instanceof TransitObject) || !o.typeName.includes('Thread')) return;
      const d = (o.get('thread_span_desc') ?? o.get('thread_span_location')) as TransitObject;
      events.push({ type: o.typeName, name: (d.get('name') ?? o.get('name')) as string, id: b.objectOffset + BigInt(i), time: o.get('time') as bigint, desc: d });
    });
  }
  const beginOf = (name: string) => events.find((e) => e.name === name && e.type.startsWith('Begin'))!;
  const endOf = (name: string) => events.find((e) => e.name === name && e.type.startsWith('End'))!;
  const first = rec.blocks[0]!.block;
  const last = rec.blocks[rec.blocks.length - 1]!.block;
  const rangeBegin = expectedNs(process, process.startTicks + first.beginTicks);
  const rangeEnd = expectedNs(process, process.startTicks + last.endTicks);

  const root = rs[0]!;
  assert.deepEqual(root, {
    id: -1n, parent: 0n, depth: 0, hash: expectedHash(threadName, '', '', 0), begin: rangeBegin, end: rangeEnd,
    duration: rangeEnd - rangeBegin, name: threadName, target: '', filename: '', line: 0,
  });
  for (const r of rs.slice(1)) {
    const b = beginOf(r.name);
    const e = endOf(r.name);
    assert.equal(r.id, b.id, `${r.name} id is its begin event id`);
    assert.equal(r.begin, expectedNs(process, b.time));
    assert.equal(r.end, expectedNs(process, e.time));
    assert.equal(r.duration, r.end - r.begin);
    assert.equal(r.target, b.desc.get('target'));
    assert.equal(r.filename, b.desc.get('file'));
    assert.equal(r.line, b.desc.get('line'));
    assert.equal(r.hash, expectedHash(r.name, r.filename, r.target, r.line));
  }
  assert.equal(rs[2]!.parent, rs[1]!.id);
  assert.equal(rs[1]!.parent, -1n);
  assert.equal(minBeginNs, rangeBegin);
  assert.equal(maxEndNs, rangeEnd);
  assert.equal(maxSortKeyTimeNs, rs[rs.length - 1]!.begin);
});

test('recorded spans cut across many small blocks make one tree', () => {
  const { sink, process } = startRecording({ threadBufferBytes: 256 });
  const names: string[] = [];
  const rec = (depth: number, path: string): void => {
    if (depth === 3) return;
    for (let i = 0; i < 3; i++) {
      const name = `${path}/${i}`;
      names.push(name);
      namedSpanScope(name, () => rec(depth + 1, name));
    }
  };
  rec(0, 's');
  const r = recordedCpu(sink, process);
  assert.ok(r.blocks.length > 1, `expected several blocks, got ${r.blocks.length}`);
  assert.equal(groupContiguousBlockChains(r.blocks).length, 1, 'consecutive blocks of a thread touch');
  const rs = rows(buildThreadSpans({ stream: r.stream, convert: r.convert, blocks: r.blocks }).batch);
  assert.deepEqual(rs.slice(1).map((x) => x.name), names, 'pre-order = begin order');
  const seams = r.blocks.slice(1).map((b) => r.convert.deltaTicksToNanos(b.block.beginTicks));
  assert.ok(rs.slice(1).some((x) => seams.some((t) => x.begin < t && t < x.end)), 'some span crosses a block seam');
  const byName = new Map(rs.map((x) => [x.name, x]));
  for (const x of rs.slice(1)) {
    const parentName = x.name.slice(0, x.name.lastIndexOf('/'));
    assert.equal(x.depth, x.name.split('/').length - 1);
    assert.equal(x.parent, parentName === 's' ? -1n : byName.get(parentName)!.id);
    assert.ok(x.begin <= x.end);
  }
});

// --- hand-made event lists: 1 tick = 1 ns, process start = START_NS ----------------------------------

const A = desc('A');
const B = desc('B');
const C = desc('C');

function build(blocks: { block: BlockMeta; objects: TransitValue[] }[]) {
  return buildThreadSpans({ stream: handStream(), convert: unitConvert, blocks });
}

const at = (n: number) => START_NS + BigInt(n);

test('an End with an empty stack starts at the range begin', () => {
  const rs = rows(build([{ block: block('b1', 0, 100, 50), objects: [end(A, 5)] }]).batch);
  assert.deepEqual(rs.map((r) => [r.name, r.id, r.parent, r.depth, r.begin, r.end]), [
    ['main-7', -1n, 0n, 0, at(0), at(100)],
    ['A', 50n, -1n, 1, at(0), at(5)],
  ]);
});

test('closing a span opened before the chain takes over the thread root', () => {
  const rs = rows(build([{ block: block('b1', 0, 100, 10), objects: [begin(B, 10), end(B, 20), end(A, 30), begin(C, 40), end(C, 50)] }]).batch);
  assert.deepEqual(rs.map((r) => [r.name, r.id, r.parent, r.depth, r.begin, r.end]), [
    ['main-7', -1n, 0n, 0, at(0), at(100)],
    ['A', 12n, -1n, 1, at(0), at(30)],
    ['B', 10n, 12n, 2, at(10), at(20)],
    ['C', 13n, -1n, 1, at(40), at(50)],
  ]);
});

test('closing a span that is not on top is an error', () => {
  assert.throws(
    () => build([{ block: block('blk-9', 0, 100, 0), objects: [begin(A, 1), begin(B, 2), end(A, 3)] }]),
    (e: unknown) => e instanceof ScopeMismatchError && e.message === "top scope mismatch in block blk-9: closing 'A' but 'B' is open",
  );
});

test('unclosed spans end at the range end; with no closed span the outer span is the root', () => {
  let rs = rows(build([{ block: block('b1', 0, 100, 100), objects: [begin(A, 10), begin(B, 20), end(B, 30)] }]).batch);
  assert.deepEqual(rs.map((r) => [r.name, r.id, r.parent, r.depth, r.begin, r.end]), [
    ['A', 100n, 0n, 0, at(10), at(100)],
    ['B', 101n, 100n, 1, at(20), at(30)],
  ]);
  rs = rows(build([{ block: block('b1', 0, 100, 0), objects: [begin(A, 10), end(A, 20), begin(C, 30), begin(B, 40)] }]).batch);
  assert.deepEqual(rs.map((r) => [r.name, r.parent, r.depth, r.begin, r.end]), [
    ['main-7', 0n, 0, at(0), at(100)],
    ['A', -1n, 1, at(10), at(20)],
    ['C', -1n, 1, at(30), at(100)],
    ['B', 2n, 2, at(40), at(100)],
  ]);
});

test('events before the range are skipped, the first one after it stops the block', () => {
  const rs = rows(build([{ block: block('b1', 10, 50, 0), objects: [begin(A, 5), end(A, 15), begin(B, 60), begin(C, 20), end(C, 25)] }]).batch);
  assert.deepEqual(rs.map((r) => [r.name, r.begin, r.end]), [['main-7', at(10), at(50)], ['A', at(10), at(15)]]);
});

test('a span crossing touching blocks is whole; a gap starts a new chain and tree', () => {
  const out = build([
    { block: block('b1', 0, 50, 0), objects: [begin(A, 10), begin(B, 20)] },
    { block: block('b2', 50, 100, 2), objects: [end(B, 60), end(A, 70)] },
    { block: block('b3', 200, 300, 4), objects: [end(C, 210), begin(A, 220), end(A, 230)] },
  ]);
  const rs = rows(out.batch);
  assert.deepEqual(rs.map((r) => [r.name, r.id, r.parent, r.depth, r.begin, r.end]), [
    ['main-7', -1n, 0n, 0, at(0), at(100)],
    ['A', 0n, -1n, 1, at(10), at(70)],
    ['B', 1n, 0n, 2, at(20), at(60)],
    ['main-7', -1n, 0n, 0, at(200), at(300)],
    ['C', 4n, -1n, 1, at(200), at(210)],
    ['A', 5n, -1n, 1, at(220), at(230)],
  ]);
  assert.equal(out.minBeginNs, at(0));
  assert.equal(out.maxEndNs, at(300));
  assert.equal(out.maxSortKeyTimeNs, at(220));
  assert.deepEqual(rs.map((r) => r.hash), rs.map((r) => (r.name === 'main-7' ? expectedHash('main-7', '', '', 0) : expectedHash(r.name, 'f.ts', 't', 1))));
});

test('chains: touching and contained blocks extend, a gap past the running max end breaks', () => {
  const bs = [block('a', 0, 100, 0), block('b', 10, 20, 0), block('c', 100, 150, 0), block('d', 151, 160, 0), block('e', 155, 170, 0)];
  const chains = groupContiguousBlockChains(bs.map((b) => ({ block: b })));
  assert.deepEqual(chains.map((c) => c.map((x) => x.block.blockId)), [['a', 'b', 'c'], ['d', 'e']]);
  assert.deepEqual(groupContiguousBlockChains([]), []);
});

test('rows that go back in time are refused', () => {
  assert.throws(
    () => build([
      // overlapping blocks whose events are not in order: one chain, siblings out of order
      { block: block('a', 0, 100, 0), objects: [begin(A, 50), end(A, 60)] },
      { block: block('b', 10, 100, 2), objects: [begin(C, 20), end(C, 30)] },
    ]),
    (e: unknown) => e instanceof BeginRegressionError && e.message === `thread_spans stream stream-1: begin regressed at row 2: ${at(20)} < ${at(50)}`,
  );
});

test('no thread events: no rows, no sort key', () => {
  const out = build([{ block: block('b1', 0, 100, 0), objects: [42, new TransitObject('BeginAsyncSpanEvent', new Map())] }]);
  assert.equal(out.batch.numRows, 0);
  assert.equal(out.maxSortKeyTimeNs, null);
  assert.deepEqual(out.batch.schema.fields.map((f) => f.name), threadSpansSchema.fields.map((f) => f.name));
});
