// The native routes write exactly the rows and objects upstream's server writes, on every backend.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { encode } from './cbor_builder.ts';
import { EMPTY_LZ4_FRAME, LOG_DEPS, LOG_OBJS, blockBody, newIds, processBody, storedPayload, streamBody, udtListRust, type Ids } from './fixtures.ts';
import { BACKENDS, count, startHarness, stopSharedS3, type Harness } from './harness.ts';

after(stopSharedS3);

async function processRow(h: Harness, id: string) {
  const { rows } = await h.lake.db.query<Record<string, unknown>>(
    `SELECT process_id::text, exe, username, realname, computer, distro, cpu_brand, tsc_frequency::text,
            to_char(start_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS start_time, start_ticks::text,
            parent_process_id::text, (SELECT json_agg(json_build_array(p.key, p.value)) FROM unnest(properties) p)::text AS props,
            insert_time > now() - interval '1 minute' AS fresh
       FROM processes WHERE process_id = $1`,
    [id],
  );
  return rows[0];
}

async function streamRow(h: Harness, id: string) {
  const { rows } = await h.lake.db.query<Record<string, unknown>>(
    `SELECT stream_id::text, process_id::text, dependencies_metadata, objects_metadata, tags,
            (SELECT json_agg(json_build_array(p.key, p.value)) FROM unnest(properties) p)::text AS props, format
       FROM streams WHERE stream_id = $1`,
    [id],
  );
  return rows[0];
}

async function blockRow(h: Harness, id: string) {
  const { rows } = await h.lake.db.query<Record<string, unknown>>(
    `SELECT block_id::text, stream_id::text, process_id::text,
            to_char(begin_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS begin_time, begin_ticks::text,
            to_char(end_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS end_time, end_ticks::text,
            nb_objects, object_offset::text, payload_size::text
       FROM blocks WHERE block_id = $1`,
    [id],
  );
  return rows[0];
}

const toBytes = (v: unknown) => Buffer.from(v as Uint8Array);

async function sendAll(h: Harness, ids: Ids, shape: 'rust' | 'unreal', objects: Uint8Array) {
  for (const [path, body] of [
    ['/ingestion/insert_process', processBody(ids, shape)],
    ['/ingestion/insert_stream', streamBody(ids, shape)],
    ['/ingestion/insert_block', blockBody(ids, shape, { dependencies: EMPTY_LZ4_FRAME, objects })],
  ] as const) {
    const res = await h.post(path, body);
    assert.deepEqual(res, { status: 200, text: '' }, `${path} answers 200 with an empty body`);
  }
}

