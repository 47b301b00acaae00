import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import protobuf from 'protobufjs';
import { asyncSpan, spanScope } from '@micromegas/tracing';
import { openLakehouse, type Lakehouse } from '../src/index.ts';
import { NS_PER_SECOND } from '../src/lakehouse/view.ts';
import { formatTimestampNanos } from '../src/time.ts';
import { QueryError } from '../src/query/engine.ts';
import { LakehouseQueryEngine } from '../src/query/lakehouse_engine.ts';
import { xxh64, PERFETTO_CHUNK_SIZE } from '../src/perfetto/trace_writer.ts';
import { ingest, openTestLake, record, type TestLake } from './fixtures.ts';

// The subset of Perfetto's trace protos that the checks read, written from its public field numbers.
const PERFETTO = protobuf.parse(`
syntax = "proto2";
package perfetto.protos;
message Trace { repeated TracePacket packet = 1; }
message TracePacket {
  optional uint64 timestamp = 8;
  optional uint32 trusted_packet_sequence_id = 10;
  optional TrackEvent track_event = 11;
  optional InternedData interned_data = 12;
  optional uint32 sequence_flags = 13;
  optional TrackDescriptor track_descriptor = 60;
  optional bool first_packet_on_sequence = 87;
}
message TrackDescriptor {
  optional uint64 uuid = 1; optional string name = 2; optional ProcessDescriptor process = 3;
  optional ThreadDescriptor thread = 4; optional uint64 parent_uuid = 5;
}
message ProcessDescriptor { optional int32 pid = 1; optional string process_name = 6; }
message ThreadDescriptor { optional int32 pid = 1; optional int32 tid = 2; optional string thread_name = 5; }
message TrackEvent {
  repeated uint64 category_iids = 3; optional int32 type = 9; optional uint64 name_iid = 10;
  optional uint64 track_uuid = 11; optional uint64 source_location_iid = 34;
}
message InternedData {
  repeated Interned event_categories = 1; repeated Interned event_names = 2; repeated SourceLocation source_locations = 4;
}
message Interned { optional uint64 iid = 1; optional string name = 2; }
message SourceLocation { optional uint64 iid = 1; optional string file_name = 2; optional uint32 line_number = 4; }
`).root.lookupType('perfetto.protos.Trace');

interface Packet {
  timestamp?: string;
  trustedPacketSequenceId?: number;
  trackEvent?: { categoryIids?: string[]; type?: number; nameIid?: string; trackUuid?: string; sourceLocationIid?: string };
  internedData?: { eventCategories?: { iid: string; name: string }[]; eventNames?: { iid: string; name: string }[]; sourceLocations?: { iid: string; fileName: string; lineNumber: number }[] };
  sequenceFlags?: number;
  trackDescriptor?: { uuid: string; name?: string; parentUuid?: string; process?: { pid: number; processName: string }; thread?: { pid: number; tid: number; threadName: string } };
  firstPacketOnSequence?: boolean;
}

