// Authentication, limits, health, readiness and failure answers of the ingestion server.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Keyring, parseApiKeys } from '@micromegas/ingestion';
import { EMPTY_LZ4_FRAME, blockBody, newIds, processBody, storedPayload, streamBody } from './fixtures.ts';
import { count, startHarness, stopSharedS3 } from './harness.ts';

after(stopSharedS3);

test('with a keyring, a missing or wrong bearer token gets 401 and nothing is written', async () => {
  const keyring = new Keyring(parseApiKeys('[{"name":"ci","key":"s3cret"},{"name":"other","key":"k2"}]'));
  const h = await startHarness('pglite+file', { keyring });
  try {
    const ids = newIds();
    const body = processBody(ids, 'rust');
    for (const headers of [{}, { authorization: 'Bearer nope' }, { authorization: 's3cret' }, { authorization: 'Basic s3cret' }] as Record<string, string>[]) {
      const res = await h.post('/ingestion/insert_process', body, headers);
      assert.equal(res.status, 401, JSON.stringify(headers));
      assert.equal(res.text, 'Invalid token\n');
    }
    assert.equal(await count(h.lake, 'processes'), 0);
    assert.equal((await h.post('/ingestion/insert_process', body, { authorization: 'Bearer s3cret' })).status, 200);
    assert.equal((await h.post('/ingestion/insert_stream', streamBody(ids, 'rust'), { authorization: 'Bearer k2' })).status, 200);
    // Health checks stay open for load balancers.
    assert.equal((await fetch(`${h.url}/health`)).status, 200);
  } finally {
    await h.close();
  }
});

test('keyring parsing reports bad configuration in one line', () => {
  assert.throws(() => parseApiKeys('nope'), /MICROMEGAS_API_KEYS: not valid JSON/);
  assert.throws(() => parseApiKeys('{"name":"a"}'), /expected a JSON array/);
  assert.throws(() => parseApiKeys('[{"name":"a"}]'), /entry 0 needs/);
});

test('bodies over the limit get 413 and the server keeps serving', async () => {
  const h = await startHarness('pglite+file', { maxBodyBytes: 64 * 1024 });
  try {
    const ids = newIds();
    const big = blockBody(ids, 'rust', { dependencies: EMPTY_LZ4_FRAME, objects: new Uint8Array(100 * 1024) });
    const res = await h.post('/ingestion/insert_block', big);
    assert.equal(res.status, 413);
    // Chunked upload without a content-length is cut off as well.
    const chunked = await fetch(`${h.url}/ingestion/insert_block`, {
      method: 'POST',
      body: new ReadableStream({
        start(c) {
          for (let i = 0; i < 20; i++) c.enqueue(new Uint8Array(8192));
          c.close();
        },
      }),
      duplex: 'half',
    } as RequestInit).catch((e: Error) => e);
    if (!(chunked instanceof Error)) assert.equal(chunked.status, 413);
    const small = blockBody(ids, 'rust', { dependencies: EMPTY_LZ4_FRAME, objects: new Uint8Array(1024) });
    assert.equal((await h.post('/ingestion/insert_block', small)).status, 200);
    assert.equal(await count(h.lake, 'blocks'), 1);
  } finally {
    await h.close();
  }
});

test('a block of tens of MiB is accepted under the default 100 MiB limit', async () => {
  const h = await startHarness('postgres+file');
  try {
    const ids = newIds();
    const objects = new Uint8Array(40 * 1024 * 1024).fill(7);
    assert.equal((await h.post('/ingestion/insert_block', blockBody(ids, 'rust', { dependencies: EMPTY_LZ4_FRAME, objects }))).status, 200);
    const stored = await h.lake.blobs.get(`blobs/${ids.processId}/${ids.streamId}/${ids.blockId}`);
    // map head, "dependencies" key, 15-byte bstr, "objects" key, 5-byte bstr head, the bytes
    assert.equal(stored?.length, 1 + 13 + (1 + 15) + 8 + 5 + objects.length);
  } finally {
    await h.close();
  }
});

test('health, readiness, unknown paths and wrong methods', async () => {
  const h = await startHarness('postgres+file');
  try {
    assert.equal((await fetch(`${h.url}/health`)).status, 200);
    assert.equal((await fetch(`${h.url}/ready`)).status, 200);
    assert.equal((await fetch(`${h.url}/nope`)).status, 404);
    assert.equal((await fetch(`${h.url}/ingestion/insert_block`)).status, 405);
    // Garbage that is not even HTTP gets a 400 and does not disturb the server.
    await new Promise<void>((resolve) => {
      const sock = connect(h.server.port, '127.0.0.1', () => sock.end('\x00\x01garbage\r\n\r\n'));
      sock.on('data', () => {});
      sock.on('close', () => resolve());
      sock.on('error', () => resolve());
    });
    assert.equal((await fetch(`${h.url}/health`)).status, 200);
  } finally {
    await h.close();
  }
});