for (const backend of BACKENDS) {
  describe(`native ingestion on ${backend}`, () => {
    test('a Rust-shaped process, stream and block become upstream rows and object', async () => {
      const h = await startHarness(backend);
      try {
        const ids = newIds();
        const objects = Uint8Array.from({ length: 5000 }, (_, i) => (i * 7) & 0xff);
        await sendAll(h, ids, 'rust', objects);

        assert.deepEqual(await processRow(h, ids.processId), {
          process_id: ids.processId,
          exe: '/usr/bin/game-server',
          username: 'alice',
          realname: 'Alice Liddell',
          computer: 'host-1',
          distro: 'Debian GNU/Linux 12',
          cpu_brand: 'AMD EPYC',
          tsc_frequency: '2596000000',
          start_time: '2026-11-25T10:00:00.123456', // truncated to µs, like sqlx
          start_ticks: '9007199254740993',
          parent_process_id: null,
          props: '[["version", "1.2.3"]]', // micromegas.* stripped
          fresh: true,
        });
        const stream = await streamRow(h, ids.streamId);
        assert.ok(stream);
        assert.equal(stream.process_id, ids.processId);
        assert.deepEqual(toBytes(stream.dependencies_metadata), Buffer.from(encode(udtListRust(LOG_DEPS))));
        assert.deepEqual(toBytes(stream.objects_metadata), Buffer.from(encode(udtListRust(LOG_OBJS))));
        assert.deepEqual(stream.tags, ['log']);
        assert.equal(stream.props, '[["thread-name", "main"]]');
        assert.equal(stream.format, 'micromegas-transit');

        const expectedObject = storedPayload(EMPTY_LZ4_FRAME, objects);
        assert.deepEqual(await blockRow(h, ids.blockId), {
          block_id: ids.blockId,
          stream_id: ids.streamId,
          process_id: ids.processId,
          begin_time: '2026-11-25T10:00:01.123456',
          begin_ticks: '-1234',
          end_time: '2026-11-25T10:00:02.987654',
          end_ticks: '5000000000',
          nb_objects: 2,
          object_offset: '40',
          payload_size: String(expectedObject.length),
        });
        const stored = await h.lake.blobs.get(`blobs/${ids.processId}/${ids.streamId}/${ids.blockId}`);
        assert.ok(stored, 'the payload object exists under blobs/{process}/{stream}/{block}');
        assert.deepEqual(Buffer.from(stored), Buffer.from(expectedObject));
      } finally {
        await h.close();
      }
    });

    test('Unreal-shaped envelopes (indefinite CBOR, other key order, upper-case block id) are accepted', async () => {
      const h = await startHarness(backend);
      try {
        const ids = newIds();
        const objects = Uint8Array.from([1, 2, 3, 4, 5]);
        await sendAll(h, ids, 'unreal', objects);
        const p = await processRow(h, ids.processId);
        assert.equal(p?.parent_process_id, null, 'an empty parent_process_id is stored as NULL');
        assert.equal(p?.realname, 'alice');
        assert.equal(p?.start_time, '2026-11-25T10:00:00.123000');
        const s = await streamRow(h, ids.streamId);
        // Stored in the Rust shape whatever shape arrived, so readers see one format.
        assert.deepEqual(toBytes(s?.objects_metadata), Buffer.from(encode(udtListRust(LOG_OBJS))));
        const b = await blockRow(h, ids.blockId);
        assert.equal(b?.block_id, ids.blockId, 'block ids are stored lower-case');
        assert.equal(b?.nb_objects, 2);
        const stored = await h.lake.blobs.get(`blobs/${ids.processId}/${ids.streamId}/${ids.blockId}`);
        assert.deepEqual(Buffer.from(stored!), Buffer.from(storedPayload(EMPTY_LZ4_FRAME, objects)));
      } finally {
        await h.close();
      }
    });

    test('duplicates answer 200 and change nothing; blocks may come before their stream and process', async () => {
      const h = await startHarness(backend);
      try {
        const ids = newIds();
        const block = blockBody(ids, 'rust', { dependencies: EMPTY_LZ4_FRAME, objects: Uint8Array.of(9), payloadForm: 'legacy-array', extraKey: true });
        assert.equal((await h.post('/ingestion/insert_block', block)).status, 200, 'block before its stream and process');
        assert.equal((await h.post('/ingestion/insert_block', block)).status, 200, 'same block again');
        assert.equal((await h.post('//ingestion/insert_block', block)).status, 200, 'base URL with a trailing slash');
        assert.equal((await h.post('/ingestion/insert_stream', streamBody(ids, 'rust'))).status, 200);
        assert.equal((await h.post('/ingestion/insert_stream', streamBody(ids, 'rust'))).status, 200);
        assert.equal((await h.post('/ingestion/insert_process', processBody(ids, 'rust'))).status, 200);
        const other = processBody(ids, 'rust', { properties: [['version', '9.9.9']] });
        assert.equal((await h.post('/ingestion/insert_process', other)).status, 200);
        assert.deepEqual([await count(h.lake, 'processes'), await count(h.lake, 'streams'), await count(h.lake, 'blocks')], [1, 1, 1]);
        assert.equal((await processRow(h, ids.processId))?.props, '[["version", "1.2.3"]]', 'the first process row wins');
        // Legacy integer-array payloads are stored as byte strings.
        const stored = await h.lake.blobs.get(`blobs/${ids.processId}/${ids.streamId}/${ids.blockId}`);
        assert.deepEqual(Buffer.from(stored!), Buffer.from(storedPayload(EMPTY_LZ4_FRAME, Uint8Array.of(9))));
        assert.equal(h.server.service.stats.duplicateBlocks, 2);
      } finally {
        await h.close();
      }
    });

    test('truncated and random bodies get 400 and leave no row and no object', async () => {
      const h = await startHarness(backend);
      try {
        const ids = newIds();
        const bodies: [string, Uint8Array][] = [
          ['/ingestion/insert_process', processBody(ids, 'rust')],
          ['/ingestion/insert_stream', streamBody(ids, 'unreal')],
          ['/ingestion/insert_block', blockBody(ids, 'rust', { dependencies: EMPTY_LZ4_FRAME, objects: Uint8Array.of(1, 2, 3) })],
        ];
        const step = backend === 'postgres+file' ? 1 : 7; // every offset once, a sample elsewhere
        for (const [path, body] of bodies) {
          for (let len = 0; len < body.length; len += step) {
            const res = await h.post(path, body.subarray(0, len));
            assert.equal(res.status, 400, `${path} truncated to ${len} bytes`);
            assert.match(res.text, /^Bad request: .+\n$/);
          }
        }
        let seed = 12345;
        const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) >> 16) & 0xff;
        for (let i = 0; i < 200; i++) {
          const junk = Uint8Array.from({ length: 1 + (i % 50) }, rand);
          const res = await h.post(bodies[i % 3]![0], junk);
          assert.equal(res.status, 400, `random body ${i}`);
        }
        const bad: [string, Uint8Array][] = [
          ['/ingestion/insert_block', blockBody(ids, 'rust', { dependencies: EMPTY_LZ4_FRAME, objects: Uint8Array.of(1), beginTime: 'yesterday' })],
          ['/ingestion/insert_block', blockBody(ids, 'rust', { dependencies: EMPTY_LZ4_FRAME, objects: Uint8Array.of(1), endTime: '2026-02-30T00:00:00Z' })],
          ['/ingestion/insert_block', blockBody(ids, 'rust', { dependencies: EMPTY_LZ4_FRAME, objects: Uint8Array.of(1), nbObjects: 2 ** 31 })],
          ['/ingestion/insert_block', blockBody({ ...ids, blockId: 'not-a-uuid' }, 'rust', { dependencies: EMPTY_LZ4_FRAME, objects: Uint8Array.of(1) })],
        ];
        for (const [path, body] of bad) assert.equal((await h.post(path, body)).status, 400);
        assert.deepEqual([await count(h.lake, 'processes'), await count(h.lake, 'streams'), await count(h.lake, 'blocks')], [0, 0, 0]);
        assert.deepEqual(await h.lake.blobs.list('blobs/'), []);
        // The server is still healthy and accepts good data afterwards.
        for (const [path, body] of bodies) assert.equal((await h.post(path, body)).status, 200);
      } finally {
        await h.close();
      }
    });
  });
}
