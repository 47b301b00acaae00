// POST /ingestion/webhook: headers → resource and scope, body → one log record, block_id over the
// whole header set; answers, limits and auth as upstream; over real PostgreSQL and PGlite.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { decodeResourceLogs, otelProcessId, otelStreamId, attributesToRecord } from '@micromegas/otlp';
import { Keyring, canonicalHeaderBytes, parseApiKeys } from '@micromegas/ingestion';
import { count, startHarness, stopSharedS3, type Backend } from './harness.ts';
import { asArray, blocksOf, processRow, storedObjects, streamRow } from './otlp_lake.ts';

after(stopSharedS3);

const BACKENDS: Backend[] = ['postgres+file', 'pglite+file'];

async function post(url: string, body: Uint8Array | string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { method: 'POST', body, headers });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

for (const backend of BACKENDS) {
  test(`webhook (${backend}): one log record per delivery, identity from the headers, retries dedup`, async () => {
    const h = await startHarness(backend);
    const url = `${h.url}/ingestion/webhook`;
    try {
      const body = JSON.stringify({ object_kind: 'push', object_attributes: { iid: 42 }, commits: [{ id: 'a' }, { id: 'b' }] });
      const headers = {
        'X-Micromegas-Service-Name': 'gitlab',
        'X-Micromegas-Service-Namespace': 'ci',
        'X-Micromegas-Target': 'gitlab.push',
        'content-type': 'application/json',
      };
      const before = BigInt(Date.now()) * 1_000_000n;
      let r = await post(url, body, headers);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.text, '');

      const processId = otelProcessId([
        { key: 'service.name', value: { stringValue: 'gitlab' } },
        { key: 'service.namespace', value: { stringValue: 'ci' } },
      ]);
      const proc = await processRow(h.lake, processId);
      assert.ok(proc, 'process row');
      assert.equal(proc.exe, 'ci/gitlab');
      assert.deepEqual(asArray(proc.props).sort(), ['otel.resource.service.name=gitlab', 'otel.resource.service.namespace=ci']);
      const stream = await streamRow(h.lake, otelStreamId(processId, 'logs'));
      assert.equal(stream?.format, 'otlp/v1/logs');
      assert.deepEqual(asArray(stream!.tags), ['log']);

      let blocks = await blocksOf(h.lake, processId, 'logs');
      assert.equal(blocks.length, 1);
      assert.equal(blocks[0]!.nb_objects, 1);
      // No record time: the block spans the arrival time.
      assert.ok(BigInt(blocks[0]!.begin_ticks) >= before && BigInt(blocks[0]!.begin_ticks) <= BigInt(Date.now()) * 1_000_000n);
      const rl = decodeResourceLogs(await storedObjects(h.lake, blocks[0]!));
      assert.equal(rl.scopeLogs.length, 1);
      assert.equal(rl.scopeLogs[0]!.scope?.name, 'gitlab.push');
      const rec = rl.scopeLogs[0]!.logRecords[0]!;
      assert.equal(rl.scopeLogs[0]!.logRecords.length, 1);
      assert.equal(rec.body?.stringValue, body);
      assert.equal(rec.severityNumber, 9);
      assert.equal(rec.timeUnixNano, 0n);
      assert.equal(rec.observedTimeUnixNano, 0n);

      // A retry of the same delivery is the same block; another header (a delivery id) is a new one.
      r = await post(url, body, headers);
      assert.equal(r.status, 200);
      assert.equal((await blocksOf(h.lake, processId, 'logs')).length, 1);
      r = await post(url, body, { ...headers, 'X-Gitlab-Event-Uuid': 'abc-123' });
      assert.equal(r.status, 200);
      blocks = await blocksOf(h.lake, processId, 'logs');
      assert.equal(blocks.length, 2);
      assert.equal(await count(h.lake, 'processes'), 1);

      // gzip bodies are stored decompressed.
      r = await post(url, gzipSync(Buffer.from('{"zipped": true}')), { ...headers, 'content-encoding': 'gzip' });
      assert.equal(r.status, 200);
      blocks = await blocksOf(h.lake, processId, 'logs');
      assert.equal(blocks.length, 3);
      const bodies = await Promise.all(blocks.map(async (b) => decodeResourceLogs(await storedObjects(h.lake, b)).scopeLogs[0]!.logRecords[0]!.body?.stringValue));
      assert.ok(bodies.includes('{"zipped": true}'));

      // No X-Micromegas-* headers at all: accepted (empty exe, empty scope name).
      r = await post(url, '{"ping": true}', { 'content-type': 'application/json' });
      assert.equal(r.status, 200);
      const anonymous = await processRow(h.lake, otelProcessId([]));
      assert.equal(anonymous?.exe, '');
    } finally {
      await h.close();
    }
  });
}