test('database failure: 503 so clients retry, readiness goes down, no object is left without a reason', async () => {
  const h = await startHarness('postgres+file');
  try {
    const ids = newIds();
    // Break the database under the running server: rename the processes and blocks tables away.
    await h.lake.db.query('ALTER TABLE processes RENAME TO processes_gone');
    await h.lake.db.query('ALTER TABLE blocks RENAME TO blocks_gone');
    const res = await h.post('/ingestion/insert_process', processBody(ids, 'rust'));
    assert.equal(res.status, 503);
    assert.match(res.text, /retry/);
    const block = blockBody(ids, 'rust', { dependencies: EMPTY_LZ4_FRAME, objects: Uint8Array.of(1) });
    assert.equal((await h.post('/ingestion/insert_block', block)).status, 503);
    // Repaired, the client's retry with the same bytes succeeds and heals the row.
    await h.lake.db.query('ALTER TABLE processes_gone RENAME TO processes');
    await h.lake.db.query('ALTER TABLE blocks_gone RENAME TO blocks');
    assert.equal((await h.post('/ingestion/insert_block', block)).status, 200);
    assert.equal(await count(h.lake, 'blocks'), 1);
  } finally {
    await h.close();
  }
});

test('object store failure: 503 and no block row (the object comes first)', async () => {
  const h = await startHarness('postgres+s3');
  try {
    assert.equal((await fetch(`${h.url}/ready`)).status, 200);
    await stopSharedS3();
    const ids = newIds();
    const res = await h.post('/ingestion/insert_block', blockBody(ids, 'rust', { dependencies: EMPTY_LZ4_FRAME, objects: Uint8Array.of(1) }));
    assert.equal(res.status, 503);
    assert.equal(await count(h.lake, 'blocks'), 0);
    await new Promise((r) => setTimeout(r, 1100)); // past the readiness cache
    assert.equal((await fetch(`${h.url}/ready`)).status, 503);
  } finally {
    await h.close();
  }
});

test('a row PostgreSQL rejects as data gets 400 alone; the blocks grouped with it are stored', async () => {
  const h = await startHarness('postgres+file');
  try {
    const good = Array.from({ length: 40 }, () => newIds());
    const bad = newIds();
    const results = await Promise.all([
      ...good.map((ids) => h.post('/ingestion/insert_block', blockBody(ids, 'rust', { dependencies: EMPTY_LZ4_FRAME, objects: Uint8Array.of(1) }))),
      // Year 0 passes RFC 3339 but PostgreSQL refuses it (SQLSTATE 22008).
      h.post('/ingestion/insert_block', blockBody(bad, 'rust', { dependencies: EMPTY_LZ4_FRAME, objects: Uint8Array.of(2), beginTime: '0000-01-01T00:00:00Z' })),
    ]);
    assert.deepEqual(results.slice(0, -1).map((r) => r.status), good.map(() => 200));
    assert.equal(results.at(-1)!.status, 400);
    assert.match(results.at(-1)!.text, /out of range/);
    assert.equal(await count(h.lake, 'blocks'), good.length);
    // A NUL character in a process field is refused the same way, not retried forever.
    const nul = processBody(newIds(), 'rust', { properties: [['k', 'a\u0000b']] });
    const res = await h.post('/ingestion/insert_process', nul);
    assert.equal(res.status, 400);
    assert.equal(await count(h.lake, 'processes'), 0);
  } finally {
    await h.close();
  }
});

test('a retry after a crash that left the object short completes it and inserts the row', async () => {
  const h = await startHarness('postgres+file');
  try {
    const ids = newIds();
    const objects = Uint8Array.from({ length: 3000 }, (_, i) => (i * 13) & 0xff);
    const expected = storedPayload(EMPTY_LZ4_FRAME, objects);
    // What a crash between creating the object and syncing it can leave: a strict prefix.
    const root = fileURLToPath(h.lake.blobs.uri);
    const path = join(root, 'blobs', ids.processId, ids.streamId, ids.blockId);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, expected.subarray(0, 100));
    const res = await h.post('/ingestion/insert_block', blockBody(ids, 'rust', { dependencies: EMPTY_LZ4_FRAME, objects }));
    assert.equal(res.status, 200);
    assert.deepEqual(Buffer.from((await h.lake.blobs.get(`blobs/${ids.processId}/${ids.streamId}/${ids.blockId}`))!), Buffer.from(expected));
    assert.equal(await count(h.lake, 'blocks'), 1);
  } finally {
    await h.close();
  }
});
