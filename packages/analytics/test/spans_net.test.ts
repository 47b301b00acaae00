import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RecordBatch } from 'apache-arrow';
import { TransitObject, type TransitValue } from '@micromegas/transit';
import { buildNetSpans, netSpansSchema } from '../src/spans/net_spans.ts';
import { START_NS, block, unitConvert } from './spans_helpers.ts';

const ev = (type: string, time: number, members: [string, TransitValue][] = []) =>
  new TransitObject(type, new Map<string, TransitValue>([['time', BigInt(time)], ...members]));
const connBegin = (t: number, name: string, out: number) => ev('NetConnectionBeginEvent', t, [['connection_name', name], ['is_outgoing', out]]);
const connEnd = (t: number, bits: number) => ev('NetConnectionEndEvent', t, [['bit_size', bits]]);
const objBegin = (t: number, name: string) => ev('NetObjectBeginEvent', t, [['object_name', name]]);
const objEnd = (t: number, bits: number) => ev('NetObjectEndEvent', t, [['bit_size', bits]]);
const prop = (t: number, name: string, bits: number) => ev('NetPropertyEvent', t, [['property_name', name], ['bit_size', bits]]);
const rpcBegin = (t: number, name: string) => ev('NetRPCBeginEvent', t, [['function_name', name]]);
const rpcEnd = (t: number, bits: number) => ev('NetRPCEndEvent', t, [['bit_size', bits]]);

function rows(batch: RecordBatch): unknown[][] {
  const out: unknown[][] = [];
  const cols = batch.schema.fields.map((f) => batch.getChild(f.name)!);
  for (let i = 0; i < batch.numRows; i++) {
    out.push(cols.map((c) => {
      const t = String(c.type);
      return t.startsWith('Int64') || t.startsWith('Timestamp') || t === 'Uint32' ? (c.data[0]!.values as ArrayLike<unknown>)[i] : c.get(i);
    }));
  }
  return out;
}

test('net spans: bit offsets inside parents, connection context, skipped and dropped spans', () => {
  const objects = [
    connBegin(10, 'conn', 1), objBegin(20, 'Pawn'), prop(25, 'Health', 8), prop(26, 'Pos', 16), objEnd(30, 30),
    rpcBegin(40, 'ServerMove'), rpcEnd(45, 12), objEnd(46, 5) /* top is the connection: skipped */, connEnd(50, 100),
    prop(60, 'orphan', 4), objEnd(61, 1) /* nothing open: skipped */, objBegin(70, 'never-closed'),
  ];
  const { batch, minTimeNs, maxTimeNs } = buildNetSpans({ processId: 'p1', stream: { streamId: 's1' }, convert: unitConvert, blocks: [{ block: block('b', 0, 100, 0), objects }] });
  assert.deepEqual(batch.schema.fields.map((f) => f.name), netSpansSchema.fields.map((f) => f.name));
  const t = (n: number) => START_NS + BigInt(n);
  assert.deepEqual(rows(batch), [
    ['p1', 's1', 2n, 1n, 2, 'property', 'Health', 'conn', true, 0n, 8n, 8n, t(25), t(25)],
    ['p1', 's1', 3n, 1n, 2, 'property', 'Pos', 'conn', true, 8n, 24n, 16n, t(26), t(26)],
    ['p1', 's1', 1n, 0n, 1, 'object', 'Pawn', 'conn', true, 0n, 30n, 30n, t(20), t(30)],
    ['p1', 's1', 5n, 0n, 1, 'rpc', 'ServerMove', 'conn', true, 30n, 42n, 12n, t(40), t(45)],
    ['p1', 's1', 0n, -1n, 0, 'connection', 'conn', 'conn', true, 0n, 100n, 100n, t(10), t(50)],
    ['p1', 's1', 9n, -1n, 0, 'property', 'orphan', '', false, 0n, 4n, 4n, t(60), t(60)],
  ]);
  assert.equal(minTimeNs, t(10));
  assert.equal(maxTimeNs, t(60));
});

test('net spans: a span crossing touching blocks closes; a gap drops what was open', () => {
  const { batch } = buildNetSpans({
    processId: 'p1', stream: { streamId: 's1' }, convert: unitConvert,
    blocks: [
      { block: block('b1', 0, 50, 0), objects: [connBegin(10, 'c', 0), objBegin(20, 'A')] },
      { block: block('b2', 50, 100, 2), objects: [objEnd(60, 7), objBegin(70, 'B')] },
      { block: block('b3', 200, 300, 4), objects: [objEnd(210, 3), connEnd(220, 50)] },
    ],
  });
  // A closes in b2 under the connection; B and the connection never close within their chain
  assert.deepEqual(rows(batch).map((r) => [r[2], r[6], r[9], r[10]]), [[1n, 'A', 0n, 7n]]);
  const empty = buildNetSpans({ processId: 'p1', stream: { streamId: 's1' }, convert: unitConvert, blocks: [{ block: block('b', 5, 9, 0), objects: [] }] });
  assert.equal(empty.batch.numRows, 0);
  assert.deepEqual([empty.minTimeNs, empty.maxTimeNs], [START_NS + 5n, START_NS + 9n]);
});