test('webhook: bad input answers (text/plain) and nothing accepted is lost', async () => {
  const h = await startHarness('pglite+file');
  const url = `${h.url}/ingestion/webhook`;
  try {
    assert.equal((await post(url, 'first')).status, 200);
    let r = await post(url, '', { 'X-Micromegas-Service-Name': 'empty' });
    assert.equal(r.status, 400);
    assert.equal(r.text, 'empty body');
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
    r = await post(url, Buffer.from('not gzip'), { 'content-encoding': 'gzip' });
    assert.equal(r.status, 400);
    assert.match(r.text, /gzip/);
    r = await post(url, gzipSync(Buffer.alloc(0)), { 'content-encoding': 'gzip' });
    assert.equal(r.status, 400, 'empty once decompressed');
    r = await post(url, 'x', { 'content-encoding': 'br' });
    assert.equal(r.status, 415);
    assert.equal((await fetch(url)).status, 405);
    assert.equal(await count(h.lake, 'blocks'), 1);

    // Invalid UTF-8 is stored lossily; a header value that is not visible ASCII is ignored.
    r = await post(url, Uint8Array.of(0x7b, 0xff, 0xfe, 0x7d), { 'X-Micromegas-Service-Name': 'caf\u00e9' });
    assert.equal(r.status, 200);
    const blocks = await blocksOf(h.lake, otelProcessId([]), 'logs');
    const texts = await Promise.all(blocks.map(async (b) => decodeResourceLogs(await storedObjects(h.lake, b)).scopeLogs[0]!.logRecords[0]!.body?.stringValue));
    assert.ok(texts.includes('{\ufffd\ufffd}'), JSON.stringify(texts));
    const rl = await Promise.all(blocks.map(async (b) => attributesToRecord(decodeResourceLogs(await storedObjects(h.lake, b)).resource?.attributes ?? [])));
    assert.ok(rl.every((a) => a['service.name'] === undefined));
    assert.equal(await count(h.lake, 'blocks'), 2);
  } finally {
    await h.close();
  }
});

test('webhook: 413 beyond 20 MiB on the wire; storage failure is 503 + Retry-After and the retry dedups', async () => {
  const h = await startHarness('postgres+file');
  const url = `${h.url}/ingestion/webhook`;
  try {
    let r = await post(url, Buffer.alloc(20 * 1024 * 1024 + 1, 0x61));
    assert.equal(r.status, 413);
    await h.lake.db.query('ALTER TABLE blocks RENAME TO blocks_gone');
    r = await post(url, 'delivery', { 'X-Delivery': '1' });
    assert.equal(r.status, 503);
    assert.equal(r.headers.get('retry-after'), '30');
    assert.doesNotMatch(r.text, /blocks_gone|relation/, 'no internal detail');
    await h.lake.db.query('ALTER TABLE blocks_gone RENAME TO blocks');
    for (let i = 0; i < 2; i++) assert.equal((await post(url, 'delivery', { 'X-Delivery': '1' })).status, 200);
    assert.equal(await count(h.lake, 'blocks'), 1);
  } finally {
    await h.close();
  }
});

test('webhook: bearer auth when keys are configured (the Firehose header does not count here)', async () => {
  const keyring = new Keyring(parseApiKeys('[{"name": "ci", "key": "s3cret"}]'));
  const h = await startHarness('pglite+file', { keyring });
  const url = `${h.url}/ingestion/webhook`;
  try {
    let r = await post(url, 'x');
    assert.equal(r.status, 401);
    assert.match(r.text, /Invalid token/);
    r = await post(url, 'x', { authorization: 'Bearer wrong' });
    assert.equal(r.status, 401);
    r = await post(url, 'x', { 'x-amz-firehose-access-key': 's3cret' });
    assert.equal(r.status, 401);
    assert.equal(await count(h.lake, 'blocks'), 0);
    r = await post(url, 'x', { authorization: 'Bearer s3cret' });
    assert.equal(r.status, 200);
    assert.equal(await count(h.lake, 'blocks'), 1);
  } finally {
    await h.close();
  }
});

test('canonical header bytes: case- and order-insensitive, every header counts, gzip framing headers dropped', () => {
  const a = canonicalHeaderBytes(['Host', 'h', 'X-B', '2', 'x-a', '1', 'X-A', '0'], false);
  const b = canonicalHeaderBytes(['x-a', '0', 'X-B', '2', 'X-A', '1', 'host', 'h'], false);
  assert.deepEqual(a, b);
  assert.equal(a.toString('latin1'), 'host\0h\0x-a\x000\0x-a\x001\0x-b\x002\0');
  assert.notDeepEqual(a, canonicalHeaderBytes(['Host', 'h', 'X-B', '2', 'x-a', '1'], false));
  const gz = canonicalHeaderBytes(['Content-Encoding', 'gzip', 'Content-Length', '12', 'X', 'y'], true);
  assert.equal(gz.toString('latin1'), 'x\0y\0');
  // Values are the bytes as received (Node hands them over as latin1).
  assert.deepEqual(canonicalHeaderBytes(['X', '\u00e9'], false), Buffer.from([0x78, 0, 0xe9, 0]));
});