describe('perfetto_trace_chunks on pglite', () => {
  let lake: TestLake;
  let house: Lakehouse;
  let engine: LakehouseQueryEngine;
  let processId: string;
  let begin: bigint;
  let end: bigint;
  let n = 0;
  const q = async (sql: string, withRange = false) => {
    const result = await engine.execute({ sql, caller: { name: 'test', admin: false }, queryId: `p${n++}`, ...(withRange ? { begin, end } : {}) });
    const rows: Record<string, unknown>[] = [];
    for await (const b of result.batches) rows.push(...b.toArray().map((r) => r.toJSON() as Record<string, unknown>));
    return rows;
  };
  const range = () => `TIMESTAMP '${formatTimestampNanos(begin)}', TIMESTAMP '${formatTimestampNanos(end)}'`;
  const trace = async (types: string) => {
    const rows = await q(`SELECT chunk_id, chunk_data FROM perfetto_trace_chunks('${processId}', '${types}', ${range()})`);
    assert.deepEqual(rows.map((r) => r.chunk_id), rows.map((_r, i) => i), 'chunk ids count from 0');
    const chunks = rows.map((r) => r.chunk_data as Uint8Array);
    const bytes = Buffer.concat(chunks);
    const packets = (PERFETTO.toObject(PERFETTO.decode(bytes), { longs: String }) as { packet: Packet[] }).packet;
    return { chunks, packets };
  };

  before(async () => {
    lake = await openTestLake('pglite');
    house = await openLakehouse(lake, { log: () => {} });
    const sink = await record(async () => {
      for (let i = 0; i < 40; i++) spanScope('outer', () => spanScope(i % 2 ? 'odd' : 'even', () => {}));
      for (let i = 0; i < 15; i++) await asyncSpan('fetch', async () => asyncSpan('parse', async () => {}));
    });
    processId = sink.process!.processId;
    await ingest(lake, sink);
    const { rows } = await lake.db.query<{ lo: string; hi: string }>('SELECT min(begin_time) AS lo, max(end_time) AS hi FROM blocks');
    begin = BigInt(Date.parse(rows[0]!.lo)) * 1_000_000n - NS_PER_SECOND;
    end = BigInt(Date.parse(rows[0]!.hi)) * 1_000_000n + NS_PER_SECOND;
    engine = new LakehouseQueryEngine(house, { memoryLimit: '256MB', threads: 1, prewarm: 0 });
  });
  after(async () => {
    await engine.close();
    await house.close();
    await lake.drop();
  });

  test('a valid trace: process, thread and async tracks, every span as a begin/end slice pair with interned strings', async () => {
    const { packets, chunks } = await trace('both');
    assert.ok(chunks.every((c) => c.length > 0 && c.length < PERFETTO_CHUNK_SIZE * 2));
    const [first, ...rest] = packets;
    const processUuid = xxh64(processId).toString();
    assert.equal(first!.trackDescriptor!.uuid, processUuid);
    assert.equal(first!.trackDescriptor!.process!.pid, Number(BigInt.asIntN(32, BigInt(processUuid))));
    assert.ok(first!.trackDescriptor!.process!.processName.length > 0);
    assert.equal(first!.firstPacketOnSequence, true);
    assert.equal(first!.sequenceFlags, 3);
    assert.ok(rest.every((p) => p.sequenceFlags === 2 && p.trustedPacketSequenceId === 1));

    const threadTracks = packets.filter((p) => p.trackDescriptor?.thread);
    const cpuStreams = (await lake.db.query<{ stream_id: string }>(`SELECT stream_id::text FROM streams WHERE 'cpu' = ANY(tags) ORDER BY stream_id`)).rows;
    assert.deepEqual(threadTracks.map((p) => p.trackDescriptor!.uuid), cpuStreams.map((s) => xxh64(s.stream_id).toString()));
    assert.ok(threadTracks.every((p) => p.trackDescriptor!.parentUuid === processUuid));
    const asyncTrack = packets.find((p) => p.trackDescriptor?.name === 'Async Operations');
    assert.equal(asyncTrack?.trackDescriptor!.uuid, xxh64('async_track', BigInt(processUuid)).toString());

    // Interned strings resolve, each defined once, before first use.
    const names = new Map<string, string>();
    const categories = new Map<string, string>();
    const locations = new Map<string, string>();
    const slices = new Map<string, { name: string; type: number; t: bigint }[]>();
    for (const p of packets) {
      for (const e of p.internedData?.eventNames ?? []) assert.ok(!names.has(e.iid) && names.set(e.iid, e.name));
      for (const e of p.internedData?.eventCategories ?? []) assert.ok(!categories.has(e.iid) && categories.set(e.iid, e.name));
      for (const e of p.internedData?.sourceLocations ?? []) assert.ok(!locations.has(e.iid) && locations.set(e.iid, `${e.fileName}:${e.lineNumber}`));
      const e = p.trackEvent;
      if (!e) continue;
      assert.ok(names.has(e.nameIid!) && categories.has(e.categoryIids![0]!) && locations.has(e.sourceLocationIid!));
      const list = slices.get(e.trackUuid!) ?? [];
      list.push({ name: names.get(e.nameIid!)!, type: e.type!, t: BigInt(p.timestamp!) });
      slices.set(e.trackUuid!, list);
    }
    // Thread slices nest properly and match the thread_spans view (the synthetic root excluded, as upstream includes it: compare counts).
    const thread = slices.get(threadTracks[0]!.trackDescriptor!.uuid)!;
    const spans = await q(`SELECT name, count(*) AS n FROM view_instance('thread_spans', '${cpuStreams[0]!.stream_id}') GROUP BY name ORDER BY name`, true);
    const begins = new Map<string, number>();
    for (const s of thread) if (s.type === 1) begins.set(s.name, (begins.get(s.name) ?? 0) + 1);
    assert.deepEqual([...begins].sort(), spans.map((r) => [r.name, Number(r.n)]).sort());
    assert.equal(begins.get('outer'), 40);
    let depth = 0;
    for (const s of thread) {
      depth += s.type === 1 ? 1 : -1;
      assert.ok(depth >= 0, 'every end closes an open slice');
    }
    assert.equal(depth, 0);
    const asyncSlices = slices.get(asyncTrack!.trackDescriptor!.uuid)!;
    assert.equal(asyncSlices.filter((s) => s.type === 1 && s.name === 'fetch').length, 15);
    assert.equal(asyncSlices.filter((s) => s.type === 2 && s.name === 'parse').length, 15);
  });

  test("'thread' and 'async' select their tracks' events only", async () => {
    const threadOnly = await trace('thread');
    assert.ok(!threadOnly.packets.some((p) => p.trackDescriptor?.name === 'Async Operations'));
    const asyncOnly = await trace('async');
    const asyncUuid = xxh64('async_track', xxh64(processId)).toString();
    const events = asyncOnly.packets.filter((p) => p.trackEvent);
    assert.equal(events.length, 60);
    assert.ok(events.every((p) => p.trackEvent!.trackUuid === asyncUuid));
  });

  test('argument errors in upstream words', async () => {
    const fails = async (sql: string, message: RegExp) => {
      const err = await q(sql).then(() => undefined, (x: unknown) => x);
      assert.ok(err instanceof QueryError, String(err));
      assert.equal(err.kind, 'invalid_argument');
      assert.match(err.message, message);
    };
    await fails(`SELECT * FROM perfetto_trace_chunks('x', 'invalid-span-type', ${range()})`, /span_types must be 'thread', 'async', or 'both'/);
    await fails(`SELECT * FROM perfetto_trace_chunks('${processId}', 'both')`, /Third argument to perfetto_trace_chunks must be a timestamp/);
    await fails(`SELECT * FROM perfetto_trace_chunks('${processId}', 'both', TIMESTAMP '2024-01-01T00:00:00Z', 'not a time')`, /Fourth argument/);
    await fails(`SELECT * FROM perfetto_trace_chunks('non-existent-process-id', 'both', ${range()})`, /Process non-existent-process-id not found/);
    await fails(`SELECT * FROM perfetto_trace_chunks('00000000-0000-0000-0000-000000000000', 'both', ${range()})`, /Process 00000000-0000-0000-0000-000000000000 not found/);
  });
});
